//! CPU twin of `shaders/concat.wgsl` (being written).
