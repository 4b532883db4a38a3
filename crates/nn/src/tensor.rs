//! `Tensor`: an immutable f32 array with a shape, on a [`Device`]. Activations are NHWC.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tessera_device::GpuBuffer;

use crate::autodiff::GradNode;
use crate::random::Rng;
use crate::{shape_err, Device, Error, Result};
use tessera_kernels::checked_numel;

/// Where a tensor's numbers are. A GPU buffer uploaded from host data carries what the host
/// saw of them ([`HostFacts`]), so a sparse loss can check its labels, and a loss see that its
/// upstream gradient is the seed of ones, without a readback.
pub(crate) enum Storage {
    Cpu(Vec<f32>),
    Gpu(GpuBuffer, HostFacts),
}

/// What the host data a GPU buffer was uploaded from (or the tensor it was sliced out of)
/// showed; `None` fields are unknown.
#[derive(Clone, Copy, Default)]
pub(crate) struct HostFacts {
    /// `Some(b)`: every value is an integer class id in `[0, b)`.
    pub class_bound: ClassBound,
    /// `Some(v)`: every value is `v` (a gradient seed of ones, a `full` tensor).
    pub uniform: Option<f32>,
}

/// `Some(b)`: every value is an integer class id in `[0, b)`; `None`: unknown.
pub(crate) type ClassBound = Option<usize>;

/// Host data up to this many values are scanned for their [`HostFacts`] when uploaded (a
/// batch's labels, a seed; larger uploads are not worth scanning).
const CLASS_SCAN_MAX: usize = 1 << 20;

/// The [`HostFacts`] of host data (none past [`CLASS_SCAN_MAX`] values).
fn host_facts(data: &[f32]) -> HostFacts {
    if data.len() > CLASS_SCAN_MAX {
        return HostFacts::default();
    }
    let first = data.first().copied();
    let uniform = first.filter(|f| data.iter().all(|v| v.to_bits() == f.to_bits()));
    HostFacts { class_bound: class_bound(data), uniform }
}

/// The [`ClassBound`] of host data.
fn class_bound(data: &[f32]) -> ClassBound {
    let mut max = -1.0f32;
    for &v in data {
        if !(v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f32) {
            return None;
        }
        max = max.max(v);
    }
    Some((max + 1.0) as usize)
}

/// An immutable, cheaply clonable f32 tensor. Clones share data and identity.
#[derive(Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    storage: Arc<Storage>,
    device: Device,
    id: u64,
    variable: bool,
    node: Option<Arc<GradNode>>,
}

