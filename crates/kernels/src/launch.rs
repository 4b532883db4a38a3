//! Helpers every launcher shares: uniform packing, dispatch grids, output allocation.

use tessera_device::{Gpu, GpuBuffer, Pipeline};

use crate::Result;

/// Uniform parameters packed as 32-bit words in declaration order, for the op named at
/// [`Params::new`]. Appending never panics: a size that does not fit in 32 bits is remembered,
/// and [`Params::bytes`] then returns a typed error naming the op and every field.
#[derive(Default)]
pub struct Params {
    op: &'static str,
    words: Vec<u32>,
    too_big: Option<usize>,
}

impl Params {
    /// Empty parameter block for the kernel of op `op` (named in size errors).
    pub fn new(op: &'static str) -> Self {
        Self { op, ..Self::default() }
    }

    /// Appends a `u32` field; a value past `u32::MAX` makes [`Params::bytes`] fail.
    pub fn u(mut self, v: usize) -> Self {
        match u32::try_from(v) {
            Ok(w) => self.words.push(w),
            Err(_) => {
                self.too_big.get_or_insert(v);
                self.words.push(u32::MAX);
            }
        }
        self
    }

    /// Appends an `f32` field.
    pub fn f(mut self, v: f32) -> Self {
        self.words.push(v.to_bits());
        self
    }

    /// Pads with zero words to a multiple of four (a vec4 boundary).
    pub fn align4(mut self) -> Self {
        while !self.words.len().is_multiple_of(4) {
            self.words.push(0);
        }
        self
    }

    /// The bytes to upload, or an error when a field did not fit in 32 bits.
    pub fn bytes(&self) -> Result<&[u8]> {
        match self.too_big {
            None => Ok(bytemuck::cast_slice(&self.words)),
            Some(v) => Err(crate::shape_err(
                self.op,
                format!(
                    "size or option {v} does not fit the GPU kernel's 32-bit parameters (fields {:?}, \
                     over-large ones shown as {})",
                    self.words,
                    u32::MAX
                ),
            )),
        }
    }
}

/// The uniform block the windowed kernels (conv2d, depthwise, conv2d_transpose) share:
/// batch, input (h, w, c), output (h, w, c-or-multiplier), window, strides, dilations, top and
/// left padding, has-bias and activation — 17 words; callers may append more.
pub fn window_params(
    op: &'static str,
    w: &crate::Window2d,
    input: [usize; 3],
    output: [usize; 3],
    has_bias: bool,
    act: crate::Activation,
) -> Params {
    let p = Params::new(op).u(w.n);
    let p = input.iter().chain(&output).fold(p, |p, &v| p.u(v));
    [w.kh, w.kw, w.sh, w.sw, w.dh, w.dw, w.pad_top, w.pad_left, has_bias as usize, act.code()]
        .iter()
        .fold(p, |p, &v| p.u(v))
}

/// Workgroup counts covering `threads` invocations with `wg` per group, spilling into y
/// when x would pass the adapter's per-dimension limit (shaders rebuild the linear id).
pub fn grid_1d(gpu: &Gpu, threads: usize, wg: u32) -> [u32; 3] {
    let groups = threads.div_ceil(wg as usize).max(1);
    let max = gpu.limits().max_compute_workgroups_per_dimension as usize;
    let x = groups.min(max);
    // Both fit u32: x is at most the adapter's limit (a u32), and launchers check their sizes
    // with `check_u32` first, so groups / x is at most 2^31 / 64 / x. `Gpu::dispatch` refuses
    // any count past the limit with a typed error naming the kernel.
    [x as u32, groups.div_ceil(x) as u32, 1]
}

/// Allocates an f32 output buffer of `elems` elements.
pub fn out_f32(gpu: &Gpu, elems: usize) -> Result<GpuBuffer> {
    let bytes = elems.checked_mul(4).and_then(|b| u64::try_from(b).ok());
    let bytes = bytes.ok_or_else(|| crate::shape_err("alloc", format!("{elems} f32 elements overflow a byte size")))?;
    Ok(gpu.alloc(bytes)?)
}

/// The pipeline constant `ACT` of the families that fuse an activation (conv2d, matmul,
/// pool): the activation's code fixed at pipeline creation, so a kernel runs only its own
/// activation (a `switch` on a uniform runs every case under a mask on CPU adapters).
pub fn act_constant(act: crate::Activation) -> (&'static str, f64) {
    ("ACT", act.code() as f64)
}

