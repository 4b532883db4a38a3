//! Autotuning state per adapter: the mode (`TESSERA_AUTOTUNE=off|on|force`) and the cache of
//! measured winners (kernel family and shape class → variant name), kept on disk in one file
//! per adapter and driver — and, for a CPU adapter such as lavapipe, per host vector features
//! ([`cpu_tag`]), since its adapter string does not change when they do — and the allowance
//! ([`TuneBudget`]) that keeps a cold start fast. The timing itself lives with the kernels
//! (`tessera-kernels`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::{DeviceError, Result};

/// Whether kernels time their variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuneMode {
    /// Never time: use the per-adapter heuristic.
    Off,
    /// Use the cached winner; time the variants of a shape class on its first use while the
    /// [`TuneBudget`] allows, else on a later use.
    On,
    /// Time again on first use in this process, ignoring (and then replacing) cached winners,
    /// with no allowance.
    Force,
}

impl TuneMode {
    /// Parses `off`, `on` or `force` (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "0" | "false" => Ok(TuneMode::Off),
            "on" | "1" | "true" => Ok(TuneMode::On),
            "force" => Ok(TuneMode::Force),
            other => Err(DeviceError::Validation(format!("TESSERA_AUTOTUNE={other}: expected off, on or force"))),
        }
    }

    /// `$TESSERA_AUTOTUNE`, `On` when unset (and `Off` in the browser, which cannot block to time).
    pub fn from_env() -> Result<Self> {
        if cfg!(target_arch = "wasm32") {
            return Ok(TuneMode::Off);
        }
        match std::env::var("TESSERA_AUTOTUNE") {
            Ok(v) if !v.is_empty() => Self::parse(&v),
            _ => Ok(TuneMode::On),
        }
    }
}

/// How much of a process's time autotuning may take, so that a cold start (no cached winner:
/// every candidate compiled and timed — 11 s of LeNet-5's first step on lavapipe with a cold
/// driver cache, 79 s of ResNet-18's) stays fast: a shape class is timed only while the time
/// spent tuning is below `initial_s` plus `share` of the time since the device opened;
/// otherwise it runs the heuristic's variant, untimed and not remembered, and is timed on a
/// later use once the allowance has grown (or in the next process). One shape class may
/// overrun the allowance; the overrun delays the next. So tuning is spread over a run at a
/// tenth of its time instead of front-loaded into its first step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TuneBudget {
    /// Seconds of tuning allowed from the start.
    pub initial_s: f64,
    /// The part of the time since the device opened that tuning may add.
    pub share: f64,
}

impl TuneBudget {
    /// `TESSERA_AUTOTUNE=on`: half a second, plus a tenth of the time since the device opened.
    pub const DEFAULT: TuneBudget = TuneBudget { initial_s: 0.5, share: 0.1 };
    /// No limit: `TESSERA_AUTOTUNE=force`, and `tessera bench`, which times tuned kernels.
    pub const UNLIMITED: TuneBudget = TuneBudget { initial_s: f64::INFINITY, share: 0.0 };

    /// The allowance a device opened in `mode` starts with: none needed with `Force`.
    pub fn for_mode(mode: TuneMode) -> TuneBudget {
        match mode {
            TuneMode::Force => TuneBudget::UNLIMITED,
            TuneMode::On | TuneMode::Off => TuneBudget::DEFAULT,
        }
    }

    /// Whether a shape class may be timed after `spent_s` seconds of tuning, `elapsed_s`
    /// seconds after the device opened.
    pub fn allows(&self, spent_s: f64, elapsed_s: f64) -> bool {
        spent_s < self.initial_s + self.share * elapsed_s
    }
}

impl std::fmt::Display for TuneBudget {
    /// `0.5 s + 10% of the time since the device opened`, or `unlimited`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.initial_s.is_finite() {
            true => write!(f, "{} s + {}% of the time since the device opened", self.initial_s, self.share * 100.0),
            false => f.write_str("unlimited"),
        }
    }
}

/// Measured winners: `key<TAB>variant` lines, one per shape class; a third field
/// `provisional` marks a winner measured once on a GPU adapter, which the next process measures
/// again (see [`Tuning::lookup`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TuneCache {
    entries: BTreeMap<String, String>,
    provisional: BTreeSet<String>,
}

