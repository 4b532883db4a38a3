//! `pool` ops (being written).