/// Gets (or compiles) `entry` of a shader file, keyed by file, entry and constants.
pub fn pipeline(
    gpu: &Gpu,
    file: &'static str,
    src: &'static str,
    entry: &str,
    constants: &[(&str, f64)],
) -> Result<Pipeline> {
    let key = tessera_device::PipelineKey { file, entry, constants };
    Ok(gpu.pipeline(key, || shader_text(file, src))?)
}

/// Gets (or compiles) `entry` of a shader file with its read-only storage arrays at
/// `bindings` read from texel views' textures instead ([`texel_source`]); the dispatch binds
/// those operands with [`tessera_device::View::texels`].
pub fn texel_pipeline(
    gpu: &Gpu,
    (file, src): (&'static str, &'static str),
    bindings: &[u32],
    entry: &str,
    constants: &[(&str, f64)],
) -> Result<Pipeline> {
    let key = tessera_device::PipelineKey { file: texel_file(file, bindings), entry, constants };
    let source = || bindings.iter().fold(shader_text(file, src), |text, &b| texel_source(&text, b));
    Ok(gpu.pipeline(key, source)?)
}

/// The module name of `file` read with texel views at `bindings` (`"<file> (texels at
/// [..])"`), formatted once per pair and kept, so a launch formats no string.
fn texel_file(file: &'static str, bindings: &[u32]) -> &'static str {
    type Names = Vec<(&'static str, Vec<u32>, &'static str)>;
    static NAMES: std::sync::Mutex<Names> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| n.0 == file && n.1 == bindings) {
        return n.2;
    }
    // A few families x binding sets: leaked once each.
    let name: &'static str = Box::leak(format!("{file} (texels at {bindings:?})").into_boxed_str());
    names.push((file, bindings.to_vec(), name));
    name
}

/// Compiles `entry` of a shader file and binds `buffers` whole as its bindings 1..: with
/// `texels`, those at the bindings it lists through texel views ([`texel_pipeline`]).
pub fn pipeline_and_views<'a>(
    gpu: &Gpu,
    (file, src): (&'static str, &'static str),
    (entry, constants): (&str, &[(&str, f64)]),
    buffers: &[&'a GpuBuffer],
    texels: Option<&[u32]>,
) -> Result<(Pipeline, Vec<tessera_device::View<'a>>)> {
    let as_texels = |i: usize| texels.is_some_and(|t| t.contains(&(i as u32 + 1)));
    let views = buffers.iter().enumerate().map(|(i, b)| if as_texels(i) { b.whole().texels() } else { b.whole() });
    let pipe = match texels {
        Some(t) => texel_pipeline(gpu, (file, src), t, entry, constants)?,
        None => pipeline(gpu, file, src, entry, constants)?,
    };
    Ok((pipe, views.collect()))
}

/// Whether a kernel that is not timed reads `inputs` through texel views: where
/// [`crate::autotune::texels_pay`] on this adapter and every input fits a texture.
pub fn untimed_texels(gpu: &Gpu, inputs: &[&GpuBuffer]) -> bool {
    inputs.iter().all(|b| b.len() <= gpu.max_texel_bytes()) && crate::autotune::texels_pay(gpu)
}

