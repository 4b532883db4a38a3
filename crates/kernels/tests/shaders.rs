//! Every WGSL file under `shaders/` (with the common helpers prepended, as the launchers do)
//! parses and validates with naga, the shader compiler wgpu uses — no GPU needed.

use std::path::Path;

#[test]
fn every_shader_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.extension().is_none_or(|e| e != "wgsl") || name == "common.wgsl" {
            continue;
        }
        let text = tessera_kernels::launch::shader_text(&name, &std::fs::read_to_string(&path).unwrap());
        let module =
            naga::front::wgsl::parse_str(&text).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&text)));
        let flags = naga::valid::ValidationFlags::all();
        naga::valid::Validator::new(flags, naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(module.entry_points.iter().all(|ep| ep.stage == naga::ShaderStage::Compute), "{name}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} shaders found in {}", dir.display());
}
