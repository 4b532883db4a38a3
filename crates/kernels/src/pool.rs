//! Launcher for `shaders/pool.wgsl` (being written).
