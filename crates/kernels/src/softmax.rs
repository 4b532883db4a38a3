//! Launcher for `shaders/softmax.wgsl` (being written).
