//! Where `fit` gets its batches: the [`Batches`] trait (any source of `(x, y)` batches per
//! epoch), [`TensorBatches`] over in-memory tensors (Keras's `fit(x, y)`, seeded shuffling),
//! and [`FnBatches`] around a closure.

use crate::checkpoint::host_values;
use crate::ops::slice;
use crate::random::Rng;
use crate::{shape_err, Result, Tensor};

/// One epoch's batches.
pub type BatchIter<'a> = Box<dyn Iterator<Item = Result<(Tensor, Tensor)>> + 'a>;

/// A source of `(x, y)` batches, epoch after epoch (a dataset, a generator, tensors).
pub trait Batches {
    /// The batches of epoch `epoch` (0-based; a source may shuffle per epoch).
    fn epoch(&mut self, epoch: usize) -> Result<BatchIter<'_>>;
    /// Batches per epoch, when known (the progress bar shows it).
    fn steps(&self) -> Option<usize> {
        None
    }
}

/// Batches of in-memory `x [n, ...]` and `y [n, ...]`, in order or shuffled per epoch from a
/// seed. In order, batches are device slices; shuffled, the rows are gathered on the host
/// (GPU tensors are read back once, when the source is made) and uploaded per batch.
pub struct TensorBatches {
    x: Tensor,
    y: Tensor,
    batch_size: usize,
    seed: Option<u64>,
    host: Option<(Vec<f32>, Vec<f32>)>,
}

impl TensorBatches {
    /// Batches of `batch_size` rows (the last may be smaller); `shuffle_seed: Some(s)` shuffles
    /// every epoch with a permutation drawn from `s` and the epoch number.
    pub fn new(x: &Tensor, y: &Tensor, batch_size: usize, shuffle_seed: Option<u64>) -> Result<Self> {
        let (nx, ny) = (x.shape().first().copied(), y.shape().first().copied());
        if nx.is_none() || nx != ny || batch_size == 0 {
            return Err(shape_err(
                "fit",
                format!(
                    "x {:?} and y {:?} need the same first (batch) dimension and batch_size {batch_size} must be > 0",
                    x.shape(),
                    y.shape()
                ),
            ));
        }
        let host = match shuffle_seed {
            Some(_) => Some((host_values(x)?, host_values(y)?)),
            None => None,
        };
        Ok(Self { x: x.detach(), y: y.detach(), batch_size, seed: shuffle_seed, host })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.x.shape()[0]
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of rows `rows` (in order: a device slice; else gathered on the host).
    fn batch(&self, rows: &[usize]) -> Result<(Tensor, Tensor)> {
        match &self.host {
            None => {
                let (start, len) = (rows[0], rows.len());
                Ok((slice(&self.x, 0, start, len)?, slice(&self.y, 0, start, len)?))
            }
            Some((hx, hy)) => Ok((gather(hx, &self.x, rows)?, gather(hy, &self.y, rows)?)),
        }
    }
}

/// Rows `rows` of `values` (laid out like `like`), uploaded to `like`'s device.
fn gather(values: &[f32], like: &Tensor, rows: &[usize]) -> Result<Tensor> {
    let row = like.numel() / like.shape()[0].max(1);
    let mut out = Vec::with_capacity(rows.len() * row);
    for &r in rows {
        out.extend_from_slice(&values[r * row..(r + 1) * row]);
    }
    let mut shape = like.shape().to_vec();
    shape[0] = rows.len();
    Tensor::from_vec(out, &shape, like.device())
}

/// A permutation of `0..n` (Fisher–Yates) drawn from `seed`.
pub(crate) fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

impl Batches for TensorBatches {
    fn epoch(&mut self, epoch: usize) -> Result<BatchIter<'_>> {
        let order = match self.seed {
            Some(s) => permutation(self.len(), s ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            None => (0..self.len()).collect(),
        };
        let this = &*self;
        let chunks: Vec<Vec<usize>> = order.chunks(self.batch_size).map(<[usize]>::to_vec).collect();
        Ok(Box::new(chunks.into_iter().map(move |rows| this.batch(&rows))))
    }
    fn steps(&self) -> Option<usize> {
        Some(self.len().div_ceil(self.batch_size))
    }
}

/// A [`Batches`] source from a closure `epoch → batches` (e.g. over a `tessera_data` dataset).
pub struct FnBatches<F> {
    f: F,
    steps: Option<usize>,
}

impl<F, I> FnBatches<F>
where
    F: FnMut(usize) -> Result<I>,
    I: Iterator<Item = Result<(Tensor, Tensor)>> + 'static,
{
    /// Wraps `f`; `steps` is the number of batches per epoch if known.
    pub fn new(steps: Option<usize>, f: F) -> Self {
        Self { f, steps }
    }
}

impl<F, I> Batches for FnBatches<F>
where
    F: FnMut(usize) -> Result<I>,
    I: Iterator<Item = Result<(Tensor, Tensor)>> + 'static,
{
    fn epoch(&mut self, epoch: usize) -> Result<BatchIter<'_>> {
        Ok(Box::new((self.f)(epoch)?))
    }
    fn steps(&self) -> Option<usize> {
        self.steps
    }
}