/// A fresh tensor identity.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Tensor {
    /// A tensor from `data` laid out row-major in `shape`.
    pub fn from_vec(data: Vec<f32>, shape: &[usize], device: &Device) -> Result<Self> {
        let n = checked_numel("from_vec", shape)?;
        if data.len() != n {
            return Err(shape_err(
                "from_vec",
                format!("{} values cannot fill shape {shape:?} ({n} elements)", data.len()),
            ));
        }
        let storage = match device {
            Device::Cpu => Storage::Cpu(data),
            Device::Gpu(g) => Storage::Gpu(g.upload(bytemuck::cast_slice(&data))?, host_facts(&data)),
        };
        Ok(Self::new(shape.to_vec(), Arc::new(storage), device.clone()))
    }

    /// A tensor copied from a slice.
    pub fn from_slice(data: &[f32], shape: &[usize], device: &Device) -> Result<Self> {
        Self::from_vec(data.to_vec(), shape, device)
    }

    /// A tensor filled with `value`. On the GPU, small tensors (a loss's seed gradient, a
    /// bias's initial zeros) are uploaded — a recorded copy — rather than filled by a dispatch.
    pub fn full(value: f32, shape: &[usize], device: &Device) -> Result<Self> {
        const UPLOAD_MAX: usize = 1024;
        let n = checked_numel("full", shape)?;
        match device {
            Device::Cpu => Self::from_vec(vec![value; n], shape, device),
            Device::Gpu(_) if n <= UPLOAD_MAX => Self::from_vec(vec![value; n], shape, device),
            Device::Gpu(g) => {
                let buf = tessera_kernels::elementwise::fill(g, value, n)?;
                Ok(Self::from_gpu(buf, shape.to_vec(), device))
            }
        }
    }

    /// All zeros.
    pub fn zeros(shape: &[usize], device: &Device) -> Result<Self> {
        Self::full(0.0, shape, device)
    }

    /// All ones.
    pub fn ones(shape: &[usize], device: &Device) -> Result<Self> {
        Self::full(1.0, shape, device)
    }

    /// Normal samples with `mean` and `std`, reproducible from `seed`.
    pub fn randn(shape: &[usize], mean: f32, std: f32, seed: u64, device: &Device) -> Result<Self> {
        let n = checked_numel("randn", shape)?;
        let mut rng = Rng::new(seed);
        let data = (0..n).map(|_| mean + std * rng.normal() as f32).collect();
        Self::from_vec(data, shape, device)
    }

    /// Uniform samples in `[lo, hi)`, reproducible from `seed`.
    pub fn rand_uniform(shape: &[usize], lo: f32, hi: f32, seed: u64, device: &Device) -> Result<Self> {
        let n = checked_numel("rand_uniform", shape)?;
        let mut rng = Rng::new(seed);
        let data = (0..n).map(|_| lo + (hi - lo) * rng.uniform() as f32).collect();
        Self::from_vec(data, shape, device)
    }

    fn new(shape: Vec<usize>, storage: Arc<Storage>, device: Device) -> Self {
        Self { shape, storage, device, id: next_id(), variable: false, node: None }
    }

    pub(crate) fn from_cpu(data: Vec<f32>, shape: Vec<usize>) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self::new(shape, Arc::new(Storage::Cpu(data)), Device::Cpu)
    }

    pub(crate) fn from_gpu(buf: GpuBuffer, shape: Vec<usize>, device: &Device) -> Self {
        Self::new(shape, Arc::new(Storage::Gpu(buf, HostFacts::default())), device.clone())
    }

    /// [`Tensor::from_gpu`] for a buffer holding some of `src`'s values (a slice of it): it
    /// keeps `src`'s [`HostFacts`].
    pub(crate) fn from_gpu_part(buf: GpuBuffer, shape: Vec<usize>, src: &Tensor) -> Self {
        Self::new(shape, Arc::new(Storage::Gpu(buf, src.host_facts())), src.device.clone())
    }

    /// What the upload of a GPU tensor saw of its values; nothing for CPU tensors (their
    /// values are at hand).
    fn host_facts(&self) -> HostFacts {
        match &*self.storage {
            Storage::Cpu(_) => HostFacts::default(),
            Storage::Gpu(_, facts) => *facts,
        }
    }

    /// What the upload of a GPU tensor saw of its values as class ids: `Some(b)` when all are
    /// integers in `[0, b)`; `None` for CPU tensors and unknown ones.
    pub(crate) fn class_bound(&self) -> ClassBound {
        self.host_facts().class_bound
    }

    /// `Some(v)` when the upload of a GPU tensor saw every value equal to `v` (the gradient
    /// seed of ones); `None` for CPU tensors and unknown ones.
    pub(crate) fn uniform_value(&self) -> Option<f32> {
        self.host_facts().uniform
    }

    /// This tensor as a trainable variable: gradients flow to it in [`Tensor::backward`].
    pub fn variable(self) -> Self {
        Self { variable: true, node: None, id: next_id(), ..self }
    }

    /// The same values with no gradient history and no variable mark.
    pub fn detach(&self) -> Self {
        Self::new(self.shape.clone(), self.storage.clone(), self.device.clone())
    }

    /// True for tensors made with [`Tensor::variable`].
    pub fn is_variable(&self) -> bool {
        self.variable
    }

    /// True when gradients flow through this tensor (a variable or a result computed from one).
    pub fn requires_grad(&self) -> bool {
        self.variable || self.node.is_some()
    }

    /// The tensor's identity (shared by clones; new for every op result).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn node(&self) -> Option<&Arc<GradNode>> {
        self.node.as_ref()
    }

    pub(crate) fn with_node(self, node: Arc<GradNode>) -> Self {
        Self { node: Some(node), ..self }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The device the tensor lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The values, row-major (blocks on native until the GPU is done).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match &*self.storage {
            Storage::Cpu(v) => Ok(v.clone()),
            Storage::Gpu(b, _) => {
                let bytes = b.gpu().read(b, (self.numel() * 4) as u64)?;
                Ok(bytemuck::pod_collect_to_vec(&bytes))
            }
        }
    }

    /// The values, row-major, without blocking the thread (the browser's way). The copy is
    /// submitted when this is called, not when the future is first polled, so GPU work recorded
    /// afterwards (a step's backward after its loss) runs while the read is under way and does
    /// not delay it.
    pub fn to_vec_async(&self) -> impl std::future::Future<Output = Result<Vec<f32>>> + 'static {
        let started = match &*self.storage {
            Storage::Cpu(v) => Err(v.clone()),
            Storage::Gpu(b, _) => Ok(b.gpu().read_async(b, (self.numel() * 4) as u64)),
        };
        async move {
            match started {
                Err(values) => Ok(values),
                Ok(read) => Ok(bytemuck::pod_collect_to_vec(&read.await?)),
            }
        }
    }

    /// The single value of a one-element tensor.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(shape_err(
                "item",
                format!("tensor of shape {:?} has {} elements, not 1", self.shape, self.numel()),
            ));
        }
        Ok(self.to_vec()?[0])
    }

    /// A copy on `device` (a cheap clone when already there). Reading a GPU tensor back blocks,
    /// so in the browser only CPU tensors move this way; use [`Tensor::to_device_async`] there.
    pub fn to_device(&self, device: &Device) -> Result<Self> {
        if self.device.same(device) {
            return Ok(self.clone());
        }
        match &*self.storage {
            Storage::Cpu(v) => Self::from_slice(v, &self.shape, device),
            #[cfg(not(target_arch = "wasm32"))]
            Storage::Gpu(..) => Self::from_vec(self.to_vec()?, &self.shape, device),
            #[cfg(target_arch = "wasm32")]
            Storage::Gpu(..) => {
                Err(shape_err("to_device", "a GPU tensor must be read with to_device_async in the browser"))
            }
        }
    }

    /// A copy on `device`, reading GPU data back without blocking.
    pub async fn to_device_async(&self, device: &Device) -> Result<Self> {
        if self.device.same(device) {
            return Ok(self.clone());
        }
        Self::from_vec(self.to_vec_async().await?, &self.shape, device)
    }

    /// The same data viewed with another shape of equal size; one dimension may be `usize::MAX`
    /// (TensorFlow's -1) to be inferred.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        let shape = infer_shape(&self.shape, shape)?;
        let out = Self::new(shape, self.storage.clone(), self.device.clone());
        let from = self.shape.clone();
        Ok(crate::autodiff::record(out, "reshape", &[self], move |g| Ok(vec![Some(g.reshape(&from)?)])))
    }

    /// `[n, ...]` → `[n, rest]` (Keras `Flatten`).
    pub fn flatten(&self) -> Result<Self> {
        match self.shape.first() {
            Some(&n) => self.reshape(&[n, self.shape[1..].iter().product()]),
            None => Err(shape_err("flatten", "cannot flatten a scalar (shape [])")),
        }
    }

    /// The CPU values (only for tensors on the CPU).
    pub(crate) fn cpu_data(&self) -> &[f32] {
        match &*self.storage {
            Storage::Cpu(v) => v,
            Storage::Gpu(..) => unreachable!("cpu_data on a GPU tensor: ops dispatch on the device first"),
        }
    }

    /// The GPU buffer (only for tensors on a GPU).
    pub(crate) fn gpu_buf(&self) -> &GpuBuffer {
        match &*self.storage {
            Storage::Gpu(b, _) => b,
            Storage::Cpu(_) => unreachable!("gpu_buf on a CPU tensor: ops dispatch on the device first"),
        }
    }
}

