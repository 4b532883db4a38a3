//! CPU twin of `shaders/conv2d_transpose.wgsl` (being written).
