//! `concat` ops (being written).
