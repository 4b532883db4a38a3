//! Launcher for `shaders/depthwise_conv2d.wgsl` (being written).
