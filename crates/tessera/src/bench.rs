//! `tessera bench`: times ops on the GPU adapter (ms, GFLOP/s) and training steps of any zoo
//! model (ms per step, images/s, peak memory).

use std::time::Instant;

use tessera_nn::ops::*;
use tessera_nn::{Device, Padding, Tensor};

use crate::zoo::ZooSpec;

/// One benchmark case: a name, its FLOPs and a closure that records one run.
struct Case {
    name: String,
    flops: f64,
    run: Box<dyn Fn() -> tessera_nn::Result<Tensor>>,
}

/// Runs the benchmark named `what` and prints its table; `batch` overrides a model's usual
/// batch in `train`.
pub fn run(what: &str, model: Option<&str>, reps: usize, filter: &str, batch: Option<usize>) -> anyhow::Result<()> {
    match (what, model) {
        ("ops", _) => ops(reps, filter),
        ("loads", _) => loads(reps),
        ("train", Some(name)) => train(crate::zoo::by_name(name)?, reps, batch),
        ("train", None) => anyhow::bail!("name a zoo model: tessera bench train <model> ({})", model_names()),
        ("distributed", model) => distributed(crate::zoo::by_name(model.unwrap_or("lenet5"))?, reps),
        (other, _) => {
            anyhow::bail!("unknown benchmark '{other}' (try: ops, loads, train <model>, distributed <model>)")
        }
    }
}

/// What one memory access of each kind costs a kernel on this adapter (ns per invocation and
/// access, best of `reps`), beside a storage f32 load: the figures that tell which kernel
/// variants can pay on a CPU adapter (`GALLIUM_OVERRIDE_CPU_CAPS=avx` shows lavapipe's AVX2 code).
fn loads(reps: usize) -> anyhow::Result<()> {
    let dev = Device::gpu()?;
    let gpu = dev.as_gpu().ok_or_else(|| anyhow::anyhow!("no GPU adapter"))?;
    let costs = tessera_device::probe::access_costs(gpu, reps)?;
    println!("{dev}: 8192 invocations x 256 accesses, best of {}", reps.max(2));
    println!("{:<15} {:>10} {:>12}  access", "probe", "ns/access", "x storage f32");
    let base = costs.iter().find(|c| c.kind == "storage_f32").map_or(f64::NAN, |c| c.ns);
    for c in &costs {
        println!("{:<15} {:>10.3} {:>12.2}  {}", c.kind, c.ns, c.ns / base, c.what);
    }
    Ok(())
}

