//! [`DataParallel`]: one model replica per rank, kept identical. Gradients are grouped into
//! buckets (in reverse variable order, the order backward finishes them); as soon as a bucket's
//! gradients are final it is concatenated on the device and handed to the communicator, whose
//! thread reads it back and all-reduces it while backward records the next bucket. Buckets are
//! submitted at the same points of backward on every rank, so the collectives line up.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tessera_nn::layers::Param;
use tessera_nn::replica::{set_replica_group, ReplicaGroup};
use tessera_nn::{ops, Device, Gradients, Tensor};

use super::{Communicator, Contribution, PendingReduce};

/// The rows `[start, end)` of a global batch of `n` examples that `rank` of `size` trains on.
pub fn shard(n: usize, rank: usize, size: usize) -> Range<usize> {
    (n * rank / size)..(n * (rank + 1) / size)
}

/// Where time and bytes went, summed over the steps taken so far.
#[derive(Debug, Clone, Default)]
pub struct StepStats {
    /// Steps taken.
    pub steps: usize,
    /// Gradient bytes each rank contributes to the all-reduces of one step.
    pub bytes_per_step: usize,
    /// Buckets per step.
    pub buckets: usize,
    /// Seconds in backward (recording it and submitting buckets).
    pub backward_seconds: f64,
    /// Seconds spent waiting, after backward, for readbacks and all-reduces to finish (this
    /// includes the device finishing backward).
    pub wait_seconds: f64,
}

/// A gradient bucket: indices into the trainable variables, and its element count.
struct Bucket {
    vars: Vec<usize>,
    numel: usize,
}

/// What one step has in flight.
struct StepState {
    grads: Vec<Option<Tensor>>,
    filled: Vec<usize>,
    reducing: Vec<(usize, PendingReduce)>,
}

/// Keeps a model's replicas identical across ranks and averages their gradients. While it
/// exists, its communicator is this thread's replica group, so BatchNormalization layers built
/// with `synchronized(true)` normalize with the global batch's statistics.
pub struct DataParallel {
    comm: Arc<dyn Communicator>,
    vars: Vec<Param>,
    trainable: Vec<Param>,
    buckets: Vec<Bucket>,
    bucket_of: Vec<usize>,
    stats: StepStats,
}

impl DataParallel {
    /// Wraps the variables of a built model (`model.variables()`): checks that every rank
    /// defines the same variables (count, names and shapes), then copies rank 0's values to
    /// every rank. Buckets default to 1 MiB of gradients.
    pub fn new(comm: Arc<dyn Communicator>, vars: Vec<Param>) -> anyhow::Result<Self> {
        check_same_model(comm.as_ref(), &vars)?;
        broadcast_values(comm.as_ref(), &vars, 0)?;
        set_replica_group(Some(Arc::new(CommGroup(comm.clone()))));
        let trainable: Vec<Param> = vars.iter().filter(|v| v.trainable()).cloned().collect();
        let mut dp =
            Self { comm, vars, trainable, buckets: Vec::new(), bucket_of: Vec::new(), stats: StepStats::default() };
        dp.set_bucket_bytes(1 << 20);
        Ok(dp)
    }

    /// Regroups the gradients into buckets of about `bytes` (at least one variable each).
    pub fn set_bucket_bytes(&mut self, bytes: usize) {
        self.buckets.clear();
        self.bucket_of = vec![0; self.trainable.len()];
        for i in (0..self.trainable.len()).rev() {
            let n = self.trainable[i].numel();
            match self.buckets.last_mut() {
                Some(b) if (b.numel + n) * 4 <= bytes.max(4) => {
                    b.vars.push(i);
                    b.numel += n;
                }
                _ => self.buckets.push(Bucket { vars: vec![i], numel: n }),
            }
            self.bucket_of[i] = self.buckets.len() - 1;
        }
        self.stats.buckets = self.buckets.len();
        self.stats.bytes_per_step = self.buckets.iter().map(|b| b.numel * 4).sum();
    }

