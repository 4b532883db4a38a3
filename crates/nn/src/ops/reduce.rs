//! `reduce` ops (being written).
