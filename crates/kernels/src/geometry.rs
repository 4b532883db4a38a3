//! TensorFlow's shape rules for windowed ops (conv, pooling, transpose conv), shared by the GPU
//! launchers and the CPU reference so both compute the same output shapes and paddings.

use crate::error::{shape_err, Result};

/// Padding as `tf.nn` takes it: `VALID`, `SAME`, or explicit `[[top, bottom], [left, right]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding; windows must fit inside the input.
    #[default]
    Valid,
    /// Output size `ceil(n / s)`; the odd extra padding goes bottom/right.
    Same,
    /// Explicit `[[top, bottom], [left, right]]` padding.
    Explicit([[usize; 2]; 2]),
}

/// A 2-D window sliding over an NHWC input: sizes, strides, dilations, padding and output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window2d {
    /// Batch size.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Stride along height.
    pub sh: usize,
    /// Stride along width.
    pub sw: usize,
    /// Dilation along height.
    pub dh: usize,
    /// Dilation along width.
    pub dw: usize,
    /// Rows of padding above.
    pub pad_top: usize,
    /// Rows of padding below.
    pub pad_bottom: usize,
    /// Columns of padding on the left.
    pub pad_left: usize,
    /// Columns of padding on the right.
    pub pad_right: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

/// The most elements one tensor may hold (2²⁸, 1 GiB of f32): the host limit every shape is
/// checked against, so that a wrapping or absurd shape is a typed error, never an abort.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The element count of `shape`, computed with checked arithmetic: an error naming `op` and
/// the shape when a dimension or the product passes [`MAX_ELEMENTS`] (or would wrap).
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    let n = shape.iter().try_fold(1usize, |acc, &d| if d > MAX_ELEMENTS { None } else { acc.checked_mul(d) });
    match n {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => {
            Err(shape_err(op, format!("shape {shape:?} is too large (a tensor holds at most {MAX_ELEMENTS} elements)")))
        }
    }
}

/// The largest window, stride, dilation, padding or padded extent along one axis (2³¹ − 1):
/// larger ones are typed errors, so index arithmetic on both devices stays far from overflow.
pub const MAX_SPAN: usize = (1 << 31) - 1;

/// Checks that `value` (named `what`) is at most [`MAX_SPAN`].
fn span(op: &'static str, axis: &str, what: &str, value: usize) -> Result<usize> {
    if value > MAX_SPAN {
        return Err(shape_err(op, format!("the {axis} {what} {value} is too large (limit {MAX_SPAN})")));
    }
    Ok(value)
}

/// `a · b + c` with checked arithmetic, or an error naming `op` and `what` overflowed.
fn mul_add(op: &'static str, what: &str, a: usize, b: usize, c: usize) -> Result<usize> {
    a.checked_mul(b)
        .and_then(|v| v.checked_add(c))
        .ok_or_else(|| shape_err(op, format!("{what} overflows ({a} × {b} + {c})")))
}

/// Output size and (before, after) padding along one axis of size `n` for window `k`, stride
/// `s` and dilation `d`, by TensorFlow's rules.
pub fn out_and_pad(
    op: &'static str,
    axis: &str,
    n: usize,
    [k, s, d]: [usize; 3],
    padding: &Padding,
    explicit: [usize; 2],
) -> Result<(usize, usize, usize)> {
    for (what, v) in [("window", k), ("stride", s), ("dilation", d), ("padding", explicit[0]), ("padding", explicit[1])]
    {
        span(op, axis, what, v)?;
    }
    let eff = mul_add(op, &format!("the effective {axis} window (window {k}, dilation {d})"), k - 1, d, 1)?;
    span(op, axis, "effective window", eff)?;
    match padding {
        Padding::Same => {
            let out = n.div_ceil(s);
            let extent = mul_add(op, &format!("the SAME {axis} padding (stride {s})"), out.max(1) - 1, s, eff)?;
            let total = span(op, axis, "SAME-padded extent", extent)?.saturating_sub(n);
            Ok((out, total / 2, total - total / 2))
        }
        Padding::Valid | Padding::Explicit(_) => {
            let [pb, pa] = if matches!(padding, Padding::Valid) { [0, 0] } else { explicit };
            let padded = mul_add(op, &format!("the padded {axis} ({n} + {pb} + {pa})"), n, 1, pb)?;
            let padded = mul_add(op, &format!("the padded {axis} ({n} + {pb} + {pa})"), padded, 1, pa)?;
            span(op, axis, "padded extent", padded)?;
            if padded < eff {
                return Err(shape_err(op, format!(
                    "the {axis} window ({k} with dilation {d}, effective {eff}) is larger than the padded input {axis} {padded} ({n} + padding {pb}+{pa})"
                )));
            }
            Ok(((padded - eff) / s + 1, pb, pa))
        }
    }
}