/// The zoo's model names, comma-separated.
fn model_names() -> String {
    crate::zoo::catalog().iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// Models with fewer parameters than this are also timed on the CPU reference path.
const CPU_PARAMS: usize = 1_000_000;

/// ms per training step (Adam, sparse cross-entropy on the logits) at the model's usual input
/// and batch (or `batch`), and images/s, on the GPU and (for small models) on the CPU path;
/// then the peak resident memory of the process (on lavapipe the GPU's memory is host memory).
/// Small models run at least 20 timed steps after 2 warm-ups; models of a million parameters
/// or more run `reps` (at least 1) after one warm-up, as their steps take seconds. The first
/// step tunes within the device's allowance, as any program's would; the warm-ups tune the
/// rest, so the timed steps run tuned kernels. Where both paths were timed, their ratio is
/// then measured again in interleaved rounds ([`paired_ratio`]).
fn train(spec: &ZooSpec, reps: usize, batch: Option<usize>) -> anyhow::Result<()> {
    let batch = batch.unwrap_or(spec.batch);
    if batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    let params = crate::train::build_model(spec, spec.input, spec.classes, &Device::Cpu, 0)?.count_params();
    println!("{}, input {:?}, batch {batch}, {params} parameters, Adam", spec.name, spec.input);
    println!("{:<40} {:>12} {:>12} {:>12}", "device", "first (ms)", "ms/step", "images/s");
    let cpu_too = params < CPU_PARAMS;
    let mut devices = if cpu_too { vec![Device::Cpu] } else { Vec::new() };
    match Device::gpu() {
        Ok(g) => devices.insert(0, g),
        Err(e) if cpu_too => eprintln!("{e}; timing the CPU path only"),
        Err(e) => return Err(e.into()),
    }
    let (steps, warm) = if cpu_too { (reps.max(20), 2) } else { (reps.max(1), 1) };
    for dev in &devices {
        time_steps(spec, dev, batch, cpu_steps(dev, steps), warm)?;
        print_profile(dev);
    }
    if let [gpu @ Device::Gpu(_), Device::Cpu] = devices.as_slice() {
        paired_ratio(spec, [gpu, &Device::Cpu], batch, steps)?;
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak resident memory: {:.0} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}

/// Steps a timing of `dev` runs where the GPU runs `steps`: a quarter of them on the CPU path
/// (at least 3), whose steps take several times longer.
fn cpu_steps(dev: &Device, steps: usize) -> usize {
    if matches!(dev, Device::Cpu) {
        (steps / 4).max(3)
    } else {
        steps
    }
}

/// Rounds of [`paired_ratio`].
const PAIRED_ROUNDS: usize = 9;

/// GPU ÷ CPU step time from interleaved rounds: each round times a tenth of `steps` (at least
/// 5) on the GPU and a quarter of that on the CPU path back to back, which goes first
/// alternating, and the line gives the median and quartiles of the rounds' ratios. The two
/// tables above time one device after the other, so a machine whose speed drifts within the
/// run (shared hosts do, by tens of percent) moves their ratio; a round's two timings share
/// the machine's state.
fn paired_ratio(spec: &ZooSpec, devs: [&Device; 2], batch: usize, steps: usize) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for dev in devs {
        let mut run = StepRun::new(spec, dev, batch)?;
        run.time(2)?;
        runs.push(run);
    }
    let per_round = (steps / 10).max(5);
    let mut ratios = Vec::with_capacity(PAIRED_ROUNDS);
    for round in 0..PAIRED_ROUNDS {
        let mut ms = [0.0; 2];
        for k in 0..2 {
            let i = (round + k) % 2;
            ms[i] = runs[i].time(cpu_steps(devs[i], per_round))?;
        }
        ratios.push(ms[0] / ms[1]);
    }
    let [q1, med, q3] = quartiles(&mut ratios);
    println!(
        "GPU ÷ CPU, {PAIRED_ROUNDS} interleaved rounds of {per_round} GPU and {} CPU steps: median {med:.3} (quartiles {q1:.3}–{q3:.3})",
        cpu_steps(&Device::Cpu, per_round)
    );
    Ok(())
}

/// The first quartile, median and third quartile of `v` (sorted in place; linear
/// interpolation between order statistics, as numpy's default); NaN when `v` is empty.
fn quartiles(v: &mut [f64]) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let Some(last) = v.len().checked_sub(1) else { return f64::NAN };
        let pos = q * last as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    [at(0.25), at(0.5), at(0.75)]
}

/// A model, its optimizer and one batch on a device, for timing training steps.
struct StepRun<'a> {
    dev: &'a Device,
    model: crate::zoo::ZooModel,
    opt: tessera_nn::optimizers::Adam,
    x: Tensor,
    y: Tensor,
}

impl<'a> StepRun<'a> {
    /// Builds the model (seed 0) on `dev` with a uniform random batch and cycling labels.
    fn new(spec: &ZooSpec, dev: &'a Device, batch: usize) -> anyhow::Result<Self> {
        let model = crate::train::build_model(spec, spec.input, spec.classes, dev, 0)?;
        let [h, w, c] = spec.input;
        let x = Tensor::rand_uniform(&[batch, h, w, c], 0.0, 1.0, 1, dev)?;
        let labels = (0..batch).map(|i| (i % spec.classes) as f32).collect();
        let y = Tensor::from_vec(labels, &[batch], dev)?;
        Ok(Self { dev, model, opt: tessera_nn::optimizers::Adam::default(), x, y })
    }

    /// Runs one step and waits for it (its loss read back): ms.
    fn first(&mut self) -> anyhow::Result<f64> {
        let t = Instant::now();
        crate::train::train_step(self.model.layer(), &mut self.opt, &self.x, &self.y)?.0.item()?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    }

    /// Runs `n` steps and waits for the device: ms per step.
    fn time(&mut self, n: usize) -> anyhow::Result<f64> {
        let t = Instant::now();
        for _ in 0..n {
            crate::train::train_step(self.model.layer(), &mut self.opt, &self.x, &self.y)?;
        }
        self.dev.synchronize()?;
        Ok(t.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64)
    }
}

