//! Helpers every launcher shares: uniform packing, dispatch grids, output allocation, pipelines
//! keyed by file, entry and constants, and the fast-read rewrites (texel and uniform views).

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

/// Bit `b` of a binding mask: binding `b` (1..=31).
const fn bit(binding: u32) -> u32 {
    1 << binding
}

/// The bindings of mask `m`, ascending.
fn bindings_of(m: u32) -> impl Iterator<Item = u32> {
    (0..32).filter(move |b| m & bit(*b) != 0)
}

/// Gets (or compiles) `entry` of a shader file with its read-only storage arrays at the
/// bindings of mask `texels` read from texel views' textures ([`texel_source`]) and those of
/// mask `uniform` from uniform views ([`uniform_source`]); the dispatch binds those operands
/// with [`tessera_device::View::texels`] and [`tessera_device::View::uniform`].
pub fn read_pipeline(
    gpu: &Gpu,
    (file, src): (&'static str, &'static str),
    [texels, uniform]: [u32; 2],
    entry: &str,
    constants: &[(&str, f64)],
) -> Result<Pipeline> {
    let key = tessera_device::PipelineKey { file: read_file(file, [texels, uniform]), entry, constants };
    let source = || {
        let text = bindings_of(texels).fold(shader_text(file, src), |text, b| texel_source(&text, b));
        bindings_of(uniform).fold(text, |text, b| uniform_source(&text, b))
    };
    Ok(gpu.pipeline(key, source)?)
}

/// Gets (or compiles) `entry` of a shader file with its read-only storage arrays at
/// `bindings` read from texel views' textures instead ([`read_pipeline`]).
pub fn texel_pipeline(
    gpu: &Gpu,
    file: (&'static str, &'static str),
    bindings: &[u32],
    entry: &str,
    constants: &[(&str, f64)],
) -> Result<Pipeline> {
    read_pipeline(gpu, file, [bindings.iter().fold(0, |m, &b| m | bit(b)), 0], entry, constants)
}

/// The module name of `file` read with texel views and uniform views at the bindings of the two
/// masks (`"<file> (texels at [..], uniform at [..])"`, the parts present), formatted once per
/// file and masks and kept, so a launch formats no string.
fn read_file(file: &'static str, masks: [u32; 2]) -> &'static str {
    type Names = Vec<(&'static str, [u32; 2], &'static str)>;
    static NAMES: std::sync::Mutex<Names> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| n.0 == file && n.1 == masks) {
        return n.2;
    }
    let parts: Vec<String> = [("texels", masks[0]), ("uniform", masks[1])]
        .iter()
        .filter(|p| p.1 != 0)
        .map(|(what, m)| format!("{what} at {:?}", bindings_of(*m).collect::<Vec<_>>()))
        .collect();
    // A few families x binding sets: leaked once each.
    let name: &'static str = Box::leak(format!("{file} ({})", parts.join(", ")).into_boxed_str());
    names.push((file, masks, name));
    name
}

/// The read-only operands a fast-read launch stages, by binding (1-based, into its operands).
#[derive(Clone, Copy, Debug)]
pub struct FastReads<'a> {
    /// Read through texel views.
    pub texels: &'a [u32],
    /// Small operands (a layer's weights): through uniform views where they fit one
    /// ([`Gpu::max_uniform_view_bytes`]) and [`crate::autotune::uniform_pays`] on this adapter,
    /// else through texel views.
    pub small: &'a [u32],
}

impl<'a> FastReads<'a> {
    /// Every operand at `texels` through texel views.
    pub const fn texels(texels: &'a [u32]) -> Self {
        Self { texels, small: &[] }
    }
}

/// Compiles `entry` of a shader file and binds `buffers` whole as its bindings 1..: with
/// `fast`, the read-only operands it lists through texel or uniform views ([`fast_reads`]).
pub fn pipeline_and_views<'a>(
    gpu: &Gpu,
    file: (&'static str, &'static str),
    (entry, constants): (&str, &[(&str, f64)]),
    buffers: &[&'a GpuBuffer],
    fast: Option<FastReads<'_>>,
) -> Result<(Pipeline, Vec<tessera_device::View<'a>>)> {
    let mut views: Vec<_> = buffers.iter().map(|b| b.whole()).collect();
    let pipe = match fast {
        Some(fast) => fast_reads(gpu, file, (entry, constants), &mut views, fast)?,
        None => pipeline(gpu, file.0, file.1, entry, constants)?,
    };
    Ok((pipe, views))
}

