//! CPU twin of `shaders/softmax.wgsl` (being written).
