//! `depthwise_conv2d` ops (being written).