/// Resolves one `usize::MAX` (−1) dimension and checks the element count.
fn infer_shape(from: &[usize], to: &[usize]) -> Result<Vec<usize>> {
    let n: usize = from.iter().product();
    let unknown = to.iter().filter(|&&d| d == usize::MAX).count();
    let known_dims: Vec<usize> = to.iter().copied().filter(|&d| d != usize::MAX).collect();
    let known = checked_numel("reshape", &known_dims)?;
    let bad = || shape_err("reshape", format!("cannot reshape {from:?} ({n} elements) to {to:?}"));
    match unknown {
        0 if known == n => Ok(to.to_vec()),
        1 if known > 0 && n.is_multiple_of(known) => {
            Ok(to.iter().map(|&d| if d == usize::MAX { n / known } else { d }).collect())
        }
        _ => Err(bad()),
    }
}

/// The device all `tensors` share, or an error naming the two that differ.
pub(crate) fn common_device(op: &'static str, tensors: &[&Tensor]) -> Result<Device> {
    let first = tensors[0].device();
    for t in &tensors[1..] {
        if !t.device().same(first) {
            return Err(Error::DeviceMismatch { op, a: first.to_string(), b: t.device().to_string() });
        }
    }
    Ok(first.clone())
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor(shape={:?}, device={})", self.shape, self.device)
    }
}
