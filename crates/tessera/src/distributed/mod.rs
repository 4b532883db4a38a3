//! Data-parallel training across processes and machines. A [`Communicator`] sums and
//! broadcasts `f32` buffers across the ranks of a job — [`SingleProcess`] (one rank, nothing
//! to send) or, with the `mpi` feature, [`MpiCommunicator`] over Open MPI. [`DataParallel`]
//! keeps a model identical on every rank: it checks the model definitions agree, broadcasts
//! rank 0's weights, and averages gradients with bucketed all-reduces that start while
//! backward is still recording the next bucket. Every wait is bounded: a rank that dies or
//! never arrives turns into an error naming the collective, never a hang.

mod data_parallel;
#[cfg(feature = "mpi")]
mod mpi;

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};

pub use data_parallel::{shard, timeout_secs, DataParallel, StepStats};
#[cfg(feature = "mpi")]
pub use mpi::MpiCommunicator;

/// Produces the buffer a rank contributes to an all-reduce. The communicator calls it on its
/// own thread, in submission order, so a rank can submit a gradient bucket whose readback has
/// not finished yet and keep recording backward.
pub type Contribution = Box<dyn FnOnce() -> Result<Vec<f32>, String> + Send>;

/// The collectives data-parallel training needs, across the ranks `0..size()` of one job.
/// Every rank must issue the same collectives in the same order.
pub trait Communicator: Send + Sync {
    /// This process's rank.
    fn rank(&self) -> usize;
    /// Number of ranks in the job.
    fn size(&self) -> usize;
    /// Starts an element-wise sum over all ranks of the buffer `data` produces; `what` names
    /// it in errors.
    fn all_reduce_start(&self, data: Contribution, what: &str) -> anyhow::Result<PendingReduce>;
    /// Rank `root`'s `data` on every rank (`data` must have the same length everywhere).
    fn broadcast(&self, data: Vec<f32>, root: usize, what: &str) -> anyhow::Result<Vec<f32>>;
    /// Seconds this rank spent inside all-reduce calls so far (the transport's own time).
    fn reduce_seconds(&self) -> f64;

    /// The element-wise sum of `data` over all ranks (blocking, bounded by the timeout).
    fn all_reduce(&self, data: Vec<f32>, what: &str) -> anyhow::Result<Vec<f32>> {
        self.all_reduce_start(Box::new(move || Ok(data)), what)?.wait()
    }
}

/// An all-reduce in flight; [`PendingReduce::wait`] returns its result or a timeout error.
pub struct PendingReduce {
    state: Pending,
    what: String,
    rank: usize,
    deadline: Instant,
}

enum Pending {
    Done(Vec<f32>),
    Waiting(Receiver<Result<Vec<f32>, String>>),
}

impl PendingReduce {
    /// An already finished reduction (a single process has nothing to wait for).
    pub fn ready(data: Vec<f32>) -> Self {
        let state = Pending::Done(data);
        Self { state, what: String::new(), rank: 0, deadline: Instant::now() }
    }

    /// A reduction whose result arrives on `rx` within `timeout`.
    pub fn waiting(rx: Receiver<Result<Vec<f32>, String>>, what: &str, rank: usize, timeout: Duration) -> Self {
        Self { state: Pending::Waiting(rx), what: what.to_string(), rank, deadline: Instant::now() + timeout }
    }

    /// Blocks until the sum arrives, or fails when the deadline passes (a rank died or hangs).
    pub fn wait(self) -> anyhow::Result<Vec<f32>> {
        let rx = match self.state {
            Pending::Done(v) => return Ok(v),
            Pending::Waiting(rx) => rx,
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(r) => r.map_err(|e| anyhow!("rank {}: {} failed: {e}", self.rank, self.what)),
            Err(RecvTimeoutError::Timeout) => Err(timeout_error(self.rank, &self.what)),
            Err(RecvTimeoutError::Disconnected) => {
                bail!("rank {}: {}: the MPI thread has stopped", self.rank, self.what)
            }
        }
    }
}

/// The error every rank reports when a collective does not complete in time.
pub(crate) fn timeout_error(rank: usize, what: &str) -> anyhow::Error {
    anyhow!(
        "rank {rank}: {what} did not complete within the collective timeout: another rank died, \
         hangs or never arrived (see --collective-timeout)"
    )
}

/// One process, no peers: every collective returns its input.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_start(&self, data: Contribution, what: &str) -> anyhow::Result<PendingReduce> {
        Ok(PendingReduce::ready(data().map_err(|e| anyhow!("{what}: {e}"))?))
    }
    fn broadcast(&self, data: Vec<f32>, _root: usize, _what: &str) -> anyhow::Result<Vec<f32>> {
        Ok(data)
    }
    fn reduce_seconds(&self) -> f64 {
        0.0
    }
}
