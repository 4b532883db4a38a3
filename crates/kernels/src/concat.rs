//! Launcher for `shaders/concat.wgsl` (being written).
