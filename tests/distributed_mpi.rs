//! Data-parallel training on MPI, end to end (`--features mpi`; needs Open MPI's `mpirun`).
//! This test binary is its own launcher: without arguments it starts each scenario under
//! `mpirun --oversubscribe --allow-run-as-root -np 2` (running this same binary as the ranks)
//! and checks how the job ended; with `--rank <scenario> <dir>` it is one rank of that job.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::checkpoint;
use tessera::distributed::{shard, Communicator, DataParallel, MpiCommunicator};
use tessera::prelude::*;
use tessera::train::{train_step, train_step_distributed};

const GLOBAL_BATCH: usize = 64;
const STEPS: usize = 5;
/// Collective timeout of the failure scenarios; the launcher allows this plus start-up.
const FAIL_TIMEOUT_S: u64 = 10;
/// The longest any one job may run before the launcher kills it and fails.
const JOB_LIMIT: Duration = Duration::from_secs(240);

/// Global batch `step`: random images and labels, the same on every rank.
fn batch(step: usize) -> (Vec<f32>, Vec<f32>) {
    let x = common::rand_vec(GLOBAL_BATCH * 28 * 28, 1000 + step as u64);
    let y = (0..GLOBAL_BATCH).map(|i| ((i * 7 + step * 3) % 10) as f32).collect();
    (x, y)
}

/// Rows `rows` of batch `step` as tensors on `dev`.
fn tensors(step: usize, rows: std::ops::Range<usize>, dev: &Device) -> (Tensor, Tensor) {
    let (x, y) = batch(step);
    let per = 28 * 28;
    let xs = Tensor::from_slice(&x[rows.start * per..rows.end * per], &[rows.len(), 28, 28, 1], dev).unwrap();
    let n = rows.len();
    (xs, Tensor::from_slice(&y[rows], &[n], dev).unwrap())
}

/// LeNet-5 built on `dev` from `seed`.
fn lenet(dev: &Device, seed: u64) -> Sequential {
    net("lenet", dev, seed)
}

/// `lenet`: LeNet-5; `bn`: a conv net with a synchronized BatchNormalization.
fn net(kind: &str, dev: &Device, seed: u64) -> Sequential {
    let mut m = match kind {
        "lenet" => tessera::zoo::lenet5(),
        _ => Sequential::new()
            .with(layers::Conv2D::new(4, 3).use_bias(false)) // a bias before BN has no gradient
            .with(layers::BatchNormalization::new().synchronized(true))
            .with(layers::ReLU::new())
            .with(layers::MaxPool2D::new(2))
            .with(layers::Flatten::new())
            .with(layers::Dense::new(10)),
    };
    m.build(&[28, 28, 1], dev, seed).unwrap();
    m
}

fn sgd() -> Sgd {
    Sgd::new(0.05).momentum(0.9)
}

/// One process, global batch 64, `STEPS` steps: the run every data-parallel run must equal.
fn reference(kind: &str, dev: &Device) -> Sequential {
    let m = net(kind, dev, 100);
    let mut opt = sgd();
    for step in 0..STEPS {
        let (x, y) = tensors(step, 0..GLOBAL_BATCH, dev);
        train_step(&m, &mut opt, &x, &y).unwrap();
    }
    m
}

/// Asserts every variable of `got` equals `want`'s to 1e-5.
fn assert_same_weights(got: &[tessera::layers::Param], want: &Sequential, what: &str) {
    for (g, w) in got.iter().zip(want.variables()) {
        assert_eq!(g.name(), w.name(), "{what}: variable order");
        let (gv, wv) = (g.value().to_vec().unwrap(), w.value().to_vec().unwrap());
        common::assert_close_vec(&gv, &wv, 1e-5, &format!("{what}: {}", g.name()));
    }
}

// ---------------------------------------------------------------- ranks

/// One rank of scenario `name`; `dir` is shared by the ranks and the launcher.
fn rank_main(name: &str, dir: &Path) -> Result<(), String> {
    let timeout = if name == "train" || name == "syncbn" { 120 } else { FAIL_TIMEOUT_S };
    let comm: Arc<dyn Communicator> =
        Arc::new(MpiCommunicator::init(Duration::from_secs(timeout)).map_err(|e| format!("{e:#}"))?);
    let res = match name {
        "train" => rank_train(comm.clone(), dir, "lenet"),
        "syncbn" => rank_train(comm.clone(), dir, "bn"),
        "dies" | "hangs" => rank_fails(comm.clone(), name),
        "mismatch" => rank_mismatch(comm.clone()),
        other => Err(format!("unknown scenario {other}")),
    };
    res.map_err(|e| format!("rank {}: {e}", comm.rank()))
}

