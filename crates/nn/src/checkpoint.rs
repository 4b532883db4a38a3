//! Checkpoints: every variable (BatchNorm moving statistics included) and the optimizer's
//! state, saved as safetensors and written atomically (a temporary file in the same
//! directory, synced, then renamed over the target), so a crash never leaves half a file.

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
/// in errors. Every variable must be present with its exact shape.
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
    for (var, t) in vars.iter().zip(loaded) {
        var.assign(t)?;
    }
    if let Some(opt) = optimizer {
        let iterations = metadata.get("iterations").and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut state = HashMap::new();
        for name in st.names().into_iter().filter_map(|n| n.strip_prefix("optimizer/")) {
            state.insert(name.to_string(), read(&format!("optimizer/{name}"), &Device::Cpu)?);
        }
        opt.load_state(iterations, &state, vars)?;
    }
    Ok(CheckpointInfo { metadata })
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

/// Writes `bytes` to `path` via a synced temporary file in the same directory and a rename.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let shown = path.display().to_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| file_err(&shown, e))?;
    let name = path.file_name().ok_or_else(|| file_err(&shown, "not a file path"))?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(file_err(&shown, e));
    }
    Ok(())
}
