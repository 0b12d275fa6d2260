//! `cargo xtask fuzz [target …] [--runs N]`: the coverage-guided fuzz targets of `fuzz/` (cargo fuzz on
//! libFuzzer), each started from a corpus seeded with the test fixtures, for N executions (default one
//! million). cargo-fuzz is installed if missing; a stable toolchain builds the targets with
//! `RUSTC_BOOTSTRAP=1` and no sanitizer (`-s none`). A crash stops the task with the input saved under
//! `fuzz/artifacts/<target>/`: turn it into a regression test of the crate it broke.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// Each target and the fixtures (files or folders, relative to the root) its corpus starts from.
const TARGETS: [(&str, &[&str]); 6] = [
    ("safetensors", &["crates/weights/tests/fixtures/tiny.safetensors"]),
    (
        "torch_zip",
        &[
            "crates/weights/tests/fixtures/tiny_zip.pt",
            "crates/weights/tests/fixtures/nested_module.pt",
            "crates/weights/tests/fixtures/hostile.pt",
        ],
    ),
    ("torch_legacy", &["crates/weights/tests/fixtures/tiny_legacy.pth"]),
    ("pickle", &["fuzz/seeds/pickle"]),
    ("image", &["crates/input/tests/fixtures"]),
    ("graph_variants", &[]),
];

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut runs: u64 = 1_000_000;
    let mut chosen = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => runs = it.next().context("--runs takes a number")?.parse().context("--runs")?,
            name if TARGETS.iter().any(|(t, _)| *t == name) => chosen.push(name.to_owned()),
            other => bail!("unknown fuzz target {other:?}; the targets are {}", TARGETS.map(|(t, _)| t).join(", ")),
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.iter().map(|(t, _)| (*t).to_owned()).collect();
    }
    if !cmd::succeeds("cargo", &["fuzz", "--version"]) {
        cmd::announce_install("cargo-fuzz", "it builds and runs the libFuzzer targets of fuzz/");
        cmd::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    for target in &chosen {
        let corpus = root.join("fuzz/corpus").join(target);
        seed(root, target, &corpus)?;
        cmd::run(
            Command::new("cargo")
                .current_dir(root)
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", target.as_str(), "-s", "none"])
                .arg(&corpus)
                .args(["--", &format!("-runs={runs}"), "-max_len=65536", "-timeout=20", "-rss_limit_mb=4096"]),
        )
        .with_context(|| format!("fuzz target {target}: a crash is saved under fuzz/artifacts/{target}/"))?;
        eprintln!("xtask: fuzz target {target}: {runs} runs, no crash");
    }
    Ok(())
}

/// Copy the target's fixtures into its corpus folder (kept between runs: it grows with what libFuzzer
/// finds); the graph builder's seeds are the default variant of every zoo model.
fn seed(root: &Path, target: &str, corpus: &Path) -> Result<()> {
    std::fs::create_dir_all(corpus)?;
    let sources = TARGETS.iter().find(|(t, _)| *t == target).map_or(&[][..], |(_, s)| *s);
    for source in sources {
        let path = root.join(source);
        let files: Vec<_> = if path.is_dir() {
            std::fs::read_dir(&path)?.filter_map(|e| e.ok().map(|e| e.path())).collect()
        } else {
            vec![path]
        };
        for file in files {
            let name = file.file_name().context("a fixture has a name")?;
            std::fs::copy(&file, corpus.join(name)).with_context(|| format!("seeding from {}", file.display()))?;
        }
    }
    if target == "graph_variants" {
        // Model i at width 1.0 (1024/1024), 224², 1000 classes, nothing else set.
        for i in 0..=255u8 {
            let bytes = [i, 0, 0, 4, 224, 0, 0xe8, 3];
            std::fs::write(corpus.join(format!("model_{i}")), bytes)?;
        }
    }
    Ok(())
}
