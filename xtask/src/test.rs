//! `cargo xtask test`: every test the project has, cheapest first, with a timing summary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{cmd, setup, web};

// xtask is native-only, where std::time::Instant (which web_time re-exports natively) is fine.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
pub fn run(root: &Path, skip_e2e: bool) -> Result<()> {
    let mut phases: Vec<(&str, f64)> = Vec::new();
    let mut timed = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let started = web_time::Instant::now();
        eprintln!("xtask: ── {name} ──");
        f().with_context(|| format!("phase `{name}` failed"))?;
        phases.push((name, started.elapsed().as_secs_f64()));
        Ok(())
    };

    let mut tools = None;
    let mut chromium = None;
    timed("setup", &mut || {
        setup::gpu()?;
        crate::assets::install(root)?;
        if !skip_e2e {
            tools = Some(setup::web(root)?);
            chromium = Some(setup::e2e(root)?);
        }
        Ok(())
    })?;
    timed("rustfmt", &mut || cmd::run(cargo(root).args(["fmt", "--all", "--check"])))?;
    timed("clippy", &mut || {
        cmd::run(cargo(root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
    })?;
    timed("cargo test (unit, shaders, GPU compute, UI snapshots)", &mut || {
        cmd::run(cargo(root).args(["test", "--workspace"]).env("CONVSCOPE_REQUIRE_GPU", "1"))
    })?;
    timed("CPU engine tests as on an AVX2-only CPU (AVX-512 hidden)", &mut || avx2_only(root))?;
    if let (Some(tools), Some(chromium)) = (&tools, &chromium) {
        timed("web build (trunk, release)", &mut || web::build(root, tools))?;
        timed("browser end-to-end (Chromium: WebGPU and CPU fallback)", &mut || e2e(root, chromium))?;
    } else {
        eprintln!("xtask: browser end-to-end tests skipped (--skip-e2e)");
    }

    eprintln!("xtask: timings");
    for (name, secs) in &phases {
        eprintln!("  {secs:>7.1} s  {name}");
    }
    let total: f64 = phases.iter().map(|(_, secs)| secs).sum();
    eprintln!("  {total:>7.1} s  total");
    // The one line on stdout: the closing summary CI reads.
    #[allow(clippy::print_stdout)]
    {
        println!("xtask: {} passed, 0 failed", phases.len());
    }
    Ok(())
}

/// The CPU engine's tests again with AVX-512 hidden from CPUID (tools/no_avx512.c preloaded), so its
/// AVX2 kernels and the engine's choices with them are tested on machines that have AVX-512 too. Where
/// the CPU has no AVX-512 the tests above already ran that way; where Linux cannot fault CPUID or gcc is
/// missing, it says so and skips. The AVX-512 kernels' own tests are left out (they were built knowing
/// the host has AVX-512 and would refuse).
fn avx2_only(root: &Path) -> Result<()> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flag = |f: &str| cpuinfo.split_whitespace().any(|w| w == f);
    if !flag("avx512f") {
        eprintln!("xtask: no AVX-512 here: the tests above ran the AVX2 kernels");
        return Ok(());
    }
    if !flag("cpuid_fault") || Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("xtask: skipped: needs CPUID faulting (cpuid_fault in /proc/cpuinfo) and gcc");
        return Ok(());
    }
    let mask = root.join("target/no_avx512.so");
    cmd::run(
        Command::new("gcc").args(["-O2", "-shared", "-fPIC", "-o"]).arg(&mask).arg(root.join("tools/no_avx512.c")),
    )?;
    // Only the test binaries run with the mask (as cargo's runner): rustc replaces the SIGSEGV handler the
    // mask relies on, so the compiler itself must not load it.
    let runner = format!("env LD_PRELOAD={}", mask.display());
    cmd::run(
        cargo(root)
            .args(["test", "-p", "convscope-cpu", "--lib", "--tests", "--", "--skip", "avx512"])
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", runner),
    )
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command.env("XDG_RUNTIME_DIR", runtime_dir());
    command
}

fn e2e(root: &Path, chromium: &Path) -> Result<()> {
    cmd::run(
        Command::new("npm")
            .args(["test"])
            .current_dir(root.join("tests/e2e"))
            .env("CONVSCOPE_CHROMIUM", chromium)
            .env("CONVSCOPE_DIST", root.join("dist")),
    )
}

/// A private 0700 directory for XDG_RUNTIME_DIR: lavapipe/winit complain when it is unset or shared.
fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).filter(|d| d.is_dir()) {
        return dir;
    }
    let dir = std::env::temp_dir().join(format!("convscope-xdg-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    dir
}
