//! CPU twin of `shaders/conv2d.wgsl` (being written).
