//! CPU twin of `shaders/batch_norm.wgsl` (being written).
