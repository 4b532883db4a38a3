//! Checkpoints: every variable (BatchNorm moving statistics included) and the optimizer's
//! state, saved as safetensors and written atomically (a temporary file in the same
//! directory, synced, then renamed over the target), so a crash never leaves half a file;
//! and Keras weights by variable path ([`load_keras_weights`]).

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::layers::Param;
use crate::optimizers::Optimizer;
use crate::{Device, Error, Result, Tensor};

/// The format tag stored in every checkpoint's metadata.
pub const FORMAT: &str = "tessera-checkpoint-v1";

/// What a loaded checkpoint carried besides the tensors.
#[derive(Debug, Clone, Default)]
pub struct CheckpointInfo {
    /// The string metadata (format, optimizer, iterations, and the caller's own entries).
    pub metadata: HashMap<String, String>,
}

fn file_err(path: &str, msg: impl std::fmt::Display) -> Error {
    Error::File { path: path.to_string(), msg: msg.to_string() }
}

/// Serialises variables, optimizer state and `extra` metadata to safetensors bytes.
pub fn to_bytes(vars: &[Param], optimizer: Option<&dyn Optimizer>, extra: &[(&str, String)]) -> Result<Vec<u8>> {
    let mut named: Vec<(String, Tensor)> = vars.iter().map(|v| (format!("model/{}", v.name()), v.value())).collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(v) = vars.iter().find(|v| !seen.insert(v.name())) {
        return Err(file_err(
            "checkpoint",
            format!("two variables are named '{}'; names must be unique within a model", v.name()),
        ));
    }
    let mut meta: HashMap<String, String> = extra.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    meta.insert("format".into(), FORMAT.into());
    if let Some(opt) = optimizer {
        named.extend(opt.state()?.into_iter().map(|(n, t)| (format!("optimizer/{n}"), t)));
        meta.insert("optimizer".into(), opt.kind().into());
        meta.insert("iterations".into(), opt.iterations().to_string());
    }
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = named
        .into_iter()
        .map(|(n, t)| Ok((n, t.shape().to_vec(), bytemuck::cast_slice(&host_values(&t)?).to_vec())))
        .collect::<Result<_>>()?;
    let views = data
        .iter()
        .map(|(n, s, b)| Ok((n.as_str(), TensorView::new(Dtype::F32, s.clone(), b).map_err(|e| file_err(n, e))?)))
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(meta)).map_err(|e| file_err("checkpoint", e))
}

/// A tensor's values on the host (blocking readback on native; CPU tensors only on wasm).
pub(crate) fn host_values(t: &Tensor) -> Result<Vec<f32>> {
    #[cfg(not(target_arch = "wasm32"))]
    return t.to_vec();
    #[cfg(target_arch = "wasm32")]
    match t.device() {
        Device::Cpu => Ok(t.cpu_data().to_vec()),
        Device::Gpu(_) => Err(file_err("checkpoint", "use to_vec_async to read GPU tensors in the browser")),
    }
}

/// Restores variables (and optimizer state) from safetensors bytes; `origin` names the source
/// in errors. All or nothing: every variable must be present as F32 with its exact shape, the
/// file may hold no variable the model lacks, and the optimizer's kind, iteration count and
/// every slot (name, dtype, shape) are checked before anything is assigned.
pub fn from_bytes(
    bytes: &[u8],
    origin: &str,
    vars: &[Param],
    optimizer: Option<&mut dyn Optimizer>,
) -> Result<CheckpointInfo> {
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| file_err(origin, format!("not a valid safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| file_err(origin, e))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(file_err(origin, format!("not a Tessera checkpoint (format tag {:?})", metadata.get("format"))));
    }
    let read = |name: &str, dev: &Device| -> Result<Tensor> {
        let v = st.tensor(name).map_err(|_| file_err(origin, format!("missing tensor '{name}'")))?;
        if v.dtype() != Dtype::F32 {
            return Err(file_err(origin, format!("tensor '{name}' is {:?}, expected F32", v.dtype())));
        }
        Tensor::from_vec(bytemuck::pod_collect_to_vec(v.data()), v.shape(), dev)
    };
    let expected: std::collections::HashSet<String> = vars.iter().map(|v| format!("model/{}", v.name())).collect();
    let mut extra: Vec<&str> =
        st.names().into_iter().filter(|n| n.starts_with("model/") && !expected.contains(*n)).collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        return Err(file_err(origin, format!("the file holds variables the model lacks: {extra:?}")));
    }
    let mut loaded = Vec::with_capacity(vars.len());
    for var in vars {
        let t = read(&format!("model/{}", var.name()), var.value().device())?;
        if t.shape() != var.shape() {
            return Err(file_err(
                origin,
                format!(
                    "variable '{}' has shape {:?} in the file but {:?} in the model",
                    var.name(),
                    t.shape(),
                    var.shape()
                ),
            ));
        }
        loaded.push(t);
    }
    if let Some(opt) = optimizer {
        let mut state = HashMap::new();
        for name in st.names().into_iter().filter_map(|n| n.strip_prefix("optimizer/")) {
            state.insert(name.to_string(), read(&format!("optimizer/{name}"), &Device::Cpu)?);
        }
        let iterations = optimizer_iterations(origin, &metadata, opt.kind(), !state.is_empty())?;
        opt.load_state(iterations, &state, vars).map_err(|e| file_err(origin, e))?;
    }
    for (var, t) in vars.iter().zip(loaded) {
        var.assign(t)?;
    }
    Ok(CheckpointInfo { metadata })
}

