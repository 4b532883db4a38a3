//! Autotuning of kernel variants: on first use of a shape class, time each valid variant on
//! the real operands and keep the fastest, per adapter and driver (and, for CPU adapters, the
//! host's vector features), on disk (the cache and `TESSERA_AUTOTUNE=off|on|force` live in
//! `tessera_device::autotune`). The timing ([`TunePlan`]) is built for a loaded machine: every
//! candidate first runs once untimed (its compile and any nested tuning), then the survivors
//! run in interleaved rounds and the smallest of each one's times decides, so a transient load
//! spike costs one sample, not the choice. A candidate over twice the leader's best after a
//! round is dropped, and no candidate or round starts once the budget (of kernel runs, not
//! compiles) is spent. A run shorter than 2 ms is repeated within its sample, so a driver's
//! submit-and-wait cost does not decide between fast kernels. A shape class is timed only
//! while the device's allowance lasts (`TuneBudget`: half a second plus a tenth of the time
//! since the device opened), so a cold start stays fast; past it, and in the browser (which
//! cannot block to time) and with `TESSERA_AUTOTUNE=off`, the heuristic decides.

use tessera_device::{Gpu, GpuBuffer, TuneMode};

use crate::Result;

/// Picks the variant for shape class `key` among `candidates` (name, variant): the winner
/// remembered among the same candidates ([`cache_key`]), else the fastest under
/// [`TunePlan::DEFAULT`] of `run`, else `heuristic` (tuning off, fewer than two candidates,
/// or the device's tuning allowance spent: then nothing is remembered, and a later use times
/// the class). `heuristic` should be one of the candidates.
pub fn choose<V: Copy + PartialEq>(
    gpu: &Gpu,
    key: &str,
    candidates: &[(&'static str, V)],
    heuristic: V,
    run: impl Fn(V) -> Result<GpuBuffer>,
) -> Result<V> {
    if gpu.tune_mode() == TuneMode::Off || candidates.len() < 2 {
        return Ok(heuristic);
    }
    let key = cache_key(key, candidates);
    if let Some(name) = gpu.tuned(&key) {
        if let Some(&(_, v)) = candidates.iter().find(|(n, _)| *n == name) {
            return Ok(v);
        }
    }
    if !may_time(gpu) {
        return Ok(heuristic); // past the allowance: timed on a later use
    }
    let Some(winner) = time_candidates(gpu, candidates, heuristic, run)? else { return Ok(heuristic) };
    gpu.remember_tuned(&key, winner.0);
    Ok(winner.1)
}

/// The tune-cache key of [`texels_pay`]'s measurement (value `texels` or `storage`).
pub const TEXELS_KEY: &str = "loads: texel vec4 against storage vec4";

/// Whether kernels that are not timed (problems under a family's tuning threshold) should read
/// their inputs from texel views on this adapter: measured once, when tuning may run, as a
/// texel fetch costing under half a storage vec4 load (`tessera_device::probe`; lavapipe's
/// AVX2 code: 5 against 35 ns, its AVX-512 code: 6 against 7) and remembered with the tuned
/// variants; false when tuning is off, past the device's allowance and in the browser.
pub fn texels_pay(gpu: &Gpu) -> bool {
    if gpu.tune_mode() == TuneMode::Off {
        return false;
    }
    if let Some(v) = gpu.tuned(TEXELS_KEY) {
        return v == "texels";
    }
    measure_texels(gpu).unwrap_or(false)
}

/// The tune-cache key of [`uniform_pays`]'s measurement (value `uniform` or `texels`).
pub const UNIFORM_KEY: &str = "loads: uniform f32 against texel vec4";

/// Whether the fast-read twins should read their small operands (those that fit
/// [`Gpu::max_uniform_view_bytes`]) from uniform views rather than texel views: measured once,
/// when tuning may run, as a uniform load (lane-varying index into 64 KiB) costing under half
/// a texel fetch (`tessera_device::probe`; lavapipe: 2.0 against 5.3 ns with AVX2 code, 1.7
/// against 5.2 with AVX-512 code), and remembered with the tuned variants; false when tuning
/// is off, past the device's allowance and in the browser.
pub fn uniform_pays(gpu: &Gpu) -> bool {
    if gpu.tune_mode() == TuneMode::Off || gpu.max_uniform_view_bytes() == 0 {
        return false;
    }
    if let Some(v) = gpu.tuned(UNIFORM_KEY) {
        return v == "uniform";
    }
    measure_uniform(gpu).unwrap_or(false)
}

/// `candidates` without the texel twins (`is_twin`) unless [`texels_pay`] on this adapter:
/// where a texel fetch is not clearly cheaper than a storage load the twins rarely win, and
/// each would cost the tuner a compile per shape class (on lavapipe, seconds for the unrolled
/// kernels).
pub fn with_texel_twins<V: Copy>(
    gpu: &Gpu,
    candidates: Vec<(&'static str, V)>,
    is_twin: impl Fn(V) -> bool,
) -> Vec<(&'static str, V)> {
    if !candidates.iter().any(|c| is_twin(c.1)) || texels_pay(gpu) {
        return candidates;
    }
    candidates.into_iter().filter(|c| !is_twin(c.1)).collect()
}

/// Times the storage and texel probes and remembers the verdict (`None`: not measured now).
fn measure_texels(gpu: &Gpu) -> Option<bool> {
    measure_half(gpu, TEXELS_KEY, ["storage_vec4", "texel_vec4"], ["texels", "storage"])
}

/// Times the texel and uniform probes and remembers the verdict (`None`: not measured now).
fn measure_uniform(gpu: &Gpu) -> Option<bool> {
    measure_half(gpu, UNIFORM_KEY, ["texel_vec4", "uniform_f32"], ["uniform", "texels"])
}

/// Whether probe `kinds[1]` costs under half of probe `kinds[0]` (`tessera_device::probe`),
/// remembered under `key` as `verdicts[0]` (yes) or `verdicts[1]`; `None` where no tuning may
/// run now (past the allowance; always in the browser, which cannot block to time).
#[cfg(not(target_arch = "wasm32"))]
fn measure_half(gpu: &Gpu, key: &str, kinds: [&str; 2], verdicts: [&str; 2]) -> Option<bool> {
    if !may_time(gpu) {
        return None;
    }
    let t = std::time::Instant::now();
    let costs = tessera_device::probe::costs_of(gpu, &kinds, 3).ok()?;
    gpu.add_tuning_time(t.elapsed().as_secs_f64());
    let ns = |kind: &str| costs.iter().find(|c| c.kind == kind).map(|c| c.ns);
    let pay = ns(kinds[1])? < 0.5 * ns(kinds[0])?;
    gpu.remember_tuned(key, verdicts[usize::from(!pay)]);
    Some(pay)
}

#[cfg(target_arch = "wasm32")]
fn measure_half(_: &Gpu, _: &str, _: [&str; 2], _: [&str; 2]) -> Option<bool> {
    None
}

/// Whether a shape class may be timed now: inside another tuning's run (the register block
/// tuned on a register variant's first use), which that tuning's allowance already covers,
/// or while the device's allowance ([`Gpu::may_tune`]) lasts.
#[cfg(not(target_arch = "wasm32"))]
fn may_time(gpu: &Gpu) -> bool {
    nesting::inside() || gpu.may_tune()
}

/// The browser never times (see [`time_candidates`]).
#[cfg(target_arch = "wasm32")]
fn may_time(_: &Gpu) -> bool {
    false
}

/// The cache key of shape class `key` timed among `candidates`: the class and the candidates'
/// names, so a winner remembered among other candidates (an older version's, or a device
/// without some kernels) is timed again instead of shutting new candidates out.
pub fn cache_key<V>(key: &str, candidates: &[(&'static str, V)]) -> String {
    let names: Vec<&str> = candidates.iter().map(|c| c.0).collect();
    format!("{key} among {}", names.join("|"))
}

/// How candidates are timed: an untimed warm-up run each, then interleaved timed rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TunePlan {
    /// Timed rounds at most (the first follows each candidate's warm-up).
    pub max_rounds: usize,
    /// Seconds of kernel runs after which no further candidate and no further round starts.
    /// A warm-up is charged only as much as its candidate's timed run, so the one-time
    /// compile it pays (which later shape classes reuse) does not cut the tuning short.
    pub budget_s: f64,
    /// After a round, a candidate whose best time exceeds this multiple of the leader's is
    /// not timed again.
    pub drop_factor: f64,
}

impl TunePlan {
    /// The plan `choose` uses: up to 5 rounds, 2 s per shape class, drop at 2× the best.
    pub const DEFAULT: TunePlan = TunePlan { max_rounds: 5, budget_s: 2.0, drop_factor: 2.0 };

    /// The index of the winner among `n` candidates (most promising first; index 0 also wins
    /// ties), where `time(i)` runs candidate `i` once and returns its seconds. Round 1 warms
    /// up and times each candidate in order while the budget lasts; later rounds time the
    /// survivors round-robin (alternating direction, so a steady drift in load favours no one),
    /// and each candidate is ranked by its minimum, which a transient spike cannot lower.
    pub fn select<E>(
        &self,
        n: usize,
        mut time: impl FnMut(usize) -> std::result::Result<f64, E>,
    ) -> std::result::Result<usize, E> {
        if n < 2 {
            return Ok(0);
        }
        let (mut spent, mut best, mut live) = (0.0, vec![f64::INFINITY; n], Vec::new());
        for (i, b) in best.iter_mut().enumerate() {
            if i > 0 && spent >= self.budget_s {
                break; // candidates are listed most promising first: the rest are not tried
            }
            let warm = time(i)?; // first-use costs: the pipeline's compile, nested tuning
            *b = time(i)?;
            spent += warm.min(*b) + *b;
            live.push(i);
        }
        self.drop_slow(&mut live, &best);
        for round in 1..self.max_rounds {
            if live.len() < 2 || spent >= self.budget_s {
                break;
            }
            let order: Vec<usize> = match round % 2 {
                1 => live.iter().rev().copied().collect(),
                _ => live.clone(),
            };
            for i in order {
                let t = time(i)?;
                spent += t;
                best[i] = best[i].min(t);
            }
            self.drop_slow(&mut live, &best);
        }
        let winner = live.into_iter().reduce(|w, i| if best[i] < best[w] { i } else { w });
        Ok(winner.unwrap_or(0))
    }

    /// Keeps the candidates within `drop_factor` of the best time among them.
    fn drop_slow(&self, live: &mut Vec<usize>, best: &[f64]) {
        let lead = live.iter().map(|&i| best[i]).fold(f64::INFINITY, f64::min);
        live.retain(|&i| best[i] <= self.drop_factor * lead);
    }
}

/// Shortest timed sample, in seconds: a faster run is repeated inside one sample, so the submit
/// and wait around it (on a fast GPU longer than a small kernel's run) do not decide between
/// fast kernels.
#[cfg(not(target_arch = "wasm32"))]
const MIN_SAMPLE_S: f64 = 0.002;

/// Most runs in one sample.
#[cfg(not(target_arch = "wasm32"))]
const MAX_REPEATS: u32 = 32;

/// Times the candidates (the heuristic's first) under [`TunePlan::DEFAULT`]; the winner, or
/// `None` where timing is impossible (the browser). Time spent in tuning nested inside a run
/// (the register block tuned on a register variant's first use) counts against neither the
/// run nor this budget, and the outermost tuning's wall time goes to [`Gpu::add_tuning_time`].
#[cfg(not(target_arch = "wasm32"))]
fn time_candidates<V: Copy + PartialEq>(
    gpu: &Gpu,
    candidates: &[(&'static str, V)],
    heuristic: V,
    run: impl Fn(V) -> Result<GpuBuffer>,
) -> Result<Option<(&'static str, V)>> {
    let mut order: Vec<_> = candidates.iter().filter(|(_, v)| *v == heuristic).collect();
    order.extend(candidates.iter().filter(|(_, v)| *v != heuristic));
    let depth = nesting::Enter::new();
    gpu.synchronize()?;
    // Seconds per run of candidate `i` over `reps` runs recorded back to back, one wait.
    let sample = |i: usize, reps: u32| -> Result<f64> {
        let nested = nesting::nested_seconds();
        let t = std::time::Instant::now();
        for _ in 0..reps {
            drop(run(order[i].1)?);
        }
        gpu.synchronize()?;
        Ok((t.elapsed().as_secs_f64() - (nesting::nested_seconds() - nested)).max(0.0) / f64::from(reps))
    };
    let timed = |i: usize| -> Result<f64> {
        let once = sample(i, 1)?;
        if once >= MIN_SAMPLE_S || once <= 0.0 {
            return Ok(once);
        }
        sample(i, ((MIN_SAMPLE_S / once).ceil() as u32).clamp(2, MAX_REPEATS))
    };
    let winner = TunePlan::DEFAULT.select(order.len(), timed)?;
    if let Some(wall) = depth.leave() {
        gpu.add_tuning_time(wall);
    }
    Ok(Some(*order[winner]))
}

/// Tunings nested inside another tuning's runs on this thread, so their time is not charged to
/// the outer candidate that triggered them.
#[cfg(not(target_arch = "wasm32"))]
mod nesting {
    use std::cell::Cell;
    use std::time::Instant;

    thread_local! {
        static DEPTH: Cell<u32> = const { Cell::new(0) };
        static NESTED_S: Cell<f64> = const { Cell::new(0.0) };
    }

    /// Whether a tuning is in progress on this thread.
    pub(super) fn inside() -> bool {
        DEPTH.with(Cell::get) > 0
    }

    /// Seconds spent so far on this thread in tunings nested inside another.
    pub(super) fn nested_seconds() -> f64 {
        NESTED_S.with(Cell::get)
    }

    /// One tuning in progress; leaving it (or dropping it on an error) restores the depth.
    pub(super) struct Enter {
        start: Instant,
        done: bool,
    }

    impl Enter {
        pub(super) fn new() -> Self {
            DEPTH.with(|d| d.set(d.get() + 1));
            Self { start: Instant::now(), done: false }
        }

        /// Ends the tuning: its wall seconds when it was the outermost, else `None` (its time
        /// is added to the nested total instead).
        pub(super) fn leave(mut self) -> Option<f64> {
            self.done = true;
            self.exit()
        }

        fn exit(&self) -> Option<f64> {
            let wall = self.start.elapsed().as_secs_f64();
            let depth = DEPTH.with(|d| {
                d.set(d.get().saturating_sub(1));
                d.get()
            });
            if depth > 0 {
                NESTED_S.with(|s| s.set(s.get() + wall));
                return None;
            }
            Some(wall)
        }
    }

    impl Drop for Enter {
        fn drop(&mut self) {
            if !self.done {
                self.exit();
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn time_candidates<V: Copy + PartialEq>(
    _: &Gpu,
    _: &[(&'static str, V)],
    _: V,
    _: impl Fn(V) -> Result<GpuBuffer>,
) -> Result<Option<(&'static str, V)>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::TunePlan;

    /// A fake timer: `runs[i]` lists candidate `i`'s seconds run by run (warm-up first; the
    /// last value repeats). Returns the winner and how often each candidate ran.
    fn tune(plan: TunePlan, runs: &[&[f64]]) -> (usize, Vec<usize>) {
        let mut calls = vec![0; runs.len()];
        let winner = plan
            .select(runs.len(), |i| {
                let t = runs[i][calls[i].min(runs[i].len() - 1)];
                calls[i] += 1;
                Ok::<f64, ()>(t)
            })
            .unwrap();
        (winner, calls)
    }

    const PLAN: TunePlan = TunePlan { max_rounds: 4, budget_s: 100.0, drop_factor: 2.0 };

    #[test]
    fn a_candidate_slow_once_but_fastest_otherwise_wins() {
        // B's first timed run hits a load spike (1.5 s, where A takes 1.0); every other run of B
        // takes 0.8. One-shot timing would keep A.
        let (w, calls) = tune(PLAN, &[&[3.0, 1.0], &[3.0, 1.5, 0.8]]);
        assert_eq!(w, 1);
        assert_eq!(calls, vec![5, 5], "a warm-up and 4 rounds each");
        // The spike in a later round, and on the leader instead: still the true fastest.
        assert_eq!(tune(PLAN, &[&[3.0, 1.0], &[3.0, 0.8, 0.8, 2.5, 0.8]]).0, 1);
        assert_eq!(tune(PLAN, &[&[3.0, 0.7, 5.0, 0.7], &[3.0, 0.8]]).0, 0);
    }

    #[test]
    fn warm_up_costs_do_not_decide() {
        // C compiles slowly (a 50 s first run) but is the fastest kernel.
        let (w, calls) = tune(PLAN, &[&[1.0, 1.0], &[1.0, 0.9], &[50.0, 0.5]]);
        assert_eq!(w, 2);
        assert_eq!(calls[2], 5);
    }

    #[test]
    fn ties_go_to_the_heuristic_listed_first() {
        assert_eq!(tune(PLAN, &[&[1.0], &[1.0], &[1.0]]).0, 0);
    }

    #[test]
    fn clearly_slower_candidates_are_dropped_after_a_round() {
        // C is 3x the best in the first round: never timed again. B is 1.9x (kept) until its
        // best falls behind 2x A's improved best in round 2.
        let (w, calls) = tune(PLAN, &[&[1.0, 1.0, 0.5], &[1.0, 1.9, 1.9], &[1.0, 3.0, 0.1]]);
        assert_eq!(w, 0);
        assert_eq!(calls, vec![3, 3, 2]);
    }

    #[test]
    fn the_budget_stops_rounds_and_untried_candidates() {
        let plan = TunePlan { max_rounds: 10, budget_s: 1.0, drop_factor: 2.0 };
        // 0.3 s runs: two candidates warm up and run (1.2 s), so the third never starts and
        // no second round does.
        assert_eq!(tune(plan, &[&[0.3], &[0.3], &[0.3]]).1, vec![2, 2, 0]);
        // 0.25 s runs, a 2 s budget: round 1 spends 1.5 s, round 2 reaches 2.25 s, no round 3.
        let plan2 = TunePlan { budget_s: 2.0, ..plan };
        assert_eq!(tune(plan2, &[&[0.25], &[0.25], &[0.25]]).1, vec![3, 3, 3]);
        // The heuristic alone when its runs spend the budget.
        let plan3 = TunePlan { budget_s: 0.6, ..plan };
        assert_eq!(tune(plan3, &[&[0.5], &[0.1]]), (0, vec![2, 0]));
    }

    #[test]
    fn a_slow_compile_is_not_charged_to_the_budget() {
        // 5 s warm-ups (compiles), 0.2 and 0.1 s runs: charged 0.4 + 0.2 s in round 1, so
        // both candidates run and rounds go on until 1 s of runs (0.9 after round 2, 1.2 after 3).
        let plan = TunePlan { max_rounds: 10, budget_s: 1.0, drop_factor: 2.0 };
        assert_eq!(tune(plan, &[&[5.0, 0.2], &[5.0, 0.1]]), (1, vec![4, 4]));
    }

    #[test]
    fn one_candidate_and_errors() {
        assert_eq!(tune(PLAN, &[&[1.0]]), (0, vec![0]), "nothing to choose: nothing runs");
        let err = PLAN.select(3, |i| if i == 1 { Err("boom") } else { Ok(1.0) });
        assert_eq!(err, Err("boom"));
    }
}