/// The process's peak resident set size (`VmHWM` of `/proc/self/status`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Builds the model on `dev` and times `n` steps of `batch` after a first (compiling) step and
/// `warm` warm-ups.
fn time_steps(spec: &ZooSpec, dev: &Device, batch: usize, n: usize, warm: usize) -> anyhow::Result<()> {
    let mut run = StepRun::new(spec, dev, batch)?;
    let s0 = dev.as_gpu().map(|g| g.stats());
    let first = run.first()?;
    let first_use = s0.zip(dev.as_gpu()).map(|(s0, g)| (s0, g.stats()));
    if let Some(g) = dev.as_gpu() {
        // The first step tuned within the allowance, as any program's; the warm-ups tune the
        // rest, so the timed steps run the tuned kernels.
        g.set_tune_budget(tessera_device::TuneBudget::UNLIMITED);
    }
    run.time(warm)?;
    if let Some(g) = dev.as_gpu() {
        g.reset_peak();
    }
    let before = dev.as_gpu().map(|g| g.stats());
    let ms = run.time(n)?;
    println!("{:<40} {:>12.1} {:>12.2} {:>12.2}", dev.to_string(), first, ms, batch as f64 * 1e3 / ms);
    if let Some((s0, s1)) = first_use {
        print_first_use(&s0, &s1);
    }
    if let (Some(s0), Some(g)) = (before, dev.as_gpu()) {
        let s1 = g.stats();
        let per = |x: u64, y: u64| (x - y) as f64 / n as f64;
        println!(
            "  per step: {:.1} dispatches ({:.1} texel, {:.1} uniform views), {:.2} submits; peak GPU memory {:.1} MiB (pool high-water mark)",
            per(s1.dispatches, s0.dispatches),
            per(s1.texel_views, s0.texel_views),
            per(s1.uniform_views, s0.uniform_views),
            per(s1.submits, s0.submits),
            s1.peak_bytes as f64 / (1 << 20) as f64
        );
    }
    Ok(())
}

/// Where the first step's time went beyond running kernels: WGSL modules parsed, pipelines
/// created (the driver's compiler) and autotuning (wall time, its own compiles included).
fn print_first_use(s0: &tessera_device::GpuStats, s1: &tessera_device::GpuStats) {
    let ms = |a: u64, b: u64| (a - b) as f64 / 1e3;
    println!(
        "  first step: {} pipelines; WGSL modules {:.0} ms, pipeline creation {:.0} ms, autotuning {:.0} ms (includes the compiles it caused)",
        s1.pipelines - s0.pipelines,
        ms(s1.module_us, s0.module_us),
        ms(s1.pipeline_us, s0.pipeline_us),
        ms(s1.tuning_us, s0.tuning_us)
    );
}

/// Data-parallel steps under `mpirun -np N` (any N, 1 included; built with `--features mpi`):
/// the global batch is twice the `train` benchmark's whatever N is, so images/s compare
/// across N. Rank 0 prints ms/step, images/s, bytes all-reduced and where the time went.
fn distributed(spec: &ZooSpec, steps: usize) -> anyhow::Result<()> {
    use crate::distributed::{shard, DataParallel};
    let name = spec.name;
    let cfg =
        crate::train::TrainConfig { distributed: cfg!(feature = "mpi"), gpu_per_rank: true, ..Default::default() };
    let comm = crate::train::communicator(&cfg)?;
    let (rank, size) = (comm.rank(), comm.size());
    let dev = crate::train::rank_device(&cfg, rank)?;
    let model = crate::train::build_model(spec, spec.input, spec.classes, &dev, 0)?;
    let mut dp = DataParallel::new(comm.clone(), model.variables())?;
    let mut opt = tessera_nn::optimizers::Adam::default();
    let (global, [h, w, c]) = (2 * spec.batch, spec.input);
    let rows = shard(global, rank, size);
    let x = Tensor::rand_uniform(&[rows.len(), h, w, c], 0.0, 1.0, 1 + rank as u64, &dev)?;
    let y = Tensor::from_vec(rows.clone().map(|i| (i % 10) as f32).collect(), &[rows.len()], &dev)?;
    if let Some(g) = dev.as_gpu() {
        g.set_tune_budget(tessera_device::TuneBudget::UNLIMITED); // the warm-ups tune everything
    }
    for _ in 0..2 {
        // compiles the pipelines and warms the pools
        crate::train::train_step_distributed(model.layer(), &mut opt, &mut dp, &x, &y, global)?;
    }
    dev.synchronize()?;
    let (mpi0, t) = (comm.reduce_seconds(), Instant::now());
    dp.reset_stats();
    for _ in 0..steps {
        crate::train::train_step_distributed(model.layer(), &mut opt, &mut dp, &x, &y, global)?;
    }
    dev.synchronize()?;
    let ms = t.elapsed().as_secs_f64() * 1e3 / steps as f64;
    let s = dp.stats();
    let per = |sec: f64| sec * 1e3 / steps as f64;
    let mpi_ms = per(comm.reduce_seconds() - mpi0);
    let times = dp.all_reduce(vec![ms as f32, mpi_ms as f32], "benchmark timings")?;
    let lone = lone_all_reduce_ms(&dp, s.bytes_per_step / 4)?;
    if rank == 0 {
        println!("{name}: {size} rank(s), global batch {global}, Adam, {dev}");
        println!(
            "  ms/step {ms:.1} (mean over ranks {:.1}), images/s {:.1}",
            times[0] / size as f32,
            global as f64 * 1e3 / ms
        );
        println!("  all-reduced per step: {} bytes in {} bucket(s)", s.bytes_per_step, s.buckets);
        println!(
            "  rank 0 per step: forward+backward recording {:.1} ms, then waiting on readbacks/all-reduces {:.1} ms; \
             inside MPI all-reduce {mpi_ms:.1} ms (mean over ranks {:.1})",
            per(s.backward_seconds),
            per(s.wait_seconds),
            times[1] / size as f32
        );
        println!("  the same all-reduce alone (no compute, ranks in step): {lone:.2} ms");
    }
    Ok(())
}