/// A fast-read launch's binding plan ([`FastReads`]) applied to `views`; returns the pipeline
/// compiled for it. Uniform views pay for some kernels only: on lavapipe the direct
/// convolutions' filters and the classifier head's operands (docs/benchmarks.md, twentieth
/// round); the register matmuls ran slower reading them than reading texels.
fn fast_reads(
    gpu: &Gpu,
    file: (&'static str, &'static str),
    (entry, constants): (&str, &[(&str, f64)]),
    views: &mut [tessera_device::View<'_>],
    fast: FastReads<'_>,
) -> Result<Pipeline> {
    let mut masks = [0u32; 2];
    for &b in fast.texels {
        views[b as usize - 1] = views[b as usize - 1].texels();
        masks[0] |= bit(b);
    }
    for &b in fast.small {
        let v = &mut views[b as usize - 1];
        let uniform = v.bytes() <= gpu.max_uniform_view_bytes() && crate::autotune::uniform_pays(gpu);
        *v = if uniform { v.uniform() } else { v.texels() };
        masks[usize::from(uniform)] |= bit(b);
    }
    read_pipeline(gpu, file, masks, entry, constants)
}

/// Whether a kernel that is not timed reads `inputs` through texel views: where
/// [`crate::autotune::texels_pay`] on this adapter and every input fits a texture.
pub fn untimed_texels(gpu: &Gpu, inputs: &[&GpuBuffer]) -> bool {
    inputs.iter().all(|b| b.len() <= gpu.max_texel_bytes()) && crate::autotune::texels_pay(gpu)
}

/// How [`read_source`] reads an array: from a texture or from a uniform buffer.
#[derive(Clone, Copy)]
enum Reader {
    Texels,
    Uniform,
}

/// `src` with every `var<storage, read>` array declared at `@binding(binding)` (`f32`,
/// `vec2<f32>` or `vec4<f32>` elements; one binding may carry several such views) replaced by
/// one `texture_2d<f32>`, and every `name[i]` of those arrays by a `textureLoad` of the texel
/// holding element `i` (texel `t` at `(t % TEXEL_ROW, t / TEXEL_ROW)`,
/// [`tessera_device::TEXEL_ROW`]). Other bindings and text are kept as they are.
pub fn texel_source(src: &str, binding: u32) -> String {
    read_source(src, binding, Reader::Texels)
}

/// [`texel_source`] with the arrays at `binding` read from one uniform
/// `array<vec4<f32>, 4096>` ([`tessera_device::UNIFORM_VIEW_BYTES`]) instead: every `name[i]`
/// becomes a load of the vec4 holding element `i`.
pub fn uniform_source(src: &str, binding: u32) -> String {
    read_source(src, binding, Reader::Uniform)
}

/// [`texel_source`] and [`uniform_source`].
fn read_source(src: &str, binding: u32, reader: Reader) -> String {
    let decl = format!("@group(0) @binding({binding}) var<storage, read> ");
    let (var, ty) = match reader {
        Reader::Texels => (format!("texels_{binding}"), "texture_2d<f32>".to_string()),
        Reader::Uniform => {
            let vec4s = tessera_device::UNIFORM_VIEW_BYTES / 16;
            (format!("uniform_{binding}"), format!("array<vec4<f32>, {vec4s}>"))
        }
    };
    let mut names = Vec::new();
    let mut out = String::with_capacity(src.len() + 1024);
    for line in src.lines() {
        match line.strip_prefix(&decl).and_then(parse_array_decl) {
            Some((name, elem)) => {
                if names.is_empty() {
                    let space = match reader {
                        Reader::Texels => "",
                        Reader::Uniform => "<uniform>",
                    };
                    out.push_str(&format!("@group(0) @binding({binding}) var{space} {var}: {ty};\n"));
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
        let fetch = match reader {
            Reader::Texels => format!("textureLoad({var}, vec2(t % {row}u, t / {row}u), 0)"),
            Reader::Uniform => format!("{var}[t]"),
        };
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

/// `src` with every `name[expr]` (`name` a whole identifier) as `name_texel(u32(expr))`, `expr`
/// rewritten too.
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
        let index = rewrite_indexing(&rest[1..close], name); // an index may index the array too
        out.push_str(&format!("{name}_texel(u32({index}))"));
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
    fn uniform_source_reads_every_view_of_the_binding_from_one_uniform_array() {
        let src = "@group(0) @binding(2) var<storage, read> w: array<f32>;\n\
                   @group(0) @binding(2) var<storage, read> w2: array<vec2<f32>>;\n\
                   @group(0) @binding(2) var<storage, read> w4: array<vec4<f32>>;\n\
                   fn f(i: u32) -> f32 { return w[i + 1u] + w2[i].y + w4[w4[0].x].x; }\n";
        let out = uniform_source(src, 2);
        assert!(out.starts_with("@group(0) @binding(2) var<uniform> uniform_2: array<vec4<f32>, 4096>;\n"), "{out}");
        assert!(!out.contains("var<storage"), "{out}");
        assert!(out.contains("return w_texel(u32(i + 1u)) + w2_texel(u32(i)).y + w4_texel(u32(w4_texel(u32(0)).x)).x;"));
        assert!(out.contains("fn w_texel(i: u32) -> f32 { let t = i / 4u; return uniform_2[t][i % 4u]; }"), "{out}");
        assert!(out.contains("fn w2_texel(i: u32) -> vec2<f32> { let t = i / 2u; let v = uniform_2[t];"), "{out}");
        assert!(out.contains("fn w4_texel(i: u32) -> vec4<f32> { let t = i / 1u; return uniform_2[t]; }"), "{out}");
    }

    #[test]
    fn read_modules_are_named_by_their_texel_and_uniform_bindings_once() {
        let both = read_file("fam.wgsl", [bit(1) | bit(3), bit(2)]);
        assert_eq!(both, "fam.wgsl (texels at [1, 3], uniform at [2])");
        assert_eq!(read_file("fam.wgsl", [0, bit(4)]), "fam.wgsl (uniform at [4])");
        assert_eq!(read_file("fam.wgsl", [bit(1), 0]), "fam.wgsl (texels at [1])");
        let again = read_file("fam.wgsl", [bit(1) | bit(3), bit(2)]);
        assert!(std::ptr::eq(both, again), "formatted once and kept");
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
