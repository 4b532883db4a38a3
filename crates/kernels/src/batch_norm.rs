//! Launcher for `shaders/batch_norm.wgsl` (being written).
