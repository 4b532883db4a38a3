//! `resize` ops (being written).