/// The saved iteration count, checking that the file's optimizer is `kind` (when it saved
/// one) and that the count parses; 0 when the file has no optimizer state.
fn optimizer_iterations(origin: &str, metadata: &HashMap<String, String>, kind: &str, has_state: bool) -> Result<u64> {
    match metadata.get("optimizer") {
        Some(saved) if saved != kind => {
            Err(file_err(origin, format!("the checkpoint's optimizer is {saved}, but it is being loaded into {kind}")))
        }
        None if has_state => Err(file_err(origin, "optimizer tensors without an 'optimizer' metadata entry")),
        None => Ok(0),
        Some(_) => match metadata.get("iterations").map(|s| s.parse::<u64>()) {
            Some(Ok(i)) => Ok(i),
            other => Err(file_err(origin, format!("invalid optimizer iterations {other:?} in the metadata"))),
        },
    }
}

/// Saves a checkpoint to `path` atomically (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn save(
    path: &std::path::Path,
    vars: &[Param],
    optimizer: Option<&dyn Optimizer>,
    extra: &[(&str, String)],
) -> Result<()> {
    let bytes = to_bytes(vars, optimizer, extra)?;
    write_atomic(path, &bytes)
}

/// Loads a checkpoint from `path` into `vars` (and the optimizer) (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn load(path: &std::path::Path, vars: &[Param], optimizer: Option<&mut dyn Optimizer>) -> Result<CheckpointInfo> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| file_err(&shown, e))?;
    from_bytes(&bytes, &shown, vars, optimizer)
}

/// The string metadata of the checkpoint at `path` (what `save` was given, plus the format,
/// optimizer and iterations), without creating any tensor (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_metadata(path: &std::path::Path) -> Result<HashMap<String, String>> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| file_err(&shown, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| file_err(&shown, format!("not a valid safetensors file: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(file_err(&shown, format!("not a Tessera checkpoint (format tag {:?})", metadata.get("format"))));
    }
    Ok(metadata)
}

/// Writes `bytes` to `path` via a synced temporary file in the same directory and a rename.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let shown = path.display().to_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| file_err(&shown, e))?;
    let name = path.file_name().ok_or_else(|| file_err(&shown, "not a file path"))?.to_string_lossy();
    let prefix = format!(".{name}.tmp-");
    remove_stale_temps(dir, &prefix);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(file_err(&shown, e));
    }
    Ok(())
}

/// Loads Keras weights (every variable saved under its Keras path, e.g. `Conv1/kernel` or
/// `bn_Conv1/moving_mean`, as `tools/keras_to_safetensors.py` writes them) from safetensors
/// bytes into `vars`, Tessera's variables of the same paths. Keras's Sequential models prefix
/// paths with the model name (`sequential/dense/kernel`): `model_name` is stripped where
/// present. All or nothing: one error names every missing, unexpected, mis-shaped or
/// non-float32 variable. `origin` names the source in errors.
pub fn keras_weights_from_bytes(bytes: &[u8], origin: &str, vars: &[Param], model_name: &str) -> Result<()> {
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| file_err(origin, format!("not a valid safetensors file: {e}")))?;
    let prefix = format!("{model_name}/");
    let mut by_path: HashMap<&str, &str> = HashMap::new();
    for name in st.names() {
        let path = name.strip_prefix(prefix.as_str()).filter(|_| !model_name.is_empty()).unwrap_or(name);
        by_path.insert(path, name);
    }
    let mut problems = Vec::new();
    let mut loaded = Vec::with_capacity(vars.len());
    for var in vars {
        let Some(file_name) = by_path.remove(var.name()) else {
            problems.push(format!("missing variable '{}' {:?}", var.name(), var.shape()));
            continue;
        };
        let v = st.tensor(file_name).map_err(|e| file_err(origin, e))?;
        if v.dtype() != Dtype::F32 {
            problems.push(format!("variable '{file_name}' is {:?}, not F32", v.dtype()));
        } else if v.shape() != var.shape() {
            let (file, model) = (v.shape(), var.shape());
            problems.push(format!("variable '{file_name}' has shape {file:?} in the file but {model:?} in the model"));
        } else {
            loaded.push((
                var,
                Tensor::from_vec(bytemuck::pod_collect_to_vec(v.data()), v.shape(), var.value().device())?,
            ));
        }
    }
    let mut unexpected: Vec<&str> = by_path.into_values().collect();
    unexpected.sort_unstable();
    problems
        .extend(unexpected.into_iter().map(|n| format!("unexpected variable '{n}' (no such variable in the model)")));
    if !problems.is_empty() {
        return Err(file_err(origin, format!("Keras weights do not fit the model: {}", problems.join("; "))));
    }
    for (var, t) in loaded {
        var.assign(t)?;
    }
    Ok(())
}

/// Loads the Keras weights file at `path` (see [`keras_weights_from_bytes`]) into `model`'s
/// variables (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn load_keras_weights(model: &dyn crate::layers::Layer, path: &std::path::Path) -> Result<()> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| file_err(&shown, e))?;
    keras_weights_from_bytes(&bytes, &shown, &model.variables(), model.name())
}

/// Makes a rename in `dir` durable (syncs the directory; a no-op where directories cannot be
/// opened as files).
#[cfg(not(target_arch = "wasm32"))]
fn sync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    return std::fs::File::open(dir)?.sync_all();
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes temporaries `<prefix><pid>` left by interrupted saves: those of processes that are
/// gone (on Linux, no `/proc/<pid>`) or, elsewhere, older than an hour. Best effort.
#[cfg(not(target_arch = "wasm32"))]
fn remove_stale_temps(dir: &std::path::Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| n.strip_prefix(prefix)) else { continue };
        let alive = if std::path::Path::new("/proc/self").exists() {
            std::path::Path::new("/proc").join(pid).exists()
        } else {
            let age = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|m| m.elapsed().ok());
            age.is_none_or(|a| a < std::time::Duration::from_secs(3600))
        };
        if !alive && pid != std::process::id().to_string() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
