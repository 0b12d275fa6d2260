//! The README's commands, run as written: every `convscope` line of its shell blocks runs on this build
//! of the CLI (the user's own files — a photo, a torchvision checkpoint, an `.npy` — replaced by fixtures
//! under the same names), and every other command names a package, bench, test or xtask task that exists.
//! So the README cannot drift from the code again.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// How the README invokes the CLI: `cargo run --release -p convscope-cli -- <args>`.
const CLI_PREFIX: &[&str] = &["cargo", "run", "--release", "-p", "convscope-cli", "--"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the README's ```sh blocks, comments stripped, blank lines skipped.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            inside = !inside && trimmed == "```sh";
            continue;
        }
        if inside {
            let command = trimmed.split(" #").next().unwrap_or("").trim();
            if !command.is_empty() && !command.starts_with('#') {
                lines.push(command.to_owned());
            }
        }
    }
    lines
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

#[test]
fn the_readme_has_cli_commands_and_names_the_cli_package() {
    let lines = shell_lines(&readme());
    let cli: Vec<_> = lines.iter().filter(|l| l.contains("convscope-cli")).collect();
    assert!(cli.len() >= 8, "the README shows the CLI: {lines:#?}");
    for line in &lines {
        assert!(!line.contains("--bin convscope"), "`--bin convscope` is not a default-run binary: {line}");
        if line.contains("convscope-cli") {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(&words[..CLI_PREFIX.len()], CLI_PREFIX, "CLI lines start the same way: {line}");
        }
    }
}

/// A user's own file the README names, made from a fixture under that name in `dir`.
fn provide(name: &str, dir: &Path) {
    let target = dir.join(name);
    match name {
        "cat.jpg" => {
            let sample = root().join("assets/samples/chelsea.png");
            let photo = image::open(&sample)
                .unwrap_or_else(|e| panic!("{}: {e}; `cargo xtask setup` copies the sample photos", sample.display()));
            photo.to_rgb8().save(&target).expect("writing a JPEG");
        }
        // torchvision's SqueezeNet 1.1 checkpoint (a PyTorch zip), stored as float16 (tools/cli_fixtures.py).
        "squeezenet1_1-b8a52dc0.pth" => {
            std::fs::copy(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/squeezenet1_1_f16.pt"),
                &target,
            )
            .expect("copying the SqueezeNet fixture");
        }
        "x.npy" => write_npy(&target, &[1, 3, 224, 224]),
        "efficientnet-lite0-57934424.pth" => {
            let downloaded = root().join("target/downloads").join(name);
            assert!(
                downloaded.exists(),
                "{}: `cargo xtask setup` downloads it (the README says so)",
                downloaded.display()
            );
            std::fs::copy(downloaded, &target).expect("copying the downloaded checkpoint");
        }
        _ => {}
    }
}

/// A float32 `.npy` of `shape` holding a smooth pattern in [−1, 1].
fn write_npy(path: &Path, shape: &[usize]) {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims.join(", "));
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    let n: usize = shape.iter().product();
    for i in 0..n {
        bytes.extend_from_slice(&((i as f32 * 0.001).sin()).to_le_bytes());
    }
    std::fs::write(path, bytes).expect("writing the .npy");
}

#[test]
fn every_cli_command_of_the_readme_runs() {
    let dir = std::env::temp_dir().join(format!("convscope-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Paths in the README are relative to the repository root; outputs must not land there.
    #[cfg(unix)]
    std::os::unix::fs::symlink(root().join("assets"), dir.join("assets")).expect("linking assets/");

    let mut ran = 0;
    for line in shell_lines(&readme()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(..CLI_PREFIX.len()) != Some(CLI_PREFIX) {
            continue;
        }
        let args = &words[CLI_PREFIX.len()..];
        for arg in args {
            provide(arg, &dir);
        }
        let output = Command::new(env!("CARGO_BIN_EXE_convscope"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("convscope runs");
        assert!(
            output.status.success(),
            "README command failed: {line}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stdout.is_empty() || args.contains(&"convert"), "{line} printed nothing");
        ran += 1;
    }
    assert!(ran >= 8, "ran {ran} README commands");
    // What the commands said they would write.
    for written in ["y.npy", "maps", "lite0.safetensors"] {
        assert!(dir.join(written).exists(), "{written} was not written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn other_readme_commands_name_things_that_exist() {
    let root = root();
    // The tasks are dispatched in main.rs; their flags are parsed there or in the task's own file.
    let mut xtask = String::new();
    for entry in std::fs::read_dir(root.join("xtask/src")).expect("xtask/src") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            xtask.push_str(&std::fs::read_to_string(&path).expect("an xtask source"));
        }
    }
    for line in shell_lines(&readme()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let cargo_at = words.iter().position(|w| *w == "cargo");
        let Some(at) = cargo_at else {
            panic!("a README shell line that is not a cargo command: {line}");
        };
        let args = &words[at + 1..];
        match args.first().copied() {
            Some("xtask") => {
                let task = args.get(1).expect("an xtask task");
                assert!(xtask.contains(&format!("\"{task}\" =>")), "xtask has no task {task}: {line}");
                for flag in args.iter().skip(2).filter(|a| a.starts_with("--")) {
                    assert!(xtask.contains(&format!("\"{flag}\"")), "xtask {task} takes no {flag}: {line}");
                }
            }
            Some("run" | "bench" | "test" | "install") => {
                let value = |flag: &str| args.iter().position(|a| *a == flag).and_then(|i| args.get(i + 1)).copied();
                if let Some(package) = value("-p") {
                    let dir = package
                        .strip_prefix("convscope-")
                        .map_or_else(|| root.join(package), |d| root.join("crates").join(d));
                    assert!(dir.join("Cargo.toml").exists(), "no package {package}: {line}");
                    if let Some(bench) = value("--bench") {
                        assert!(dir.join("benches").join(format!("{bench}.rs")).exists(), "no bench {bench}: {line}");
                    }
                }
                if let Some(test) = value("--test") {
                    assert!(root.join("tests").join(format!("{test}.rs")).exists(), "no test {test}: {line}");
                }
                if let Some(path) = value("--path") {
                    assert!(root.join(path).join("Cargo.toml").exists(), "no package at {path}: {line}");
                }
            }
            other => panic!("unexpected cargo command {other:?}: {line}"),
        }
    }
}
