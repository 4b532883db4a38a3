//! `conv2d` ops (being written).