impl Window2d {
    /// The same window over `images` images.
    pub fn with_batch(&self, images: usize) -> Self {
        Self { n: images, ..*self }
    }

    /// Window geometry for input `[n, h, w, c]` and window `[kh, kw]`.
    pub fn new(
        op: &'static str,
        x: &[usize],
        k: [usize; 2],
        strides: [usize; 2],
        dilations: [usize; 2],
        padding: &Padding,
    ) -> Result<Self> {
        let [n, h, w, c] = rank4(op, "input", x)?;
        if k.contains(&0) {
            return Err(shape_err(op, format!("window size {k:?} must be positive")));
        }
        if strides.contains(&0) {
            return Err(shape_err(op, format!("strides {strides:?} must be positive")));
        }
        if dilations.contains(&0) {
            return Err(shape_err(op, format!("dilations {dilations:?} must be positive")));
        }
        let [ph, pw] = match padding {
            Padding::Explicit(p) => *p,
            _ => [[0, 0], [0, 0]],
        };
        let ctx = |e: crate::KernelError| match e {
            crate::KernelError::Shape { op, msg } => {
                shape_err(op, format!("{msg}; input {x:?}, window {k:?}, padding {padding:?}"))
            }
            other => other,
        };
        let (oh, pt, pb) = out_and_pad(op, "height", h, [k[0], strides[0], dilations[0]], padding, ph).map_err(ctx)?;
        let (ow, pl, pr) = out_and_pad(op, "width", w, [k[1], strides[1], dilations[1]], padding, pw).map_err(ctx)?;
        checked_numel(op, &[n, oh, ow, c]).map_err(ctx)?;
        Ok(Self {
            n,
            h,
            w,
            c,
            kh: k[0],
            kw: k[1],
            sh: strides[0],
            sw: strides[1],
            dh: dilations[0],
            dw: dilations[1],
            pad_top: pt,
            pad_bottom: pb,
            pad_left: pl,
            pad_right: pr,
            oh,
            ow,
        })
    }

    /// The output shape `[n, oh, ow, channels]`.
    pub fn out_shape(&self, channels: usize) -> Vec<usize> {
        vec![self.n, self.oh, self.ow, channels]
    }
}

/// Geometry of `conv2d`: input `[n, h, w, cin]`, filter `[kh, kw, cin / groups, cout]`.
/// A filter whose input depth divides the input's channels makes a grouped convolution (as
/// `tf.nn.conv2d` does): group `j` reads input channels `j·cin/groups..` and writes output
/// channels `j·cout/groups..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// The sliding window (`win.c` is the input's channel count).
    pub win: Window2d,
    /// Output channels.
    pub cout: usize,
    /// Channel groups: `cin / filter input depth` (1 for a plain convolution).
    pub groups: usize,
}

impl Conv2dGeometry {
    /// The same convolution over `images` images.
    pub fn with_batch(&self, images: usize) -> Self {
        Self { win: self.win.with_batch(images), ..*self }
    }

    /// Checks shapes the way `tf.nn.conv2d` does and computes the output geometry.
    pub fn new(
        x: &[usize],
        filter: &[usize],
        strides: [usize; 2],
        dilations: [usize; 2],
        padding: &Padding,
    ) -> Result<Self> {
        let op = "conv2d";
        let [kh, kw, fin, cout] = rank4(op, "filter", filter)?;
        let cin = rank4(op, "input", x)?[3];
        let groups = match fin {
            f if f == cin => 1,
            0 => return Err(shape_err(op, format!("filter {filter:?} has zero input depth (input {x:?})"))),
            f if cin.is_multiple_of(f) => cin / f,
            _ => {
                return Err(shape_err(op, format!(
                    "input depth {cin} (input {x:?}) is not a multiple of the filter's input depth {fin} (filter {filter:?})"
                )))
            }
        };
        if cout == 0 {
            return Err(shape_err(op, format!("filter {filter:?} has zero output channels")));
        }
        if !cout.is_multiple_of(groups) {
            return Err(shape_err(op, format!(
                "output channels {cout} (filter {filter:?}) are not a multiple of the {groups} groups (input {x:?}: {cin} channels / filter input depth {fin})"
            )));
        }
        let win = Window2d::new(op, x, [kh, kw], strides, dilations, padding)?;
        checked_numel(op, &win.out_shape(cout))?;
        Ok(Self { win, cout, groups })
    }

    /// Output shape `[n, oh, ow, cout]`.
    pub fn out_shape(&self) -> Vec<usize> {
        self.win.out_shape(self.cout)
    }

    /// The filter's shape `[kh, kw, cin / groups, cout]`.
    pub fn filter_shape(&self) -> [usize; 4] {
        [self.win.kh, self.win.kw, self.win.c / self.groups, self.cout]
    }

