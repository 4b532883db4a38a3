//! Autotuning of kernel variants: on first use of a shape class, time each valid variant on
//! the real operands and keep the fastest, per adapter and driver, on disk (the cache and
//! `TESSERA_AUTOTUNE=off|on|force` live in `tessera_device::autotune`). The budget is small:
//! the heuristic's choice runs first, a variant whose first run takes more than twice the
//! best so far is not timed again, and no new candidate starts after 2 s on one shape class. In the browser (which cannot block to time) and with
//! `TESSERA_AUTOTUNE=off` the heuristic decides.

use tessera_device::{Gpu, GpuBuffer, TuneMode};

use crate::Result;

/// Picks the variant for shape class `key` among `candidates` (name, variant): the
/// remembered winner, else the fastest timed run of `run`, else `heuristic` (tuning off, or
/// fewer than two candidates). `heuristic` should be one of the candidates.
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
    if let Some(name) = gpu.tuned(key) {
        if let Some(&(_, v)) = candidates.iter().find(|(n, _)| *n == name) {
            return Ok(v);
        }
    }
    let Some(winner) = time_candidates(gpu, candidates, heuristic, run)? else { return Ok(heuristic) };
    gpu.remember_tuned(key, winner.0);
    Ok(winner.1)
}

/// Seconds of timing per shape class after which the remaining candidates are skipped
/// (candidates are listed most promising first).
#[cfg(not(target_arch = "wasm32"))]
const TUNE_BUDGET_S: f64 = 2.0;

/// Times every candidate (the heuristic's first) within [`TUNE_BUDGET_S`]; the fastest, or
/// `None` where timing is impossible (the browser).
#[cfg(not(target_arch = "wasm32"))]
fn time_candidates<V: Copy + PartialEq>(
    gpu: &Gpu,
    candidates: &[(&'static str, V)],
    heuristic: V,
    run: impl Fn(V) -> Result<GpuBuffer>,
) -> Result<Option<(&'static str, V)>> {
    let timed = |v: V| -> Result<f64> {
        let t = std::time::Instant::now();
        drop(run(v)?);
        gpu.synchronize()?;
        Ok(t.elapsed().as_secs_f64())
    };
    gpu.synchronize()?;
    let mut order: Vec<_> = candidates.iter().filter(|(_, v)| *v == heuristic).collect();
    order.extend(candidates.iter().filter(|(_, v)| *v != heuristic));
    let mut best: Option<(f64, &(&'static str, V))> = None;
    let start = std::time::Instant::now();
    for c in order {
        if best.is_some() && start.elapsed().as_secs_f64() > TUNE_BUDGET_S {
            break; // keep the first step fast: the rest of the candidates are not timed
        }
        let first = timed(c.1)?; // includes the kernel's first-use costs
        let cutoff = best.map_or(f64::INFINITY, |(b, _)| 2.0 * b);
        let t = if first > cutoff { first } else { first.min(timed(c.1)?) };
        if best.is_none_or(|(b, _)| t < b) {
            best = Some((t, c));
        }
    }
    Ok(best.map(|(_, c)| *c))
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
