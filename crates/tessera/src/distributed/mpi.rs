//! [`MpiCommunicator`]: the [`Communicator`] over MPI (Open MPI through the `mpi` crate). One
//! thread initializes MPI and makes every MPI call (MPI's "funneled" threading); it also waits
//! for each bucket's GPU readback, so the training thread keeps recording backward while
//! buckets are read back and reduced, and waits on results with a deadline instead of
//! blocking inside MPI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use mpi::collective::SystemOperation;
use mpi::traits::{Communicator as _, *};

use super::{timeout_error, Communicator, Contribution, PendingReduce};

type Reply = Sender<Result<Vec<f32>, String>>;

/// Work for the MPI thread.
enum Job {
    AllReduce(Contribution, Reply),
    Broadcast(Vec<f32>, usize, Reply),
}

/// The ranks of `mpirun -np N` (MPI_COMM_WORLD); each collective waits at most `timeout`.
pub struct MpiCommunicator {
    jobs: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    rank: usize,
    size: usize,
    timeout: Duration,
    reduce_nanos: Arc<AtomicU64>,
}

impl MpiCommunicator {
    /// Initializes MPI on a dedicated thread. Started without `mpirun`, the job has one rank.
    pub fn init(timeout: Duration) -> anyhow::Result<Self> {
        let (jobs, rx) = channel();
        let (hello_tx, hello) = channel();
        let reduce_nanos = Arc::new(AtomicU64::new(0));
        let nanos = reduce_nanos.clone();
        let thread = std::thread::Builder::new()
            .name("tessera-mpi".into())
            .spawn(move || serve(rx, hello_tx, nanos))
            .context("starting the MPI thread")?;
        let (rank, size) = hello
            .recv_timeout(timeout)
            .map_err(|_| anyhow!("MPI did not initialize within {timeout:?}"))?
            .map_err(|e| anyhow!(e))?;
        let (jobs, thread) = (Mutex::new(Some(jobs)), Mutex::new(Some(thread)));
        Ok(Self { jobs, thread, rank, size, timeout, reduce_nanos })
    }

    /// Sends `job` to the MPI thread.
    fn submit(&self, job: Job, what: &str) -> anyhow::Result<()> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        match jobs.as_ref() {
            Some(tx) if tx.send(job).is_ok() => Ok(()),
            _ => bail!("rank {}: {what}: the MPI thread has stopped", self.rank),
        }
    }
}

/// The MPI thread: initializes MPI, reports (rank, size), then runs collectives in order.
fn serve(rx: Receiver<Job>, hello: Sender<Result<(usize, usize), String>>, nanos: Arc<AtomicU64>) {
    let Some((universe, _threading)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
        let _ = hello.send(Err("MPI was already initialized in this process".into()));
        return;
    };
    let world = universe.world();
    let _ = hello.send(Ok((world.rank() as usize, world.size() as usize)));
    for job in rx {
        match job {
            Job::AllReduce(data, reply) => {
                // A rank whose contribution fails skips the collective and reports the error;
                // its peers' deadlines end the job.
                let data = match data() {
                    Ok(d) => d,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        continue;
                    }
                };
                let start = Instant::now();
                let mut out = vec![0.0f32; data.len()];
                world.all_reduce_into(&data[..], &mut out[..], SystemOperation::sum());
                nanos.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                let _ = reply.send(Ok(out));
            }
            Job::Broadcast(mut data, root, reply) => {
                world.process_at_rank(root as i32).broadcast_into(&mut data[..]);
                let _ = reply.send(Ok(data));
            }
        }
    }
    // All senders dropped: every collective finished, so MPI_Finalize (dropping the
    // universe) cannot wait on a peer that is gone.
}

impl Communicator for MpiCommunicator {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_start(&self, data: Contribution, what: &str) -> anyhow::Result<PendingReduce> {
        let (tx, rx) = channel();
        self.submit(Job::AllReduce(data, tx), what)?;
        Ok(PendingReduce::waiting(rx, what, self.rank, self.timeout))
    }
    fn broadcast(&self, data: Vec<f32>, root: usize, what: &str) -> anyhow::Result<Vec<f32>> {
        if root >= self.size {
            bail!("rank {}: {what}: root {root} is not a rank of a job of {} ranks", self.rank, self.size);
        }
        let (tx, rx) = channel();
        self.submit(Job::Broadcast(data, root, tx), what)?;
        match rx.recv_timeout(self.timeout) {
            Ok(r) => r.map_err(|e| anyhow!("rank {}: {what} failed: {e}", self.rank)),
            Err(_) => Err(timeout_error(self.rank, what)),
        }
    }
    fn reduce_seconds(&self) -> f64 {
        self.reduce_nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }
}

impl Drop for MpiCommunicator {
    /// Stops the MPI thread and finalizes MPI — unless a collective is still stuck (a timed-out
    /// peer), in which case the thread is left behind and the process exits without waiting.
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}
