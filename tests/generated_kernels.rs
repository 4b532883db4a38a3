//! The generated shader regions stay in sync with their generators: each `tools/gen_*.py`
//! is rerun in `--check` mode against the committed shader (needs `python3`; fails without it).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (this crate sits in `crates/tessera`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The generators and the shaders each one writes.
const GENERATORS: [(&str, &[&str]); 5] = [
    ("gen_matmul_reg.py", &["matmul.wgsl"]),
    ("gen_conv2d_reg.py", &["conv2d.wgsl"]),
    ("gen_subgroup_reg.py", &["matmul_subgroup.wgsl", "conv2d_subgroup.wgsl"]),
    ("gen_dense_grad.py", &["dense_grad.wgsl"]),
    ("gen_pool_pairs.py", &["pool.wgsl"]),
];

/// Runs `python3 <dir>/tools/<script> --check`; true when it reports no difference.
fn check(dir: &Path, script: &str) -> bool {
    let out = Command::new("python3")
        .arg(dir.join("tools").join(script))
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to check the generated shaders: {e}"));
    out.status.success()
}

#[test]
fn committed_shaders_match_their_generators() {
    for (script, shaders) in GENERATORS {
        assert!(
            check(&root(), script),
            "shaders/{shaders:?} differ from tools/{script}'s output: rerun tools/{script}"
        );
    }
}

#[test]
fn the_check_fails_on_an_edited_shader() {
    for (script, shaders) in GENERATORS {
        let dir = std::env::temp_dir().join(format!("tessera-gencheck-{}-{script}", std::process::id()));
        for sub in ["tools", "shaders"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // Every generator, since one may import another (the subgroup one reuses the conv body).
        for tool in std::fs::read_dir(root().join("tools")).unwrap().map(|e| e.unwrap().file_name()) {
            if tool.to_string_lossy().starts_with("gen_") && tool.to_string_lossy().ends_with(".py") {
                std::fs::copy(root().join("tools").join(&tool), dir.join("tools").join(&tool)).unwrap();
            }
        }
        let texts: Vec<String> =
            shaders.iter().map(|s| std::fs::read_to_string(root().join("shaders").join(s)).unwrap()).collect();
        for (shader, text) in shaders.iter().zip(&texts) {
            std::fs::write(dir.join("shaders").join(shader), text).unwrap();
        }
        // Each shader the script writes, edited alone, fails the check; the unedited copies pass.
        for (shader, text) in shaders.iter().zip(&texts) {
            let edited = edit_generated(text);
            assert_ne!(&edited, text, "{shader} has no generated region to edit");
            std::fs::write(dir.join("shaders").join(shader), &edited).unwrap();
            let caught = !check(&dir, script);
            std::fs::write(dir.join("shaders").join(shader), text).unwrap();
            assert!(caught, "tools/{script} --check accepted an edited {shader}");
        }
        let clean = check(&dir, script);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(clean, "tools/{script} --check rejected unedited copies of {shaders:?}");
    }
}

/// `text` with one line added inside its generated region (after the region's header line).
fn edit_generated(text: &str) -> String {
    let Some(start) = text.find("// BEGIN GENERATED") else { return text.to_string() };
    let Some(eol) = text[start..].find('\n') else { return text.to_string() };
    let at = start + eol + 1;
    format!("{}// a hand edit\n{}", &text[..at], &text[at..])
}