    /// Multiply-adds times two: the FLOPs of the forward op.
    pub fn flops(&self) -> f64 {
        let w = &self.win;
        2.0 * (w.n * w.oh * w.ow * self.cout * w.kh * w.kw * (w.c / self.groups)) as f64
    }
}

/// Geometry of `depthwise_conv2d`: input `[n, h, w, c]`, filter `[kh, kw, c, multiplier]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseGeometry {
    /// The sliding window.
    pub win: Window2d,
    /// Channel multiplier; output channel `c * multiplier + m`.
    pub multiplier: usize,
}

impl DepthwiseGeometry {
    /// The same convolution over `images` images.
    pub fn with_batch(&self, images: usize) -> Self {
        Self { win: self.win.with_batch(images), ..*self }
    }

    /// Checks shapes the way `tf.nn.depthwise_conv2d` does.
    pub fn new(
        x: &[usize],
        filter: &[usize],
        strides: [usize; 2],
        dilations: [usize; 2],
        padding: &Padding,
    ) -> Result<Self> {
        let (win, multiplier) =
            filter_window("depthwise_conv2d", "channel multiplier", x, filter, strides, dilations, padding)?;
        let channels = win.c.saturating_mul(multiplier);
        checked_numel("depthwise_conv2d", &win.out_shape(channels))?;
        Ok(Self { win, multiplier })
    }

    /// Output shape `[n, oh, ow, c * multiplier]`.
    pub fn out_shape(&self) -> Vec<usize> {
        self.win.out_shape(self.win.c * self.multiplier)
    }
}

/// Geometry of `conv2d_transpose`: input `[n, ih, iw, cin]`, filter `[kh, kw, cout, cin]`,
/// output `output_shape = [n, oh, ow, cout]`. `fwd` is the forward conv from output to input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dTransposeGeometry {
    /// The forward conv2d whose input gradient this op computes (input = our output).
    pub fwd: Conv2dGeometry,
    /// Channels of our input (= forward conv's output channels).
    pub cin: usize,
}

impl Conv2dTransposeGeometry {
    /// The same transposed convolution over `images` images.
    pub fn with_batch(&self, images: usize) -> Self {
        Self { fwd: self.fwd.with_batch(images), ..*self }
    }

    /// Checks shapes the way `tf.nn.conv2d_transpose` does, `output_shape` included.
    pub fn new(
        x: &[usize],
        filter: &[usize],
        output_shape: &[usize],
        strides: [usize; 2],
        dilations: [usize; 2],
        padding: &Padding,
    ) -> Result<Self> {
        let op = "conv2d_transpose";
        let [n, ih, iw, cin] = rank4(op, "input", x)?;
        let [kh, kw, fout, fin] = rank4(op, "filter", filter)?;
        let [on, oh, ow, oc] = rank4(op, "output_shape", output_shape)?;
        checked_numel(op, output_shape)?;
        if fin != cin {
            return Err(shape_err(op, format!(
                "input channels {cin} (input {x:?}) do not match the filter's in_channels {fin} (filter {filter:?} is [kh, kw, out, in])"
            )));
        }
        if fout != oc || on != n {
            return Err(shape_err(
                op,
                format!(
                    "output_shape {output_shape:?} must be [{n}, h, w, {fout}] for input {x:?} and filter {filter:?}"
                ),
            ));
        }
        let fwd_filter = [kh, kw, oc, cin];
        let fwd = Conv2dGeometry::new(&[n, oh, ow, oc], &fwd_filter, strides, dilations, padding)
            .map_err(|e| shape_err(op, format!("output_shape {output_shape:?} is impossible: {e}")))?;
        if fwd.win.oh != ih || fwd.win.ow != iw {
            return Err(shape_err(op, format!(
                "output_shape {output_shape:?} is impossible for input {x:?}, filter {filter:?}, strides {strides:?}, padding {padding:?}: a conv2d of that output gives [{}, {}] not [{ih}, {iw}]",
                fwd.win.oh, fwd.win.ow
            )));
        }
        Ok(Self { fwd, cin })
    }

    /// Output shape (the `output_shape` argument).
    pub fn out_shape(&self) -> Vec<usize> {
        let w = &self.fwd.win;
        vec![w.n, w.h, w.w, w.c]
    }
}

