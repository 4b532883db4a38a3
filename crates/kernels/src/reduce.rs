//! Launcher for `shaders/reduce.wgsl` (being written).