/// The third field of a provisional entry.
const PROVISIONAL: &str = "provisional";

impl TuneCache {
    /// Parses the file format: `key<TAB>variant[<TAB>provisional]` lines; `#` comments and
    /// malformed lines are ignored (a damaged cache costs a retune, never an error).
    pub fn parse(text: &str) -> Self {
        let mut cache = Self::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields[..] {
                [k, v] if !k.is_empty() && !v.is_empty() => cache.insert(k, v),
                [k, v, PROVISIONAL] if !k.is_empty() && !v.is_empty() => cache.insert_provisional(k, v),
                _ => {}
            }
        }
        cache
    }

    /// The file text for these entries (sorted by key).
    pub fn render(&self) -> String {
        let mut s =
            String::from("# tessera autotune cache: kernel/shape class<TAB>winning variant[<TAB>provisional]\n");
        for (k, v) in &self.entries {
            match self.provisional.contains(k) {
                true => s.push_str(&format!("{k}\t{v}\t{PROVISIONAL}\n")),
                false => s.push_str(&format!("{k}\t{v}\n")),
            }
        }
        s
    }

    /// Reads `path`; an empty cache when it is missing or unreadable.
    pub fn load(path: &Path) -> Self {
        std::fs::read_to_string(path).map(|t| Self::parse(&t)).unwrap_or_default()
    }

    /// Writes the cache to `path` (via a temporary file and a rename, so readers never see a
    /// half-written file), creating the directory.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, self.render())?;
        std::fs::rename(tmp, path)
    }

    /// The winner remembered for `key`, provisional or not.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// True when `key`'s winner is provisional (measured once on a GPU adapter).
    pub fn is_provisional(&self, key: &str) -> bool {
        self.provisional.contains(key)
    }

    /// Remembers `variant` as the winner for `key` (keys and variants must not contain tabs or
    /// line breaks; such entries are not kept).
    pub fn insert(&mut self, key: &str, variant: &str) {
        self.set(key, variant, false);
    }

    /// Remembers `variant` as `key`'s provisional winner.
    pub fn insert_provisional(&mut self, key: &str, variant: &str) {
        self.set(key, variant, true);
    }

    /// Remembers `variant` as `key`'s winner, provisional or confirmed.
    pub fn set(&mut self, key: &str, variant: &str, provisional: bool) {
        let bad = |s: &str| s.is_empty() || s.contains(['\t', '\n', '\r']);
        if bad(key) || bad(variant) {
            return;
        }
        self.entries.insert(key.to_string(), variant.to_string());
        match provisional {
            true => self.provisional.insert(key.to_string()),
            false => self.provisional.remove(key),
        };
    }

    /// Every (key, variant), sorted by key.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The directory autotune caches live in: `$TESSERA_CACHE`, else `$XDG_CACHE_HOME/tessera`,
/// else `~/.cache/tessera`; `None` when none is set.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("TESSERA_CACHE") {
        return Some(d);
    }
    if let Some(d) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(d.join("tessera"));
    }
    var("HOME").map(|h| h.join(".cache").join("tessera"))
}

/// The cache file for one adapter and driver inside `dir`: `autotune-<adapter_key>.txt`.
pub fn cache_file(dir: &Path, info: &wgpu::AdapterInfo) -> PathBuf {
    dir.join(format!("autotune-{}.txt", adapter_key(info, &cpu_tag())))
}

