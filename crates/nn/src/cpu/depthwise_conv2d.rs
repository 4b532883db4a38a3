//! CPU twin of `shaders/depthwise_conv2d.wgsl` (being written).