    /// The communicator.
    pub fn comm(&self) -> &Arc<dyn Communicator> {
        &self.comm
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// Time and bytes so far.
    pub fn stats(&self) -> &StepStats {
        &self.stats
    }

    /// Zeroes the step count and times (after warm-up steps).
    pub fn reset_stats(&mut self) {
        self.stats =
            StepStats { bytes_per_step: self.stats.bytes_per_step, buckets: self.stats.buckets, ..Default::default() };
    }

    /// Backward of this rank's `loss` scaled by `weight`, returning the gradients summed over
    /// ranks — pass `local_batch / global_batch`, so the result is the gradient of the global
    /// batch's mean loss, identical on every rank.
    pub fn backward(&mut self, loss: &Tensor, weight: f32) -> anyhow::Result<Gradients> {
        let start = Instant::now();
        let index: HashMap<u64, usize> = self.trainable.iter().enumerate().map(|(i, p)| (p.value().id(), i)).collect();
        let mut st = StepState {
            grads: vec![None; self.trainable.len()],
            filled: vec![0; self.buckets.len()],
            reducing: Vec::new(),
        };
        let mut failure: Option<anyhow::Error> = None;
        let scaled = if weight == 1.0 { loss.clone() } else { ops::affine(loss, weight, 0.0)? };
        scaled.backward_with_hook(&mut |var, g| {
            let Some(&i) = index.get(&var.id()) else { return Ok(()) };
            st.grads[i] = Some(g.clone());
            let b = self.bucket_of[i];
            st.filled[b] += 1;
            if st.filled[b] == self.buckets[b].vars.len() {
                if let Err(e) = self.submit(b, &mut st) {
                    failure.get_or_insert(e);
                }
            }
            Ok(())
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        let dev = loss.device().clone();
        self.finish_buckets(&mut st, &dev)?;
        let backward_done = Instant::now();
        let grads = self.collect(st, &dev)?;
        self.stats.steps += 1;
        self.stats.backward_seconds += (backward_done - start).as_secs_f64();
        self.stats.wait_seconds += backward_done.elapsed().as_secs_f64();
        Ok(grads)
    }

    /// Concatenates bucket `b`'s gradients on the device and submits their all-reduce; the
    /// communicator reads them back when it gets to them.
    fn submit(&self, b: usize, st: &mut StepState) -> anyhow::Result<()> {
        let flat: Vec<Tensor> = self.buckets[b]
            .vars
            .iter()
            .map(|&i| st.grads[i].as_ref().expect("a filled bucket has every gradient").reshape(&[usize::MAX]))
            .collect::<tessera_nn::Result<_>>()?;
        let t = if flat.len() == 1 { flat[0].clone() } else { ops::concat(&flat.iter().collect::<Vec<_>>(), 0)? };
        if let Some(gpu) = t.device().as_gpu() {
            gpu.flush()?; // the device starts on this bucket's backward now
        }
        let what = format!("all-reduce of gradient bucket {b}");
        let read: Contribution = match on_gl(&t) {
            // One thread touches a GL device: its context is one lock that wgpu gives up on
            // (panicking) after a second, and the training thread may hold it longer (a shader
            // compile, a large submit). So the bucket is read here, without the overlap.
            true => {
                let data = t.to_vec().map_err(|e| e.to_string());
                Box::new(move || data)
            }
            false => Box::new(move || read_polling(&t)),
        };
        st.reducing.push((b, self.comm.all_reduce_start(read, &what)?));
        Ok(())
    }

    /// Buckets whose variables got no gradient this step (unused by the loss) contribute zeros.
    fn finish_buckets(&self, st: &mut StepState, dev: &Device) -> anyhow::Result<()> {
        for b in 0..self.buckets.len() {
            if st.filled[b] == self.buckets[b].vars.len() {
                continue;
            }
            for &i in &self.buckets[b].vars {
                if st.grads[i].is_none() {
                    st.grads[i] = Some(Tensor::zeros(&self.trainable[i].shape(), dev)?);
                }
            }
            st.filled[b] = self.buckets[b].vars.len();
            self.submit(b, st)?;
        }
        Ok(())
    }

    /// Waits for every all-reduce and rebuilds the summed gradients on `dev`.
    fn collect(&self, st: StepState, dev: &Device) -> anyhow::Result<Gradients> {
        let mut out = Gradients::default();
        for (b, pending) in st.reducing {
            let sum = pending.wait()?;
            let mut off = 0;
            for &i in &self.buckets[b].vars {
                let var = &self.trainable[i];
                let shape = var.shape();
                let n = var.numel();
                out.insert(&var.value(), Tensor::from_slice(&sum[off..off + n], &shape, dev)?);
                off += n;
            }
        }
        Ok(out)
    }

    /// Sums `values` over ranks (metrics: correct predictions, loss sums).
    pub fn all_reduce(&self, values: Vec<f32>, what: &str) -> anyhow::Result<Vec<f32>> {
        self.comm.all_reduce(values, what)
    }

    /// Replaces every non-trainable variable (BatchNorm moving statistics, kept per replica
    /// while training) with its mean over ranks — before evaluating or saving a checkpoint.
    pub fn average_non_trainable(&self) -> anyhow::Result<()> {
        let vars: Vec<Param> = self.vars.iter().filter(|v| !v.trainable()).cloned().collect();
        if vars.is_empty() || self.size() == 1 {
            return Ok(());
        }
        let flat = flatten_values(&vars)?;
        let inv = 1.0 / self.size() as f32;
        let mean: Vec<f32> =
            self.comm.all_reduce(flat, "averaging non-trainable variables")?.iter().map(|v| v * inv).collect();
        assign_flat(&vars, &mean)
    }
}

/// Whether `t` lives on a device of wgpu's GL backend (see [`DataParallel::submit`]).
fn on_gl(t: &Tensor) -> bool {
    t.device().as_gpu().is_some_and(|g| g.info().backend == tessera_device::wgpu::Backend::Gl)
}

/// Reads `t` back by polling the device without a blocking wait (a blocking wait on the
/// communicator's thread would hold the device and stall the training thread's recording).
fn read_polling(t: &Tensor) -> Result<Vec<f32>, String> {
    let mut fut = std::pin::pin!(t.to_vec_async());
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => return r.map_err(|e| e.to_string()),
            Poll::Pending => std::thread::sleep(Duration::from_micros(100)),
        }
    }
}

/// Every variable's values, concatenated in order.
fn flatten_values(vars: &[Param]) -> anyhow::Result<Vec<f32>> {
    let mut flat = Vec::with_capacity(vars.iter().map(Param::numel).sum());
    for v in vars {
        flat.extend(v.value().to_vec()?);
    }
    Ok(flat)
}

/// Assigns consecutive slices of `flat` to `vars`, on each variable's device.
fn assign_flat(vars: &[Param], flat: &[f32]) -> anyhow::Result<()> {
    let mut off = 0;
    for v in vars {
        let (shape, n) = (v.shape(), v.numel());
        let dev = v.value().device().clone();
        v.assign(Tensor::from_slice(&flat[off..off + n], &shape, &dev)?)?;
        off += n;
    }
    Ok(())
}

/// Copies rank `root`'s variable values to every rank.
fn broadcast_values(comm: &dyn Communicator, vars: &[Param], root: usize) -> anyhow::Result<()> {
    let flat = comm.broadcast(flatten_values(vars)?, root, "broadcast of the initial weights")?;
    assign_flat(vars, &flat)
}

/// FNV-1a over the variables' names and shapes, and their total element count.
fn model_signature(vars: &[Param]) -> (u64, u64) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for v in vars {
        eat(v.name().as_bytes());
        eat(&[0, v.trainable() as u8]);
        for d in v.shape() {
            eat(&(d as u64).to_le_bytes());
        }
    }
    (vars.iter().map(Param::numel).sum::<usize>() as u64, h)
}