/// Two ranks, global batch 64 split 32/32, equal the one-process run (for `bn`, BatchNorm
/// statistics synchronized across ranks, moving statistics included); rank 0 saves a checkpoint.
fn rank_train(comm: Arc<dyn Communicator>, dir: &Path, kind: &str) -> Result<(), String> {
    let dev = common::gpu();
    let (rank, size) = (comm.rank(), comm.size());
    assert_eq!(size, 2, "run with mpirun -np 2");
    let want = reference(kind, &dev); // before DataParallel installs the replica group
                                      // Each rank initializes differently: DataParallel must make rank 0's weights everyone's.
    let m = net(kind, &dev, 100 + 17 * rank as u64);
    let mut dp = DataParallel::new(comm, m.variables()).map_err(|e| format!("{e:#}"))?;
    dp.set_bucket_bytes(16 * 1024);
    let mut opt = sgd();
    for step in 0..STEPS {
        let (x, y) = tensors(step, shard(GLOBAL_BATCH, rank, size), &dev);
        train_step_distributed(&m, &mut opt, &mut dp, &x, &y, GLOBAL_BATCH).map_err(|e| format!("{e:#}"))?;
    }
    assert_same_weights(&m.variables(), &want, &format!("{kind}: rank {rank} after {STEPS} steps"));
    if kind == "lenet" {
        assert!(dp.stats().buckets > 2, "16 KiB buckets split LeNet-5's gradients: {:?}", dp.stats());
        assert_eq!(dp.stats().bytes_per_step, 60_074 * 4);
    }
    if rank == 0 {
        checkpoint::save(&dir.join("dp.safetensors"), &m.variables(), Some(&opt), &[]).map_err(|e| e.to_string())?;
    }
    dp.all_reduce(vec![1.0], "end-of-test barrier").map_err(|e| format!("{e:#}"))?;
    Ok(())
}

