//! `tessera-web-assets`: prepares the browser demo's data files from the cached MNIST
//! dataset and a `tessera train lenet5` checkpoint (native only).
//!
//! ```text
//! tessera-web-assets --out web/dist [--train 4000] [--test 1000] [--weights checkpoints/lenet5.safetensors]
//! ```
//!
//! Writes `mnist-train.bin` and `mnist-test.bin` (see `native::write_subset` for the format) and,
//! with `--weights`, `lenet5.safetensors` holding only the model's variables.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    native::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};

    use anyhow::{bail, Context};
    use tessera::{checkpoint, Device};
    use tessera_data::{mnist, Split};

    /// Command-line settings.
    struct Args {
        out: PathBuf,
        train: usize,
        test: usize,
        weights: Option<PathBuf>,
    }

    /// Parses `--out DIR --train N --test N --weights PATH`.
    fn parse() -> anyhow::Result<Args> {
        let mut a = Args { out: PathBuf::from("web/dist"), train: 4000, test: 1000, weights: None };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--out" => a.out = value.into(),
                "--train" => a.train = value.parse()?,
                "--test" => a.test = value.parse()?,
                "--weights" => a.weights = Some(value.into()),
                _ => bail!("unknown flag {flag}; see the doc comment of crates/web/src/bin/assets.rs"),
            }
        }
        Ok(a)
    }

    /// Writes the first `n` images of a split as `TSMN`, u32 LE count, `count × 784` u8
    /// pixels (row-major, 0 = background), then `count` u8 labels.
    fn write_subset(split: Split, n: usize, path: &Path) -> anyhow::Result<()> {
        let ds = mnist::load(split, None)?;
        let n = n.min(ds.len());
        let mut bytes = b"TSMN".to_vec();
        bytes.extend((n as u32).to_le_bytes());
        bytes.extend(ds.images()[..n * 784].iter().map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8));
        bytes.extend(&ds.labels()[..n]);
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} ({n} images)", path.display());
        Ok(())
    }

    /// Copies a checkpoint's model variables (not the optimizer state) into `out`.
    fn export_weights(from: &Path, out: &Path) -> anyhow::Result<()> {
        let mut model = tessera::zoo::lenet5();
        model.build(&[28, 28, 1], &Device::Cpu, 0)?;
        let info = checkpoint::load(from, &model.variables(), None)?;
        let mut meta = vec![("source", from.display().to_string())];
        if let Some(acc) = info.metadata.get("test_accuracy") {
            meta.push(("test_accuracy", acc.clone()));
        }
        let bytes = checkpoint::to_bytes(&model.variables(), None, &meta)?;
        std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {} from {}", out.display(), from.display());
        Ok(())
    }

    /// Entry point.
    pub fn main() -> anyhow::Result<()> {
        let a = parse()?;
        std::fs::create_dir_all(&a.out)?;
        write_subset(Split::Train, a.train, &a.out.join("mnist-train.bin"))?;
        write_subset(Split::Test, a.test, &a.out.join("mnist-test.bin"))?;
        if let Some(w) = &a.weights {
            export_weights(w, &a.out.join("lenet5.safetensors"))?;
        }
        Ok(())
    }
}
