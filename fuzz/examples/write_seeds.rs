//! Writes the seed corpus `fuzz/seeds/<target>/` (run from `fuzz/`: `cargo run --example
//! write_seeds`), after checking every seed is read back without error.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let ck = tessera_fuzz::checkpoint_seed();
    let m = tessera_fuzz::model();
    let mut adam = tessera_nn::optimizers::Adam::default();
    tessera_nn::checkpoint::from_bytes(&ck, "seed", &m.variables(), Some(&mut adam))?;
    let mut files = vec![("checkpoint", "adam.safetensors", ck)];
    for (name, bytes) in tessera_fuzz::idx_seeds() {
        tessera_data::idx::parse_file_bytes(&bytes, Path::new(name), None)?;
        files.push(("idx", name, bytes));
    }
    for (name, bytes) in tessera_fuzz::cifar_seeds() {
        files.push(("cifar", name, bytes));
    }
    for (target, name, bytes) in files {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
    }
    println!("wrote {}", root.display());
    Ok(())
}
