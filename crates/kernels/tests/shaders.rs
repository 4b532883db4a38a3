//! Every WGSL file under `shaders/` (with the common helpers prepended, and a subgroup file
//! after its family's shader, as the launchers do) parses and validates with naga, the shader
//! compiler wgpu uses — no GPU needed.

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
        // A family's subgroup file is compiled after the family's shader, as its launcher does.
        let family =
            name.strip_suffix("_subgroup.wgsl").map(|f| std::fs::read_to_string(dir.join(format!("{f}.wgsl"))));
        let embedded = family.transpose().unwrap().unwrap_or_default() + &std::fs::read_to_string(&path).unwrap();
        let text = tessera_kernels::launch::shader_text(&name, &embedded);
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