/// Mean ms of an all-reduce of `n` floats with nothing else running, the ranks aligned first.
fn lone_all_reduce_ms(dp: &crate::distributed::DataParallel, n: usize) -> anyhow::Result<f64> {
    dp.all_reduce(vec![0.0], "benchmark barrier")?;
    let reps = 5;
    let t = Instant::now();
    for _ in 0..reps {
        dp.all_reduce(vec![1.0; n], "benchmark all-reduce")?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e3 / reps as f64)
}

fn ops(reps: usize, filter: &str) -> anyhow::Result<()> {
    let dev = Device::gpu()?;
    let gpu = dev.as_gpu().ok_or_else(|| anyhow::anyhow!("bench ops: {dev} is not a GPU device"))?;
    gpu.set_tune_budget(tessera_device::TuneBudget::UNLIMITED); // the tuned kernels are what is timed
    println!("adapter: {} ({:?}, {:?})", gpu.info().name, gpu.info().backend, gpu.info().device_type);
    let cases = op_cases(&dev)?;
    println!("{:<44} {:>10} {:>10} {:>10}", "op", "ms (best)", "ms (mean)", "GFLOP/s");
    for c in cases.into_iter().filter(|c| c.name.contains(filter)) {
        (c.run)()?.to_vec()?; // warm-up: compiles the pipeline
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            let y = (c.run)()?;
            dev.synchronize()?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            drop(y);
        }
        let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let gflops = if c.flops > 0.0 { format!("{:.2}", c.flops / best / 1e6) } else { "-".into() };
        println!("{:<44} {:>10.2} {:>10.2} {:>10}", c.name, best, mean, gflops);
    }
    println!(
        "autotuned variants (TESSERA_AUTOTUNE={:?}; cached per adapter, driver and CPU features):",
        gpu.tune_mode()
    );
    for (class, variant) in gpu.tuned_entries() {
        let mark = if gpu.tuned_provisional(&class) { " (provisional: the next process measures again)" } else { "" };
        println!("  {class:<60} {variant}{mark}");
    }
    Ok(())
}

