//! Tensors larger than one storage binding (lavapipe and WebGPU's default: 128 MiB): where a
//! launcher's operands pass the adapter's limit, it runs on parts small enough to bind.
//! Kernels run on batches of images ([`split_images`], [`per_image`]): each batch's images are
//! copied out, its per-image outputs copied into place, and its sums over the images (a filter
//! or bias gradient) added to the other batches'; flat kernels bind aligned windows of one buffer
//! ([`binding_ranges`]); matmul splits into blocks itself (`matmul::matmul`).

use tessera_device::{Gpu, GpuBuffer};

use crate::elementwise::{binary, BinaryOp};
use crate::launch::out_f32;
use crate::Result;

/// An operand of a per-image kernel: its buffer and its f32s per image (0: shared by every
/// image, such as a filter, and passed whole to each batch).
pub type Operand<'a> = (&'a GpuBuffer, usize);

/// Alignment of a window's start, in f32 elements: the adapter's binding-offset alignment, at
/// least 64 elements (so a window also starts on a vec4 of every vec4 view).
pub fn window_align(gpu: &Gpu) -> usize {
    (gpu.binding_alignment().max(4) / 4).max(64) as usize
}

/// `(start, len)` element ranges covering `n` elements, each small enough that `per` f32s per
/// element fit one storage binding, each starting aligned ([`window_align`]).
pub fn binding_ranges(gpu: &Gpu, n: usize, per: usize) -> Vec<(usize, usize)> {
    let align = window_align(gpu);
    let chunk = (limit_elems(gpu) / per.max(1) / align * align).max(align);
    (0..n.div_ceil(chunk)).map(|i| (i * chunk, chunk.min(n - i * chunk))).collect()
}

/// True when `elems` f32s fit one storage binding.
pub fn fits_binding(gpu: &Gpu, elems: usize) -> bool {
    elems as u64 * 4 <= gpu.max_binding_bytes()
}

fn limit_elems(gpu: &Gpu) -> usize {
    usize::try_from(gpu.max_binding_bytes() / 4).unwrap_or(usize::MAX)
}

/// Images per batch when the `n` images of `ops` and of outputs of `out_per_image` f32s per
/// image do not all fit one binding; `None` when they do.
fn batch_size(
    gpu: &Gpu,
    op: &'static str,
    n: usize,
    ops: &[Operand<'_>],
    out_per_image: usize,
) -> Result<Option<usize>> {
    let per = ops.iter().map(|o| o.1).chain([out_per_image]).max().unwrap_or(0);
    if per > limit_elems(gpu) {
        let msg = format!(
            "one image of {} bytes passes this adapter's {} bytes per storage binding",
            per * 4,
            gpu.max_binding_bytes()
        );
        return Err(crate::shape_err(op, msg));
    }
    Ok((!fits_binding(gpu, n * per)).then(|| limit_elems(gpu) / per))
}

/// The images `start..start + len` of each batched operand, copied out (shared ones as given).
fn batch_of<'a>(gpu: &Gpu, ops: &[Operand<'a>], start: usize, len: usize) -> Result<Vec<Option<GpuBuffer>>> {
    ops.iter()
        .map(|&(buf, per)| {
            if per == 0 {
                return Ok(None);
            }
            let part = out_f32(gpu, len * per)?;
            gpu.copy(buf, (start * per) as u64 * 4, &part, 0, (len * per) as u64 * 4)?;
            Ok(Some(part))
        })
        .collect()
}

/// For each batch of at most `batch` images: `each(start, images, operands)` with the batch's
/// operands (copies of its images, or the shared ones as given).
pub fn for_batches(
    gpu: &Gpu,
    n: usize,
    batch: usize,
    ops: &[Operand<'_>],
    mut each: impl FnMut(usize, usize, &[&GpuBuffer]) -> Result<()>,
) -> Result<()> {
    for start in (0..n).step_by(batch) {
        let len = batch.min(n - start);
        let parts = batch_of(gpu, ops, start, len)?;
        let bufs: Vec<&GpuBuffer> = parts.iter().zip(ops).map(|(p, o)| p.as_ref().unwrap_or(o.0)).collect();
        each(start, len, &bufs)?;
    }
    Ok(())
}

/// One output of a kernel split over images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `f32`s per image: each batch's part is copied into place.
    Images(usize),
    /// A sum over the images of `len` f32s (such as a filter gradient): the batches' parts
    /// are added.
    Sum(usize),
}

/// Runs a kernel over `n` images (`run(images, operands)` returns its outputs, as `outs`
/// describes them) on batches that fit one binding, when the whole batch does not; `None`
/// when it does (the caller launches as usual).
pub fn split_images(
    gpu: &Gpu,
    op: &'static str,
    n: usize,
    ops: &[Operand<'_>],
    outs: &[Part],
    run: impl Fn(usize, &[&GpuBuffer]) -> Result<Vec<GpuBuffer>>,
) -> Result<Option<Vec<GpuBuffer>>> {
    let out_per_image = outs.iter().map(|p| if let Part::Images(k) = p { *k } else { 0 }).max().unwrap_or(0);
    let Some(batch) = batch_size(gpu, op, n, ops, out_per_image)? else { return Ok(None) };
    split_in_batches(gpu, op, n, batch, ops, outs, run).map(Some)
}

/// [`split_images`] in batches of at most `batch` images, whether or not the whole would fit.
pub fn split_in_batches(
    gpu: &Gpu,
    op: &'static str,
    n: usize,
    batch: usize,
    ops: &[Operand<'_>],
    outs: &[Part],
    run: impl Fn(usize, &[&GpuBuffer]) -> Result<Vec<GpuBuffer>>,
) -> Result<Vec<GpuBuffer>> {
    let mut acc: Vec<Option<GpuBuffer>> = outs
        .iter()
        .map(|p| match p {
            Part::Images(k) => out_f32(gpu, n * k).map(Some),
            Part::Sum(_) => Ok(None),
        })
        .collect::<Result<_>>()?;
    for_batches(gpu, n, batch, ops, |start, len, bufs| {
        for ((part, kind), slot) in run(len, bufs)?.into_iter().zip(outs).zip(&mut acc) {
            *slot = Some(match (kind, slot.take()) {
                (Part::Images(k), Some(out)) => {
                    gpu.copy(&part, 0, &out, (start * k) as u64 * 4, (len * k) as u64 * 4)?;
                    out
                }
                (Part::Sum(k), Some(sum)) => binary(gpu, BinaryOp::Add, &sum, &[*k], &part, &[*k])?.0,
                (_, None) => part,
            });
        }
        Ok(())
    })?;
    let missing = || crate::shape_err(op, "a batch of images returned fewer outputs than expected".to_string());
    acc.into_iter().map(|b| b.ok_or_else(missing)).collect()
}

/// [`split_images`] for a kernel whose images are independent and whose one output has
/// `out_per_image` f32s per image.
pub fn per_image(
    gpu: &Gpu,
    op: &'static str,
    n: usize,
    ops: &[Operand<'_>],
    out_per_image: usize,
    run: impl Fn(usize, &[&GpuBuffer]) -> Result<GpuBuffer>,
) -> Result<Option<GpuBuffer>> {
    let outs = split_images(gpu, op, n, ops, &[Part::Images(out_per_image)], |images, b| Ok(vec![run(images, b)?]))?;
    Ok(outs.map(|mut o| o.remove(0)))
}