/// `u64`s as 16-bit pieces, each exact in an `f32`.
fn to_f32_pieces(xs: &[u64]) -> Vec<f32> {
    xs.iter().flat_map(|&x| (0..4).map(move |k| ((x >> (16 * k)) & 0xffff) as f32)).collect()
}

/// Fails on every rank when any rank's variables differ from rank 0's (count, names, shapes).
fn check_same_model(comm: &dyn Communicator, vars: &[Param]) -> anyhow::Result<()> {
    let (count, hash) = model_signature(vars);
    let mine = to_f32_pieces(&[count, hash]);
    let root = comm.broadcast(mine.clone(), 0, "model check (broadcast of rank 0's signature)")?;
    let differs = (root != mine) as u8 as f32;
    let reason = (differs > 0.0).then(|| {
        let root_count = root[..4].iter().enumerate().map(|(k, &p)| (p as u64) << (16 * k)).sum::<u64>();
        format!(
            "rank {}: the model differs from rank 0's: {count} parameters with shapes checksum {hash:016x} here, \
             {root_count} parameters on rank 0 — every rank must build the same model",
            comm.rank()
        )
    });
    // Said before the all-reduce: once it returns, the other ranks fail and exit, and mpirun
    // ends the job at the first exit, possibly before this rank's error reaches its stderr.
    // The error this rank returns then points at it rather than repeating it.
    if let Some(r) = &reason {
        eprintln!("error: {r}");
    }
    let bad = comm.all_reduce(vec![differs], "model check (all-reduce)")?[0];
    if reason.is_some() {
        bail!("rank {}: stopped: its model differs from rank 0's (above)", comm.rank());
    }
    if bad > 0.0 {
        bail!("rank {}: {bad} rank(s) built a model that differs from rank 0's ({count} parameters here)", comm.rank());
    }
    Ok(())
}

/// The communicator as the replica group synchronized BatchNormalization sums its statistics with.
struct CommGroup(Arc<dyn Communicator>);

impl ReplicaGroup for CommGroup {
    fn all_reduce_sum(&self, data: Vec<f32>) -> tessera_nn::Result<Vec<f32>> {
        let what = "cross-replica sum (synchronized BatchNormalization)";
        self.0.all_reduce(data, what).map_err(|e| tessera_nn::Error::Collective(format!("{e:#}")))
    }
}

impl Drop for DataParallel {
    /// Uninstalls the replica group, so layers built later train on their local batch.
    fn drop(&mut self) {
        set_replica_group(None);
    }
}

impl std::fmt::Debug for DataParallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataParallel(rank {} of {}, {} buckets)", self.rank(), self.size(), self.buckets.len())
    }
}

/// Builds the collective-timeout `Duration` from seconds, refusing 0.
pub fn timeout_secs(s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .context("the collective timeout must be a positive number of seconds")
}
