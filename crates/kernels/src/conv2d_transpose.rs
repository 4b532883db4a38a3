//! Launcher for `shaders/conv2d_transpose.wgsl` (being written).