fn op_cases(dev: &Device) -> tessera_nn::Result<Vec<Case>> {
    let mut cases = Vec::new();
    let a = Tensor::randn(&[1024, 1024], 0.0, 1.0, 1, dev)?;
    let b = Tensor::randn(&[1024, 1024], 0.0, 1.0, 2, dev)?;
    let variants = [
        ("auto", MatmulVariant::Auto),
        ("naive", MatmulVariant::Naive),
        ("register", MatmulVariant::Register),
        ("tiled", MatmulVariant::Tiled),
        ("subgroup", MatmulVariant::Subgroup),
    ];
    for (label, v) in variants {
        let (a, b) = (a.clone(), b.clone());
        let opts = MatmulOptions { variant: v, ..Default::default() };
        cases.push(Case {
            name: format!("matmul 1024^3 ({label})"),
            flops: 2.0 * 1024f64.powi(3),
            run: Box::new(move || matmul_with(&a, &b, opts)),
        });
    }
    let same = Conv2dOptions::default().padding(Padding::Same);
    let x = Tensor::randn(&[32, 32, 32, 64], 0.0, 1.0, 3, dev)?;
    let f = Tensor::randn(&[3, 3, 64, 64], 0.0, 0.1, 4, dev)?;
    let flops = 2.0 * (32 * 32 * 32 * 64 * 64 * 9) as f64;
    for (label, v) in
        [("auto", Conv2dVariant::Auto), ("direct", Conv2dVariant::Direct), ("im2col", Conv2dVariant::Im2col)]
    {
        let (x, f) = (x.clone(), f.clone());
        cases.push(Case {
            name: format!("conv2d [32,32,32,64] 3x3 64->64 SAME ({label})"),
            flops,
            run: Box::new(move || conv2d_variant(&x, &f, None, &same, v)),
        });
    }
    // Every register block autotuning chooses among, timed alone.
    let blocks = dev.as_gpu().map(RegBlock::candidates).unwrap_or_default();
    for (label, block) in blocks {
        let (x, f) = (x.clone(), f.clone());
        cases.push(Case {
            name: format!("conv2d [32,32,32,64] 3x3 64->64 SAME (register {label})"),
            flops,
            run: Box::new(move || conv2d_reg_block(&x, &f, None, &same, block)),
        });
    }
    cases.extend(lenet_conv_cases(dev)?);
    let dy2 = Tensor::randn(&[32, 11, 11, 16], 0.0, 1.0, 15, dev)?;
    let f3 = Tensor::randn(&[3, 3, 6, 16], 0.0, 0.1, 16, dev)?;
    cases.push(Case {
        name: "conv2d input grad [32,13,13,6] 3x3 6->16".into(),
        flops: 2.0 * (32 * 11 * 11 * 16 * 9 * 6) as f64,
        run: Box::new(move || conv2d_transpose(&dy2, &f3, &[32, 13, 13, 6], &Conv2dOptions::default())),
    });
    let xd = Tensor::randn(&[32, 32, 32, 64], 0.0, 1.0, 7, dev)?;
    let fd = Tensor::randn(&[3, 3, 64, 1], 0.0, 0.1, 8, dev)?;
    let xp = xd.clone();
    cases.push(Case {
        name: "depthwise_conv2d [32,32,32,64] 3x3 SAME".into(),
        flops: 2.0 * (32 * 32 * 32 * 64 * 9) as f64,
        run: Box::new(move || depthwise_conv2d(&xd, &fd, &same)),
    });
    let xq = xp.clone();
    let (xb, bias) = (xp.clone(), Tensor::randn(&[64], 0.0, 1.0, 17, dev)?);
    cases.push(Case {
        name: "add [32,32,32,64] + [64] (broadcast)".into(),
        flops: 0.0,
        run: Box::new(move || add(&xb, &bias)),
    });
    cases.push(Case {
        name: "max_pool2d [32,32,32,64] 2x2/2".into(),
        flops: 0.0,
        run: Box::new(move || max_pool2d(&xp, &PoolOptions::new(2))),
    });
    cases.extend(backward_cases(dev, &xq)?);
    cases.extend(small_cases(dev)?);
    cases.extend(softmax_cases(dev)?);
    Ok(cases)
}

