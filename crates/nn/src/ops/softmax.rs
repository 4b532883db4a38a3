//! `softmax` ops (being written).