/// The window of a filter `[kh, kw, in, last]` over input `x`, checking ranks, that `in`
/// matches the input's channels and that `last` (named `what`) is positive; returns `last`.
fn filter_window(
    op: &'static str,
    what: &str,
    x: &[usize],
    filter: &[usize],
    strides: [usize; 2],
    dilations: [usize; 2],
    padding: &Padding,
) -> Result<(Window2d, usize)> {
    let [kh, kw, fin, last] = rank4(op, "filter", filter)?;
    let xs = rank4(op, "input", x)?;
    if fin != xs[3] {
        let msg = format!(
            "input channels {} (input {x:?}) do not match the filter's in_channels {fin} (filter {filter:?})",
            xs[3]
        );
        return Err(shape_err(op, msg));
    }
    if last == 0 {
        return Err(shape_err(op, format!("filter {filter:?} has zero {what}")));
    }
    Ok((Window2d::new(op, x, [kh, kw], strides, dilations, padding)?, last))
}

/// Checks that `shape` has rank 4 and returns it as an array.
pub fn rank4(op: &'static str, what: &str, shape: &[usize]) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(shape)
        .map_err(|_| shape_err(op, format!("{what} must have rank 4 (NHWC or [kh, kw, in, out]), got shape {shape:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: usize, k: usize, s: usize, d: usize, p: Padding) -> (usize, usize, usize) {
        out_and_pad(
            "t",
            "height",
            n,
            [k, s, d],
            &p,
            match p {
                Padding::Explicit(e) => e[0],
                _ => [0, 0],
            },
        )
        .unwrap()
    }

    #[test]
    fn same_padding_puts_the_odd_row_at_the_bottom() {
        assert_eq!(g(5, 3, 2, 1, Padding::Same), (3, 1, 1));
        assert_eq!(g(6, 3, 2, 1, Padding::Same), (3, 0, 1));
        assert_eq!(g(7, 4, 1, 1, Padding::Same), (7, 1, 2));
        assert_eq!(g(4, 3, 1, 2, Padding::Same), (4, 2, 2));
    }

    #[test]
    fn valid_output_is_ceil_of_n_minus_k_plus_one_over_s() {
        for n in 3..20 {
            for k in 1..=3 {
                for s in 1..=3 {
                    for d in 1..=2 {
                        let eff = (k - 1) * d + 1;
                        if n < eff {
                            continue;
                        }
                        assert_eq!(g(n, k, s, d, Padding::Valid).0, (n - eff + 1).div_ceil(s));
                    }
                }
            }
        }
    }

    #[test]
    fn explicit_padding_is_asymmetric() {
        assert_eq!(g(5, 3, 1, 1, Padding::Explicit([[2, 0], [0, 0]])), (5, 2, 0));
    }

    #[test]
    fn too_large_kernel_is_an_error_naming_the_shapes() {
        let e = Conv2dGeometry::new(&[1, 2, 2, 1], &[3, 3, 1, 1], [1, 1], [1, 1], &Padding::Valid).unwrap_err();
        assert!(e.to_string().contains("[1, 2, 2, 1]"), "{e}");
    }

    #[test]
    fn grouped_filters_divide_the_input_depth() {
        let g = |x: [usize; 4], f: [usize; 4]| Conv2dGeometry::new(&x, &f, [1, 1], [1, 1], &Padding::Same);
        assert_eq!(g([1, 4, 4, 6], [3, 3, 2, 9]).unwrap().groups, 3);
        assert_eq!(g([1, 4, 4, 6], [3, 3, 1, 6]).unwrap().groups, 6);
        assert_eq!(g([1, 4, 4, 6], [3, 3, 6, 5]).unwrap().groups, 1);
        let e = g([1, 4, 4, 6], [3, 3, 4, 8]).unwrap_err().to_string();
        assert!(e.contains("not a multiple") && e.contains("[3, 3, 4, 8]") && e.contains("[1, 4, 4, 6]"), "{e}");
        let e = g([1, 4, 4, 6], [3, 3, 2, 4]).unwrap_err().to_string();
        assert!(e.contains("3 groups") && e.contains("[3, 3, 2, 4]"), "{e}");
    }

    #[test]
    fn transpose_accepts_exactly_the_forward_sizes() {
        // VALID, i=3, k=3, s=2: o in [(i-1)s+k, (i-1)s+k+s-1] = [7, 8]
        let ok = |o| {
            Conv2dTransposeGeometry::new(&[1, 3, 3, 2], &[3, 3, 4, 2], &[1, o, o, 4], [2, 2], [1, 1], &Padding::Valid)
                .is_ok()
        };
        assert!(!ok(6) && ok(7) && ok(8) && !ok(9));
        // SAME, i=3, s=2: o in [(i-1)s+1, i*s] = [5, 6]
        let ok = |o| {
            Conv2dTransposeGeometry::new(&[1, 3, 3, 2], &[3, 3, 4, 2], &[1, o, o, 4], [2, 2], [1, 1], &Padding::Same)
                .is_ok()
        };
        assert!(!ok(4) && ok(5) && ok(6) && !ok(7));
    }
}
