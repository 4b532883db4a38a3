//! The CPU reference backend: plain, obviously-correct loops over row-major slices. Every GPU
//! kernel is tested against the function of the same name here.

mod elementwise;
mod matmul;

pub use elementwise::*;
pub use matmul::*;