/// `src` with every `var<storage, read>` array declared at `@binding(binding)` (`f32`,
/// `vec2<f32>` or `vec4<f32>` elements; one binding may carry several such views) replaced by
/// one `texture_2d<f32>`, and every `name[i]` of those arrays by a `textureLoad` of the texel
/// holding element `i` (texel `t` at `(t % TEXEL_ROW, t / TEXEL_ROW)`,
/// [`tessera_device::TEXEL_ROW`]). Other bindings and text are kept as they are.
pub fn texel_source(src: &str, binding: u32) -> String {
    let decl = format!("@group(0) @binding({binding}) var<storage, read> ");
    let tex = format!("texels_{binding}");
    let mut names = Vec::new();
    let mut out = String::with_capacity(src.len() + 1024);
    for line in src.lines() {
        match line.strip_prefix(&decl).and_then(parse_array_decl) {
            Some((name, elem)) => {
                if names.is_empty() {
                    out.push_str(&format!("@group(0) @binding({binding}) var {tex}: texture_2d<f32>;\n"));
                }
                names.push((name, elem));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (name, _) in &names {
        out = rewrite_indexing(&out, name);
    }
    let row = tessera_device::TEXEL_ROW;
    for (name, elem) in &names {
        let fetch = format!("textureLoad({tex}, vec2(t % {row}u, t / {row}u), 0)");
        let (per_texel, body) = match *elem {
            "f32" => (4, format!("return {fetch}[i % 4u];")),
            "vec2<f32>" => (2, format!("let v = {fetch}; return select(v.xy, v.zw, i % 2u == 1u);")),
            _ => (1, format!("return {fetch};")),
        };
        out.push_str(&format!("fn {name}_texel(i: u32) -> {elem} {{ let t = i / {per_texel}u; {body} }}\n"));
    }
    out
}

/// `name` and element type of an array declaration's rest (`x: array<f32>;`).
fn parse_array_decl(rest: &str) -> Option<(&str, &str)> {
    let (name, ty) = rest.split_once(':')?;
    let elem = ty.trim().strip_prefix("array<")?.strip_suffix(">;")?;
    ["f32", "vec2<f32>", "vec4<f32>"].contains(&elem).then_some((name.trim(), elem))
}

/// `src` with every `name[expr]` (`name` a whole identifier) as `name_texel(u32(expr))`.
fn rewrite_indexing(src: &str, name: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(at) = rest.find(&format!("{name}[")) {
        let whole = !rest[..at].ends_with(|c: char| is_ident(c) || c == '.');
        out.push_str(&rest[..at]);
        rest = &rest[at + name.len()..];
        if !whole {
            out.push_str(name);
            continue;
        }
        let mut depth = 0usize;
        let close = rest
            .char_indices()
            .find(|&(_, c)| {
                depth = match c {
                    '[' => depth + 1,
                    ']' => depth - 1,
                    _ => depth,
                };
                depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        out.push_str(&format!("{name}_texel(u32({}))", &rest[1..close]));
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// The subgroup size the shuffle-sharing register kernels (`*_subgroup.wgsl`) run with: the
/// device's one fixed subgroup size when it has subgroup operations and that size is 8 to 64
/// (their B block of at most 32 vec4s fits 4 slots per invocation, and a 64-wide workgroup
/// holds whole subgroups); else `None`, and those kernels are not offered.
pub fn shuffle_width(gpu: &Gpu) -> Option<usize> {
    let (lo, hi) = gpu.subgroup_sizes()?;
    (lo == hi && (8..=64).contains(&lo)).then_some(lo as usize)
}

/// Checks that every size fits the 32-bit indices the shaders use.
pub fn check_u32(op: &'static str, sizes: &[usize]) -> Result<()> {
    for &s in sizes {
        if s > u32::MAX as usize / 2 {
            return Err(crate::shape_err(
                op,
                format!("size {s} is too large for GPU indexing (limit {})", u32::MAX / 2),
            ));
        }
    }
    Ok(())
}

/// `shaders/common.wgsl`: helpers every shader may call, prepended to each one.
pub const COMMON: &str = include_str!("../../../shaders/common.wgsl");

/// The shader's text after the common helpers: embedded at build time, or read from
/// `$TESSERA_SHADER_DIR/<file>` when that variable is set (for editing kernels without
/// rebuilding; native only). A family's subgroup file `<family>_subgroup.wgsl` is read after
/// `<family>.wgsl`, as it is embedded.
pub fn shader_text(file: &str, embedded: &str) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(text) = std::env::var_os("TESSERA_SHADER_DIR").and_then(|d| text_on_disk(d.as_ref(), file)) {
        return text;
    }
    let _ = file;
    format!("{COMMON}{embedded}")
}

/// `file` from `dir` after the common helpers (`dir`'s `common.wgsl`, else the embedded one)
/// and, for a subgroup file, after its family's shader; `None` when a needed file is missing.
#[cfg(not(target_arch = "wasm32"))]
fn text_on_disk(dir: &std::path::Path, file: &str) -> Option<String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    let family = match file.strip_suffix("_subgroup.wgsl") {
        Some(f) => read(&format!("{f}.wgsl"))?,
        None => String::new(),
    };
    let text = read(file)?;
    Some(read("common.wgsl").unwrap_or_else(|| COMMON.to_string()) + &family + &text)
}

/// An optional operand: the caller's buffer, or an owned 1-element placeholder bound in its
/// place (every binding an entry point declares must be bound).
pub enum Operand<'a> {
    /// The caller's buffer.
    Given(&'a GpuBuffer),
    /// A placeholder the kernel ignores.
    Placeholder(GpuBuffer),
}

impl std::ops::Deref for Operand<'_> {
    type Target = GpuBuffer;

    fn deref(&self) -> &GpuBuffer {
        match self {
            Operand::Given(b) => b,
            Operand::Placeholder(b) => b,
        }
    }
}

/// A fused activation's saved output, for a backward kernel that masks its upstream gradient
/// by the activation's gradient (pooling, batch norm).
#[derive(Clone, Copy)]
pub struct FusedGrad<'a> {
    /// The fused activation (`Activation::None`: none, `y` unused).
    pub act: crate::Activation,
    /// The forward's output (after the activation); needed unless `act` is `None`.
    pub y: Option<&'a GpuBuffer>,
}

impl FusedGrad<'_> {
    /// The buffer to bind for the saved output: `y`, or (no activation) a 4-element
    /// placeholder, which vec4 kernels can bind too. An activation without `y` is an error
    /// naming `op`.
    pub fn operand(&self, gpu: &Gpu, op: &'static str) -> Result<Operand<'_>> {
        match (self.y, self.act) {
            (Some(y), _) => Ok(Operand::Given(y)),
            (None, crate::Activation::None) => Ok(Operand::Placeholder(out_f32(gpu, 4)?)),
            (None, act) => Err(crate::shape_err(op, format!("the fused {act:?} gradient needs the saved output"))),
        }
    }
}

/// `b`, or a placeholder when it is absent (e.g. no bias).
pub fn or_placeholder<'a>(gpu: &Gpu, b: Option<&'a GpuBuffer>) -> Result<Operand<'a>> {
    Ok(match b {
        Some(b) => Operand::Given(b),
        None => Operand::Placeholder(out_f32(gpu, 1)?),
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn texel_source_reads_every_view_of_the_binding_from_one_texture() {
        let src = "@group(0) @binding(1) var<storage, read> x: array<f32>;\n\
                   @group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;\n\
                   @group(0) @binding(2) var<storage, read> xs: array<f32>;\n\
                   fn f(i: i32) -> f32 { return x[u32(i) + xs[0]] + x4[idx[i]].y + v.x[0] + xs[1]; }\n";
        let out = texel_source(src, 1);
        assert!(out.starts_with("@group(0) @binding(1) var texels_1: texture_2d<f32>;\n"), "{out}");
        assert!(!out.contains("binding(1) var<storage"), "{out}");
        assert!(out.contains("@group(0) @binding(2) var<storage, read> xs: array<f32>;"), "{out}");
        assert!(
            out.contains("return x_texel(u32(u32(i) + xs[0])) + x4_texel(u32(idx[i])).y + v.x[0] + xs[1];"),
            "{out}"
        );
        assert!(out.contains("fn x_texel(i: u32) -> f32 { let t = i / 4u; return textureLoad(texels_1, vec2(t % 1024u, t / 1024u), 0)[i % 4u]; }"), "{out}");
        assert!(out.contains("fn x4_texel(i: u32) -> vec4<f32> { let t = i / 1u;"), "{out}");
        assert_eq!(texel_source(src, 3), src, "no array at binding 3: unchanged");
    }

    #[test]
    fn shaders_on_disk_follow_the_common_helpers_and_subgroup_files_their_family() {
        let dir = std::env::temp_dir().join(format!("tessera-shader-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fam.wgsl"), "FAMILY\n").unwrap();
        std::fs::write(dir.join("fam_subgroup.wgsl"), "SUBGROUP\n").unwrap();
        std::fs::write(dir.join("lone_subgroup.wgsl"), "LONE\n").unwrap();
        assert_eq!(text_on_disk(&dir, "fam.wgsl").unwrap(), format!("{COMMON}FAMILY\n"));
        assert_eq!(text_on_disk(&dir, "fam_subgroup.wgsl").unwrap(), format!("{COMMON}FAMILY\nSUBGROUP\n"));
        assert_eq!(text_on_disk(&dir, "lone_subgroup.wgsl"), None, "its family's file is missing");
        assert_eq!(text_on_disk(&dir, "missing.wgsl"), None);
        std::fs::write(dir.join("common.wgsl"), "COMMON\n").unwrap();
        assert_eq!(text_on_disk(&dir, "fam.wgsl").unwrap(), "COMMON\nFAMILY\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