/// LeNet-5's two convolutions (direct-kernel shapes), tuned and per direct variant (the
/// subgroup ones where the device runs them), and their filter and bias gradients (one dispatch).
fn lenet_conv_cases(dev: &Device) -> tessera_nn::Result<Vec<Case>> {
    let shared = dev.as_gpu().and_then(tessera_kernels::launch::shuffle_width).is_some();
    let variants = [("", Conv2dVariant::Auto), (" (direct)", Conv2dVariant::Direct)];
    let shared_variants = [
        (" (direct subgroup)", Conv2dVariant::DirectSubgroup),
        (" (direct unrolled)", Conv2dVariant::DirectUnrolled),
        (" (direct unrolled texels)", Conv2dVariant::DirectUnrolledTexels),
    ];
    let variants = [&variants[..], if shared { &shared_variants[..] } else { &[] }];
    let mut cases = Vec::new();
    for (name, [n, h, w, cin, cout], seed) in
        [("[32,28,28,1] 3x3 1->6", [32, 28, 28, 1, 6], 5), ("[32,13,13,6] 3x3 6->16", [32, 13, 13, 6, 16], 13)]
    {
        let x = Tensor::randn(&[n, h, w, cin], 0.0, 1.0, seed, dev)?;
        let f = Tensor::randn(&[3, 3, cin, cout], 0.0, 0.1, seed + 1, dev)?;
        let flops = 2.0 * (n * (h - 2) * (w - 2) * cout * 9 * cin) as f64;
        for &(label, v) in variants.concat().iter() {
            let (x, f) = (x.clone(), f.clone());
            cases.push(Case {
                name: format!("conv2d {name} VALID{label}"),
                flops,
                run: Box::new(move || conv2d_variant(&x, &f, None, &Conv2dOptions::default(), v)),
            });
        }
        let pool = PoolOptions::new(2).activation(tessera_nn::Activation::Relu);
        for (label, fusion) in [
            ("", PoolFusion::Auto),
            (" (fused)", PoolFusion::Fused),
            (" (fused texels)", PoolFusion::FusedTexels),
            (" (separate)", PoolFusion::Separate),
        ] {
            let (x, f) = (x.clone(), f.clone());
            cases.push(Case {
                name: format!("conv2d + max_pool2d + relu {name}{label}"),
                flops,
                run: Box::new(move || {
                    conv2d_max_pool2d_variant(&x, &f, None, &Conv2dOptions::default(), &pool, fusion)
                }),
            });
        }
        let dy = Tensor::randn(&[n, h - 2, w - 2, cout], 0.0, 1.0, seed + 2, dev)?;
        cases.push(Case {
            name: format!("conv2d filter+bias grad {name} VALID"),
            flops,
            run: Box::new(move || {
                conv2d_backprop_filter_and_bias(&x, &dy, &[3, 3, cin, cout], &Conv2dOptions::default()).map(|r| r.0)
            }),
        });
    }
    Ok(cases)
}

/// LeNet-5's first dense layer (batch 32, 400 -> 120) forward and both gradients, tuned and
/// per kernel (the subgroup ones where the device runs them), and the cost of a launch: one
/// add of 32 elements, and 100 dependent ones recorded before one wait.
fn small_cases(dev: &Device) -> tessera_nn::Result<Vec<Case>> {
    let x = Tensor::randn(&[32, 400], 0.0, 1.0, 18, dev)?;
    let w = Tensor::randn(&[400, 120], 0.0, 0.1, 19, dev)?;
    let dy = Tensor::randn(&[32, 120], 0.0, 1.0, 20, dev)?;
    let flops = 2.0 * (32 * 400 * 120) as f64;
    // LeNet-5's 10-class layer: n = 10 is not a multiple of 4 (no register kernel).
    let x10 = Tensor::randn(&[32, 84], 0.0, 1.0, 22, dev)?;
    let w10 = Tensor::randn(&[84, 10], 0.0, 0.1, 23, dev)?;
    let dy10 = Tensor::randn(&[32, 10], 0.0, 1.0, 24, dev)?;
    let variants = [
        ("", MatmulVariant::Auto),
        (" (naive)", MatmulVariant::Naive),
        (" (register)", MatmulVariant::Register),
        (" (subgroup)", MatmulVariant::Subgroup),
        (" (broadcast)", MatmulVariant::Broadcast),
    ];
    let products = [
        ("dense [32,400] x [400,120]", &x, &w, false, false, flops),
        ("dense input grad [32,120] x [400,120]^T", &dy, &w, false, true, flops),
        ("dense filter grad [32,400]^T x [32,120]", &x, &dy, true, false, flops),
        ("dense [32,84] x [84,10]", &x10, &w10, false, false, 2.0 * (32 * 84 * 10) as f64),
        ("dense input grad [32,10] x [84,10]^T", &dy10, &w10, false, true, 2.0 * (32 * 84 * 10) as f64),
        ("dense filter grad [32,84]^T x [32,10]", &x10, &dy10, true, false, 2.0 * (32 * 84 * 10) as f64),
    ];
    let mut cases = Vec::new();
    for (name, a, b, transpose_a, transpose_b, flops) in products {
        for &(label, variant) in &variants {
            let (a, b) = (a.clone(), b.clone());
            let opts = MatmulOptions { transpose_a, transpose_b, variant };
            cases.push(Case {
                name: format!("{name}{label}"),
                flops,
                run: Box::new(move || matmul_with(&a, &b, opts)),
            });
        }
    }
    cases.extend(head_cases(dev)?);
    let one = Tensor::randn(&[32], 0.0, 1.0, 21, dev)?;
    let one2 = one.clone();
    cases.push(Case {
        name: "add [32] + [32] (one launch)".into(),
        flops: 0.0,
        run: Box::new(move || add(&one, &one)),
    });
    cases.push(Case {
        name: "add [32] x 100, chained (100 launches)".into(),
        flops: 0.0,
        run: Box::new(move || chain(&one2, 100)),
    });
    Ok(cases)
}