/// What cached results depend on, as a file-name part: adapter name, backend, driver and its
/// version, vendor and device ids, and for a CPU adapter (`DeviceType::Cpu`) also `cpu` (see
/// [`cpu_tag`]); every character outside `[A-Za-z0-9._-]` becomes `_`.
pub fn adapter_key(info: &wgpu::AdapterInfo, cpu: &str) -> String {
    let (name, backend, driver, version) = (&info.name, info.backend, &info.driver, &info.driver_info);
    let mut raw = format!("{name}-{backend:?}-{driver}-{version}-{:04x}-{:04x}", info.vendor, info.device);
    if info.device_type == wgpu::DeviceType::Cpu {
        raw = format!("{raw}-{cpu}");
    }
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

/// The x86 vector features a CPU adapter's generated code depends on, in Mesa's order: each
/// one's code paths need the ones before it (AVX2 and FMA hang off AVX, AVX-512F off AVX).
const X86_LADDER: [&str; 9] = ["sse", "sse2", "sse3", "ssse3", "sse4.1", "avx", "avx2", "fma", "avx512f"];

/// The host CPU as a CPU adapter's code generation sees it: on x86 the [`X86_LADDER`] features
/// that `is_x86_feature_detected!` reports, less those Mesa's `GALLIUM_OVERRIDE_CPU_CAPS`
/// turns off (see [`cpu_tag_from`]), joined by `_` (`sse_…_avx2_fma_avx512f`); elsewhere the
/// architecture's name. Core counts are not part of it.
pub fn cpu_tag() -> String {
    let over = std::env::var("GALLIUM_OVERRIDE_CPU_CAPS").ok();
    cpu_tag_from(&detected_x86(), over.as_deref())
}

/// [`cpu_tag`] for the `detected` features and an override value: as in Mesa's
/// `u_cpu_detect.c`, `nosse`, `sse`, `sse2`, `sse3`, `ssse3`, `sse4.1` and `avx` turn off the
/// feature after the named level (`avx`: AVX-512F; `sse4.1`: AVX) and everything that builds
/// on it; other values change nothing. With nothing detected, the architecture's name.
pub fn cpu_tag_from(detected: &[&str], override_caps: Option<&str>) -> String {
    const LEVELS: [&str; 7] = ["nosse", "sse", "sse2", "sse3", "ssse3", "sse4.1", "avx"];
    const CLEARS: [&str; 7] = ["sse", "sse2", "sse3", "ssse3", "sse4.1", "avx", "avx512f"];
    let cut = override_caps
        .and_then(|o| LEVELS.iter().position(|l| *l == o))
        .and_then(|i| X86_LADDER.iter().position(|f| *f == CLEARS[i]))
        .unwrap_or(X86_LADDER.len());
    let kept: Vec<&str> = X86_LADDER[..cut].iter().copied().filter(|f| detected.contains(f)).collect();
    match kept.is_empty() {
        true => std::env::consts::ARCH.to_string(),
        false => kept.join("_"),
    }
}

/// The [`X86_LADDER`] features this CPU has (none off x86).
fn detected_x86() -> Vec<&'static str> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        let has = [
            std::arch::is_x86_feature_detected!("sse"),
            std::arch::is_x86_feature_detected!("sse2"),
            std::arch::is_x86_feature_detected!("sse3"),
            std::arch::is_x86_feature_detected!("ssse3"),
            std::arch::is_x86_feature_detected!("sse4.1"),
            std::arch::is_x86_feature_detected!("avx"),
            std::arch::is_x86_feature_detected!("avx2"),
            std::arch::is_x86_feature_detected!("fma"),
            std::arch::is_x86_feature_detected!("avx512f"),
        ];
        X86_LADDER.iter().zip(has).filter(|(_, h)| *h).map(|(f, _)| *f).collect()
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    Vec::new()
}

/// A device's tuning state: the mode, the cache and where it is saved.
pub(crate) struct Tuning {
    pub(crate) mode: TuneMode,
    pub(crate) cache: TuneCache,
    pub(crate) path: Option<PathBuf>,
    /// Keys looked up or tuned in this process (what `tessera bench ops` reports).
    pub(crate) used: BTreeSet<String>,
    /// Keys measured in this process.
    measured: BTreeSet<String>,
    /// Whether a first measurement is provisional: on GPU adapters, not on CPU ones.
    confirm: bool,
    /// How much tuning this process may do ([`TuneBudget::UNLIMITED`] in `Force` mode).
    pub(crate) budget: TuneBudget,
    /// When the device opened (the budget's clock; `None` in the browser, which never tunes).
    opened: Option<std::time::Instant>,
}

