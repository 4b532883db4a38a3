//! CPU twin of `shaders/reduce.wgsl` (being written).
