//! `batch_norm` ops (being written).
