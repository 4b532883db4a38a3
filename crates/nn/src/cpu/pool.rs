//! CPU twin of `shaders/pool.wgsl` (being written).
