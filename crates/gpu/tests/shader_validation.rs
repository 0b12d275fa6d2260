//! Every `shaders/*.wgsl` parses and validates with naga, without a GPU (rerun's shader_validation habit).

#![allow(clippy::panic)]

use std::path::PathBuf;

fn shaders_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shaders")
}

/// Parses and validates `source` the way wgpu will (kernel files with common.wgsl in front).
fn validate(name: &str, source: &str) -> naga::Module {
    let module =
        naga::front::wgsl::parse_str(source).unwrap_or_else(|err| panic!("{name}: {}", err.emit_to_string(source)));
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty());
    validator.validate(&module).unwrap_or_else(|err| panic!("{name}: {}", err.emit_to_string(source)));
    module
}

#[test]
fn every_shader_parses_and_validates() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shaders_dir())
        .expect("shaders/ is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wgsl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .wgsl files found in {}", shaders_dir().display());

    for path in &files {
        let name = path.file_name().expect("file name").to_string_lossy().into_owned();
        let source = convscope_gpu::shaders::module_source(&name)
            .unwrap_or_else(|| panic!("{name} is not embedded (crates/gpu/src/shaders.rs)"));
        let module = validate(&name, &source);
        assert!(
            module.entry_points.iter().all(|ep| ep.stage == naga::ShaderStage::Compute),
            "{}: shaders/ holds compute kernels only",
            path.display()
        );
        // Every kernel file has entry points; common.wgsl only defines what they share.
        assert_eq!(module.entry_points.is_empty(), name == "common.wgsl", "{name}: entry points");
    }
}

#[test]
fn embedded_shader_list_matches_the_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(shaders_dir())
        .expect("shaders/ is readable")
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".wgsl"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = convscope_gpu::shaders::ALL.iter().map(|(name, _)| (*name).to_owned()).collect();
    embedded.sort();
    assert_eq!(on_disk, embedded, "crates/gpu/src/shaders.rs must embed every file in shaders/");
    for (name, source) in convscope_gpu::shaders::ALL {
        let on_disk = std::fs::read_to_string(shaders_dir().join(name)).expect("shader readable");
        assert_eq!(&on_disk, source, "{name}: embedded copy is stale");
    }
}

#[test]
fn activation_entry_points_exist() {
    let module = naga::front::wgsl::parse_str(convscope_gpu::shaders::ACTIVATION).expect("parses");
    for activation in convscope_gpu::Activation::ALL {
        let entry = module
            .entry_points
            .iter()
            .find(|ep| ep.name == convscope_gpu::activation::entry_point(activation))
            .unwrap_or_else(|| {
                panic!("activation.wgsl lacks entry point {}", convscope_gpu::activation::entry_point(activation))
            });
        assert_eq!(entry.workgroup_size, [256, 1, 1], "{}: WORKGROUP_SIZE in activation.rs is 256", entry.name);
    }
}