impl Tuning {
    /// The state for an adapter: mode from the environment, cache from its file (not read in
    /// `Force` mode).
    pub(crate) fn for_adapter(info: &wgpu::AdapterInfo) -> Result<Self> {
        let mode = TuneMode::from_env()?;
        let confirm = info.device_type != wgpu::DeviceType::Cpu;
        let budget = TuneBudget::for_mode(mode);
        let opened = (!cfg!(target_arch = "wasm32")).then(std::time::Instant::now);
        let (cache, used, measured) = Default::default();
        let mut t = Self { mode, cache, path: None, used, measured, confirm, budget, opened };
        t.use_cache(cache_dir().map(|d| cache_file(&d, info)));
        Ok(t)
    }

    /// Whether a shape class may be timed now, `spent_s` seconds of tuning into the process.
    pub(crate) fn allows(&self, spent_s: f64) -> bool {
        let elapsed = self.opened.map_or(0.0, |t| t.elapsed().as_secs_f64());
        self.budget.allows(spent_s, elapsed)
    }

    /// Uses the cache file `path` from now on (loaded unless the mode is `Force`), or no file
    /// (an empty cache kept in memory) with `None`.
    pub(crate) fn use_cache(&mut self, path: Option<PathBuf>) {
        self.cache = match (&path, self.mode) {
            (Some(p), TuneMode::On) => TuneCache::load(p),
            _ => TuneCache::default(),
        };
        self.path = path;
        self.measured.clear();
    }

    /// The winner to use for `key`, or `None` to measure: a provisional winner counts only in
    /// the process that measured it. A GPU driver may run a shader slower in the process that
    /// first compiles it (NVIDIA's Vulkan driver did, here: some register-blocked convolutions
    /// 4x slower in the first process on a fresh machine, so that process's tuning chose a 5x
    /// slower kernel), so a GPU's first measurement is checked by the next process's.
    pub(crate) fn lookup(&mut self, key: &str) -> Option<String> {
        self.used.insert(key.to_string());
        if self.cache.is_provisional(key) && !self.measured.contains(key) {
            return None;
        }
        self.cache.get(key).map(str::to_string)
    }