/// Rank 1 is killed (`dies`) or stops answering (`hangs`) at step 2; rank 0 must not hang.
fn rank_fails(comm: Arc<dyn Communicator>, how: &str) -> Result<(), String> {
    let dev = common::gpu();
    let (rank, size) = (comm.rank(), comm.size());
    let m = lenet(&dev, 100);
    let mut dp = DataParallel::new(comm, m.variables()).map_err(|e| format!("{e:#}"))?;
    let mut opt = sgd();
    for step in 0..STEPS {
        if rank == 1 && step == 2 {
            if how == "dies" {
                let pid = std::process::id().to_string();
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
            std::thread::sleep(Duration::from_secs(600));
        }
        let (x, y) = tensors(step, shard(GLOBAL_BATCH, rank, size), &dev);
        train_step_distributed(&m, &mut opt, &mut dp, &x, &y, GLOBAL_BATCH).map_err(|e| format!("{e:#}"))?;
    }
    Err("trained past the failed rank".into())
}

/// Rank 1 builds another model: every rank must refuse to start.
fn rank_mismatch(comm: Arc<dyn Communicator>) -> Result<(), String> {
    let mut m = if comm.rank() == 0 { tessera::zoo::lenet5() } else { tessera::zoo::mlp() };
    m.build(&[28, 28, 1], &Device::Cpu, 0).map_err(|e| e.to_string())?;
    DataParallel::new(comm, m.variables()).map(|_| ()).map_err(|e| format!("{e:#}"))
}

// ---------------------------------------------------------------- launcher

/// How a job ended.
struct Job {
    ok: bool,
    output: String,
    seconds: f64,
}

/// Runs `mpirun -np 2` on `args`, killing it (and failing) after `JOB_LIMIT`.
fn mpirun(args: &[&str]) -> Job {
    let start = Instant::now();
    let out_path = std::env::temp_dir().join(format!("tessera-mpi-{}-{}.log", std::process::id(), args[1]));
    let log = std::fs::File::create(&out_path).expect("log file");
    let mut child = Command::new("mpirun")
        .args(["--oversubscribe", "--allow-run-as-root", "-np", "2"])
        .args(args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run mpirun (install openmpi-bin): {e}"));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > JOB_LIMIT {
            let _ = child.kill();
            let output = std::fs::read_to_string(&out_path).unwrap_or_default();
            panic!("mpirun {args:?} still running after {JOB_LIMIT:?} (a hang):\n{output}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    Job { ok: status.success(), output, seconds: start.elapsed().as_secs_f64() }
}

fn scenario(name: &str, dir: &Path) -> Job {
    let exe = std::env::current_exe().unwrap();
    mpirun(&[exe.to_str().unwrap(), "--rank", name, dir.to_str().unwrap()])
}

/// Two ranks reach the one-process weights; the checkpoint rank 0 wrote loads in one process.
fn two_ranks_equal_one_process_and_checkpoint_loads(dir: &Path) {
    let job = scenario("train", dir);
    assert!(job.ok, "two-rank training failed:\n{}", job.output);
    let dev = common::gpu();
    let fresh = lenet(&dev, 7);
    let mut opt = sgd();
    checkpoint::load(&dir.join("dp.safetensors"), &fresh.variables(), Some(&mut opt)).unwrap();
    assert_eq!(opt.iterations(), STEPS as u64);
    assert_same_weights(&fresh.variables(), &reference("lenet", &dev), "checkpoint of the two-rank run");
}

/// With synchronized BatchNormalization, two ranks equal one process, statistics included.
fn synchronized_batch_norm_equals_one_process(dir: &Path) {
    let job = scenario("syncbn", dir);
    assert!(job.ok, "two-rank training with synchronized BatchNormalization failed:\n{}", job.output);
}

/// A killed rank or a silent one ends the job with an error, well within the timeout.
fn failed_rank_ends_the_job(dir: &Path, how: &str, message: &str) {
    let job = scenario(how, dir);
    assert!(!job.ok, "{how}: the job should fail:\n{}", job.output);
    assert!(job.output.contains(message), "{how}: no '{message}' in:\n{}", job.output);
    let bound = FAIL_TIMEOUT_S as f64 + 60.0;
    assert!(job.seconds < bound, "{how}: took {:.1} s (bound {bound} s)", job.seconds);
}

/// Ranks with different models refuse to start, on every rank.
fn mismatched_models_are_refused(dir: &Path) {
    let job = scenario("mismatch", dir);
    assert!(!job.ok, "mismatched models should fail:\n{}", job.output);
    assert!(job.output.contains("rank 1: the model differs from rank 0's"), "{}", job.output);
    assert!(job.output.contains("rank 0: 1 rank(s) built a model that differs"), "{}", job.output);
}

/// `mpirun -np 2 tessera train lenet5 --distributed`: rank 0 alone prints and checkpoints.
fn cli_trains_distributed(dir: &Path) {
    let ckpt = dir.join("cli.safetensors");
    let args = [
        env!("CARGO_BIN_EXE_tessera"),
        "train",
        "lenet5",
        "--distributed",
        "--gpu-per-rank",
        "--epochs",
        "1",
        "--train-limit",
        "512",
        "--test-limit",
        "200",
        "--quiet",
        "--bucket-kb",
        "32",
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ];
    let job = mpirun(&args);
    assert!(job.ok, "distributed CLI run failed:\n{}", job.output);
    assert_eq!(job.output.matches("Epoch 1/1").count(), 1, "only rank 0 reports:\n{}", job.output);
    assert_eq!(job.output.matches("val_accuracy:").count(), 1, "only rank 0 reports:\n{}", job.output);
    assert!(job.output.contains("rank 1 of 2"), "{}", job.output);
    assert!(job.output.contains("bytes per step in"), "{}", job.output);
    let fresh = lenet(&Device::Cpu, 3);
    checkpoint::load(&ckpt, &fresh.variables(), None).unwrap();
}

/// `mpirun -np 2 tessera train shufflenet --distributed`: any zoo model (here grouped convs,
/// channel shuffle and per-replica BatchNorm, MNIST adapted to 32×32×3) trains data-parallel,
/// and its checkpoint loads into a fresh model in one process.
fn cli_trains_any_zoo_model_distributed(dir: &Path) {
    let ckpt = dir.join("shufflenet.safetensors");
    let args = [
        env!("CARGO_BIN_EXE_tessera"),
        "train",
        "shufflenet",
        "--dataset",
        "mnist",
        "--distributed",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--train-limit",
        "64",
        "--test-limit",
        "32",
        "--quiet",
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ];
    let job = mpirun(&args);
    assert!(job.ok, "distributed shufflenet run failed:\n{}", job.output);
    assert_eq!(job.output.matches("Epoch 1/1").count(), 1, "only rank 0 reports:\n{}", job.output);
    assert!(job.output.contains("rank 1 of 2"), "{}", job.output);
    let spec = tessera::zoo::by_name("shufflenet").unwrap();
    let fresh = tessera::train::build_model(spec, spec.input, 10, &Device::Cpu, 3).unwrap();
    checkpoint::load(&ckpt, &fresh.variables(), None).unwrap();
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--rank" {
        return match rank_main(&args[2], Path::new(&args[3])) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--list") {
        return ExitCode::SUCCESS; // `cargo test -- --list`: nothing to list for a custom harness
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("tessera-dp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    type Case = (&'static str, Box<dyn Fn(&Path)>);
    let cases: Vec<Case> = vec![
        (
            "two_ranks_equal_one_process_and_checkpoint_loads",
            Box::new(two_ranks_equal_one_process_and_checkpoint_loads),
        ),
        ("synchronized_batch_norm_equals_one_process", Box::new(synchronized_batch_norm_equals_one_process)),
        ("killed_rank_ends_the_job", Box::new(|d| failed_rank_ends_the_job(d, "dies", "exited on signal 9"))),
        (
            "silent_rank_times_out",
            Box::new(|d| failed_rank_ends_the_job(d, "hangs", "did not complete within the collective timeout")),
        ),
        ("mismatched_models_are_refused", Box::new(mismatched_models_are_refused)),
        ("cli_trains_distributed", Box::new(cli_trains_distributed)),
        ("cli_trains_any_zoo_model_distributed", Box::new(cli_trains_any_zoo_model_distributed)),
    ];
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned().unwrap_or_default();
    let mut failed = 0;
    for (name, case) in cases.iter().filter(|(n, _)| n.contains(&filter)) {
        println!("test {name} ...");
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&dir))) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
