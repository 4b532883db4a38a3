//! CPU twin of `shaders/resize.wgsl` (being written).