    /// Records `variant` as `key`'s measured winner and returns the entry's new state on disk
    /// terms: provisional on a GPU adapter unless an earlier process's measurement (provisional)
    /// preceded this one.
    pub(crate) fn remember(&mut self, key: &str, variant: &str) -> bool {
        let provisional = self.confirm && !self.cache.is_provisional(key);
        self.used.insert(key.to_string());
        self.measured.insert(key.to_string());
        self.cache.set(key, variant, provisional);
        provisional
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_bad_values_are_errors() {
        assert_eq!(TuneMode::parse("off").unwrap(), TuneMode::Off);
        assert_eq!(TuneMode::parse("ON").unwrap(), TuneMode::On);
        assert_eq!(TuneMode::parse("force").unwrap(), TuneMode::Force);
        assert!(TuneMode::parse("sometimes").unwrap_err().to_string().contains("sometimes"));
    }

    #[test]
    fn the_cache_round_trips_and_skips_damaged_lines() {
        let mut c = TuneCache::default();
        c.insert("conv2d n32 h32", "register");
        c.insert("matmul 1024x1024x1024", "naive");
        c.insert("bad\tkey", "x");
        c.insert("k", "bad\nvariant");
        let text = c.render();
        assert_eq!(TuneCache::parse(&text), c);
        assert_eq!(c.entries().count(), 2);
        let damaged = format!("{text}no tab here\n\tvariant-without-key\nkey-only\t\n");
        assert_eq!(TuneCache::parse(&damaged), c);
        assert_eq!(c.get("conv2d n32 h32"), Some("register"));
        assert_eq!(c.get("absent"), None);
    }

    fn lavapipe() -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
            vendor: 0x10005,
            device: 0,
            device_type: wgpu::DeviceType::Cpu,
            device_pci_bus_id: String::new(),
            driver: "llvmpipe".into(),
            driver_info: "Mesa 22.3.6".into(),
            backend: wgpu::Backend::Vulkan,
            subgroup_min_size: 4,
            subgroup_max_size: 64,
            transient_saves_memory: None,
            limit_bucket: None,
        }
    }

    #[test]
    fn the_cache_is_saved_and_loaded_per_adapter_file() {
        let dir = std::env::temp_dir().join(format!("tessera-autotune-test-{}", std::process::id()));
        let info = lavapipe();
        let path = cache_file(&dir, &info);
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("autotune-llvmpipe__LLVM_15.0.6__256_bits_-Vulkan-llvmpipe-Mesa_22.3.6"), "{name}");
        assert!(name.ends_with(&format!("-{}.txt", cpu_tag())), "a CPU adapter's file names the CPU: {name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)), "{name}");
        let other = cache_file(&dir, &wgpu::AdapterInfo { driver_info: "Mesa 24.0".into(), ..info.clone() });
        assert_ne!(path, other, "another driver version gets its own file");
        assert_eq!(TuneCache::load(&path), TuneCache::default(), "a missing file is an empty cache");
        let mut c = TuneCache::default();
        c.insert("conv2d k", "direct");
        c.save(&path).unwrap();
        assert_eq!(TuneCache::load(&path), c);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn provisional_entries_round_trip_and_confirming_clears_the_mark() {
        let mut c = TuneCache::default();
        c.insert_provisional("conv2d a", "direct");
        c.insert("conv2d b", "register");
        let text = c.render();
        assert!(text.contains("conv2d a\tdirect\tprovisional\n") && text.contains("conv2d b\tregister\n"), "{text}");
        let back = TuneCache::parse(&text);
        assert_eq!(back, c);
        assert!(back.is_provisional("conv2d a") && !back.is_provisional("conv2d b"));
        assert_eq!(TuneCache::parse("k\tv\tsomething-else\n").entries().count(), 0, "an unknown third field");
        c.insert("conv2d a", "register");
        assert!(!c.is_provisional("conv2d a"));
        assert_eq!(c.get("conv2d a"), Some("register"));
    }

    /// A tuning state as a device with (`gpu`) or without a GPU adapter opens it from `cache`.
    fn state(gpu: bool, cache: TuneCache) -> Tuning {
        let none = Default::default;
        let (budget, opened) = (TuneBudget::DEFAULT, None);
        Tuning { mode: TuneMode::On, cache, path: None, used: none(), measured: none(), confirm: gpu, budget, opened }
    }

    #[test]
    fn the_allowance_starts_small_grows_with_the_run_and_force_lifts_it() {
        let b = TuneBudget::DEFAULT;
        assert!(b.allows(0.0, 0.0) && b.allows(0.49, 0.0), "half a second from the start");
        assert!(!b.allows(0.5, 0.0) && !b.allows(1.2, 5.0), "spent (an overrun included)");
        assert!(b.allows(1.2, 8.0) && !b.allows(1.6, 10.0), "a tenth of the run added");
        let zero = TuneBudget { initial_s: 0.0, share: 0.0 };
        assert!(!zero.allows(0.0, 1e6), "no allowance: never");
        assert!(TuneBudget::UNLIMITED.allows(1e9, 0.0));
        assert_eq!(TuneBudget::for_mode(TuneMode::Force), TuneBudget::UNLIMITED);
        assert_eq!(TuneBudget::for_mode(TuneMode::On), TuneBudget::DEFAULT);
        assert_eq!(b.to_string(), "0.5 s + 10% of the time since the device opened");
        assert_eq!(TuneBudget::UNLIMITED.to_string(), "unlimited");
        let mut t = state(false, TuneCache::default());
        assert!(t.allows(0.0) && !t.allows(0.6), "a fresh state: the default, its clock unstarted");
        t.budget = TuneBudget::UNLIMITED;
        assert!(t.allows(1e6));
    }

    #[test]
    fn a_gpus_first_measurement_is_checked_by_the_next_process() {
        // Process 1 on a GPU: nothing cached, it measures; the winner is provisional and used.
        let mut first = state(true, TuneCache::default());
        assert_eq!(first.lookup("k"), None);
        assert!(first.remember("k", "direct"), "provisional");
        assert_eq!(first.lookup("k").as_deref(), Some("direct"), "used in the process that measured it");
        // Process 2 reads that file: measures again, and its answer is final.
        let mut second = state(true, TuneCache::parse(&first.cache.render()));
        assert_eq!(second.lookup("k"), None, "a provisional winner from an earlier process");
        assert!(!second.remember("k", "register"), "confirmed");
        assert_eq!(second.lookup("k").as_deref(), Some("register"));
        // Process 3 uses it without measuring.
        let mut third = state(true, TuneCache::parse(&second.cache.render()));
        assert_eq!(third.lookup("k").as_deref(), Some("register"));
        // A CPU adapter's first measurement stands.
        let mut cpu = state(false, TuneCache::default());
        assert!(!cpu.remember("k", "register"));
        assert_eq!(state(false, TuneCache::parse(&cpu.cache.render())).lookup("k").as_deref(), Some("register"));
        assert!(cpu.used.contains("k") && third.used.contains("k"));
    }

    const AVX512: [&str; 9] = ["sse", "sse2", "sse3", "ssse3", "sse4.1", "avx", "avx2", "fma", "avx512f"];

    #[test]
    fn the_cpu_tag_follows_mesas_override() {
        let full = "sse_sse2_sse3_ssse3_sse4.1_avx_avx2_fma_avx512f";
        assert_eq!(cpu_tag_from(&AVX512, None), full);
        assert_eq!(cpu_tag_from(&AVX512, Some("avx")), "sse_sse2_sse3_ssse3_sse4.1_avx_avx2_fma");
        assert_eq!(cpu_tag_from(&AVX512, Some("sse4.1")), "sse_sse2_sse3_ssse3_sse4.1");
        assert_eq!(cpu_tag_from(&AVX512, Some("sse2")), "sse_sse2");
        assert_eq!(cpu_tag_from(&AVX512, Some("something-else")), full, "Mesa ignores unknown values");
        let avx2_machine = &AVX512[..8];
        assert_eq!(cpu_tag_from(avx2_machine, None), cpu_tag_from(&AVX512, Some("avx")), "the emulated machine");
        assert_eq!(cpu_tag_from(avx2_machine, Some("avx")), cpu_tag_from(avx2_machine, None));
        assert_eq!(cpu_tag_from(&[], None), std::env::consts::ARCH);
        assert_eq!(cpu_tag_from(&AVX512, Some("nosse")), std::env::consts::ARCH);
    }

    #[test]
    fn avx512_on_and_off_never_share_a_cache_but_gpus_ignore_the_cpu() {
        let info = lavapipe();
        let (on, off) = (cpu_tag_from(&AVX512, None), cpu_tag_from(&AVX512, Some("avx")));
        assert_ne!(adapter_key(&info, &on), adapter_key(&info, &off));
        assert!(adapter_key(&info, &off).ends_with("-sse_sse2_sse3_ssse3_sse4.1_avx_avx2_fma"));
        let gpu = wgpu::AdapterInfo { device_type: wgpu::DeviceType::DiscreteGpu, ..info };
        assert_eq!(adapter_key(&gpu, &on), adapter_key(&gpu, &off));
    }

    /// Prints this process's [`cpu_tag`] when `TESSERA_PRINT_CPU_TAG` is set (for the test below).
    #[test]
    fn print_cpu_tag_for_parent() {
        if std::env::var_os("TESSERA_PRINT_CPU_TAG").is_some() {
            println!("CPU_TAG={}", cpu_tag());
        }
    }

    #[test]
    fn the_override_in_the_environment_reaches_the_tag() {
        let tag_with = |over: Option<&str>| {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.args(["--exact", "autotune::tests::print_cpu_tag_for_parent", "--nocapture", "--test-threads", "1"]);
            cmd.env("TESSERA_PRINT_CPU_TAG", "1").env_remove("GALLIUM_OVERRIDE_CPU_CAPS");
            if let Some(o) = over {
                cmd.env("GALLIUM_OVERRIDE_CPU_CAPS", o);
            }
            let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
            let tag = out.split_whitespace().find_map(|w| w.strip_prefix("CPU_TAG="));
            tag.map(str::to_string).unwrap_or_else(|| panic!("no CPU_TAG in {out}"))
        };
        let detected = detected_x86();
        assert_eq!(tag_with(None), cpu_tag_from(&detected, None));
        assert_eq!(tag_with(Some("avx")), cpu_tag_from(&detected, Some("avx")));
        if detected.contains(&"avx512f") {
            assert_ne!(tag_with(None), tag_with(Some("avx")));
        }
    }
}
