//! Launcher for `shaders/resize.wgsl` (being written).