/// LeNet-5's classifier head (Dense 84 -> 10 and the sparse cross-entropy with its
/// gradients): tuned, in one launch (on one and on two workgroups), and as the three launches.
fn head_cases(dev: &Device) -> tessera_nn::Result<Vec<Case>> {
    let x = Tensor::randn(&[32, 84], 0.0, 1.0, 25, dev)?.variable();
    let w = Tensor::randn(&[84, 10], 0.0, 0.1, 26, dev)?.variable();
    let b = Tensor::randn(&[10], 0.0, 0.1, 27, dev)?.variable();
    let labels = Tensor::from_vec((0..32).map(|i| (i % 10) as f32).collect(), &[32], dev)?;
    let fusions = [
        ("", HeadFusion::Auto),
        (" (fused)", HeadFusion::Fused),
        (" (fused, 2 workgroups)", HeadFusion::Split(2)),
        (" (fused texels, 2 workgroups)", HeadFusion::SplitTexels(2)),
        (" (separate)", HeadFusion::Separate),
    ];
    Ok(fusions
        .map(|(label, fusion)| {
            let (x, w, b, labels) = (x.clone(), w.clone(), b.clone(), labels.clone());
            Case {
                name: format!("dense head + loss + grads [32,84] -> 10{label}"),
                flops: 6.0 * (32 * 84 * 10) as f64,
                run: Box::new(move || {
                    dense_sparse_categorical_crossentropy_with_accuracy_variant(&labels, &x, &w, &b, fusion)
                        .map(|r| r.0)
                }),
            }
        })
        .into())
}

/// `n` dependent additions of `x` to itself: one launch each, recorded before one wait.
fn chain(x: &Tensor, n: usize) -> tessera_nn::Result<Tensor> {
    (1..n).try_fold(add(x, x)?, |y, _| add(&y, x))
}

/// Softmax with each kernel (subgroup operations included where the device has them) of
/// many rows (1000 logits of 1024 images) and of a few long ones.
fn softmax_cases(dev: &Device) -> tessera_nn::Result<Vec<Case>> {
    let variants = [
        ("auto", SoftmaxVariant::Auto),
        ("rows", SoftmaxVariant::Rows),
        ("workgroup", SoftmaxVariant::Workgroup),
        ("subgroup", SoftmaxVariant::Subgroup),
    ];
    let mut cases = Vec::new();
    for (seed, shape) in [(22, [1024, 1000]), (23, [64, 8192])] {
        let x = Tensor::randn(&shape, 0.0, 3.0, seed, dev)?;
        cases.extend(variants.map(|(label, v)| {
            let x = x.clone();
            Case {
                name: format!("softmax [{},{}] ({label})", shape[0], shape[1]),
                flops: 0.0,
                run: Box::new(move || softmax_with(&x, false, v)),
            }
        }));
    }
    Ok(cases)
}

