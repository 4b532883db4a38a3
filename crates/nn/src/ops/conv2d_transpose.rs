//! `conv2d_transpose` ops (being written).
