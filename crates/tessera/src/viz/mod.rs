//! Seeing inside a network, as images: a conv layer's filters, the feature maps an image
//! produces, Grad-CAM and gradient saliency, and the training curves. Functions return
//! [`image::RgbImage`]s (encode with [`png_bytes`] or `RgbImage::save`) for the CLI's
//! `tessera viz`, notebooks and the browser.

pub use image;

pub mod canvas;
mod history;
mod maps;
mod saliency;

pub use history::{
    history_csv, history_paths, history_plot, parse_history_csv, read_history, write_history, EpochRecord, CSV_HEADER,
};
pub use maps::{
    conv_kernel, feature_grid, feature_maps, filter_grid, host, image_tensor, is_conv, layer_outputs, png_bytes,
};
pub use saliency::{resize_bilinear, saliency, saliency_image, Saliency};