/// Backward passes of the same shapes: conv2d's input and filter gradients, depthwise's,
/// max-pool's, and training-mode batch norm forward + backward.
fn backward_cases(dev: &Device, x: &Tensor) -> tessera_nn::Result<Vec<Case>> {
    let same = Conv2dOptions::default().padding(Padding::Same);
    let dy = Tensor::randn(&[32, 32, 32, 64], 0.0, 1.0, 9, dev)?;
    let f = Tensor::randn(&[3, 3, 64, 64], 0.0, 0.1, 10, dev)?;
    let fd = Tensor::randn(&[3, 3, 64, 1], 0.0, 0.1, 11, dev)?;
    let conv_flops = 2.0 * (32 * 32 * 32 * 64 * 64 * 9) as f64;
    let dw_flops = 2.0 * (32 * 32 * 32 * 64 * 9) as f64;
    let (x1, dy1, f1) = (x.clone(), dy.clone(), f.clone());
    let (x2, dy2) = (x.clone(), dy.clone());
    let fg_blocks = dev.as_gpu().map(FilterGradBlock::candidates).unwrap_or_default();
    let blocks = fg_blocks.into_iter().map(|(label, block)| {
        let (x, dy) = (x.clone(), dy.clone());
        Case {
            name: format!("conv2d filter grad [32,32,32,64] 3x3 64->64 (register {label})"),
            flops: conv_flops,
            run: Box::new(move || conv2d_backprop_filter_block(&x, &dy, &[3, 3, 64, 64], &same, block)),
        }
    });
    let (x3, dy3, fd3) = (x.clone(), dy.clone(), fd.clone());
    let (x4, dy4) = (x.clone(), dy.clone());
    let pooled_dy = Tensor::randn(&[32, 16, 16, 64], 0.0, 1.0, 12, dev)?;
    let x5 = x.clone();
    let (gamma, beta) = (Tensor::ones(&[64], dev)?, Tensor::zeros(&[64], dev)?);
    let mut cases = vec![
        Case {
            name: "conv2d input grad [32,32,32,64] 3x3 64->64".into(),
            flops: conv_flops,
            run: Box::new(move || conv2d_transpose(&dy1, &f1, x1.shape(), &same)),
        },
        Case {
            name: "conv2d filter grad [32,32,32,64] 3x3 64->64".into(),
            flops: conv_flops,
            run: Box::new(move || conv2d_backprop_filter(&x2, &dy2, &[3, 3, 64, 64], &same)),
        },
        Case {
            name: "depthwise input+filter grad [32,32,32,64] 3x3".into(),
            flops: 2.0 * dw_flops,
            run: Box::new(move || {
                let dx = depthwise_conv2d_backprop_input(&dy3, &fd3, x3.shape(), &same)?;
                let dw = depthwise_conv2d_backprop_filter(&x3, &dy3, &[3, 3, 64, 1], &same)?;
                drop(dw);
                Ok(dx)
            }),
        },
        Case {
            name: "max_pool2d grad [32,32,32,64] 2x2/2".into(),
            flops: 0.0,
            run: Box::new(move || max_pool2d_grad(&x4, &pooled_dy, &PoolOptions::new(2))),
        },
        Case {
            name: "batch_norm training fwd+bwd [32,32,32,64]".into(),
            flops: 0.0,
            run: Box::new(move || {
                let (y, _, _) = batch_norm_training(&x5, &gamma, &beta, 1e-3)?;
                let (dx, _, _) = batch_norm_training_backprop(&x5, &dy4, &gamma, 1e-3)?;
                drop(y);
                Ok(dx)
            }),
        },
    ];
    cases.extend(blocks);
    Ok(cases)
}

/// With `TESSERA_PROFILE` set, prints where GPU time went, per kernel, and how much longer
/// the first dispatches took than their kernels' later ones (on lavapipe, the shader compile).
fn print_profile(dev: &Device) {
    let Some(g) = dev.as_gpu() else { return };
    let rows = g.profile();
    if rows.is_empty() {
        return;
    }
    println!("  {:<60} {:>10} {:>10} {:>10}", "kernel (TESSERA_PROFILE)", "dispatches", "ms total", "ms first");
    for (k, n, t, f) in &rows {
        println!("  {:<60} {:>10} {:>10.2} {:>10.2}", k, n, t * 1e3, f * 1e3);
    }
    let excess: f64 = rows.iter().filter(|r| r.1 > 1).map(|(_, n, t, f)| (f - (t - f) / (n - 1) as f64).max(0.0)).sum();
    let once = rows.iter().filter(|r| r.1 == 1).count();
    println!("  first dispatches over their kernels' mean: {:.0} ms ({once} kernels ran once)", excess * 1e3);
}

#[cfg(test)]
mod tests {
    use super::quartiles;

    #[test]
    fn quartiles_interpolate_between_order_statistics() {
        // numpy.percentile([1, 2, 4, 8, 16], [25, 50, 75]) = 2, 4, 8 (sorted first).
        assert_eq!(quartiles(&mut [16.0, 1.0, 8.0, 2.0, 4.0]), [2.0, 4.0, 8.0]);
        // numpy.percentile([1, 2, 3, 10], [25, 50, 75]) = 1.75, 2.5, 4.75.
        assert_eq!(quartiles(&mut [10.0, 3.0, 2.0, 1.0]), [1.75, 2.5, 4.75]);
        assert_eq!(quartiles(&mut [0.3]), [0.3, 0.3, 0.3]);
        assert!(quartiles(&mut []).iter().all(|q| q.is_nan()));
    }
}
