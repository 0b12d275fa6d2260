//! Build the web app with trunk, report its size, and serve it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::cmd;
use crate::setup::{self, WebTools};

/// `trunk build --release` into dist/, then print the wasm size raw and gzipped.
pub fn build(root: &Path, tools: &WebTools) -> Result<()> {
    cmd::run(tools.trunk(root).args(["build", "--release"]))?;
    report_wasm_size(&root.join("dist"))
}

/// Serve the app on 127.0.0.1 with trunk, which builds it first (release) and rebuilds on change.
pub fn serve(root: &Path, port: u16) -> Result<()> {
    crate::assets::install(root)?;
    let tools = setup::web(root)?;
    eprintln!("xtask: building, then serving convscope at http://127.0.0.1:{port}/  (Ctrl-C to stop)");
    let port = port.to_string();
    cmd::run(tools.trunk(root).args(["serve", "--release", "--address", "127.0.0.1", "--port", &port]))
}

fn report_wasm_size(dist: &Path) -> Result<()> {
    let wasm = std::fs::read_dir(dist)
        .with_context(|| format!("reading {}", dist.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .context("dist/ holds no .wasm file")?;
    let raw = std::fs::metadata(&wasm)?.len();
    let gzipped = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&wasm)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| out.stdout.len());
    let mib = |n: f64| n / (1024.0 * 1024.0);
    match gzipped {
        Some(gz) => {
            eprintln!("xtask: {}: {:.2} MiB raw, {:.2} MiB gzip -9", wasm.display(), mib(raw as f64), mib(gz as f64))
        }
        None => eprintln!("xtask: {}: {:.2} MiB raw (gzip not found)", wasm.display(), mib(raw as f64)),
    }
    Ok(())
}
