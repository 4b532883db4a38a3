//! Launcher for `shaders/conv2d.wgsl` (being written).
