//! Install what the build and the tests need, idempotently: a second run installs nothing.
//!
//! Routes, in order of preference (see ARCHITECTURE.md, "Toolchains"):
//! - wasm32: `rustup target add`; where rustup cannot download it, Debian's Rust (`rustc-web`) with build-std.
//! - trunk and wasm-bindgen-cli: `cargo install`, wasm-bindgen at exactly Cargo.lock's version.
//! - Chromium, lavapipe (Vulkan on the CPU), Debian's Rust: apt-get, on Debian/Ubuntu machines.
//! - wasm-opt and playwright-core: npm, pinned by package-lock.json.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const TRUNK_VERSION: &str = "0.22.1";
/// Debian packages for the wasm build when rustup cannot add the target (TOOLCHAIN.md): Rust 1.96 with
/// std sources, and the linker that makes `rust-lld` real.
const DEBIAN_WASM_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// How the wasm32 build gets its standard library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmRoute {
    /// rustup's prebuilt `wasm32-unknown-unknown` std.
    Rustup,
    /// Debian's Rust at /usr/bin with `-Zbuild-std` (needs RUSTC_BOOTSTRAP=1 on a stable compiler).
    DebianBuildStd,
}

/// Everything the web build needs to know about the installed tools.
pub struct WebTools {
    pub route: WasmRoute,
    /// PATH for trunk: wasm-opt from npm first, then Debian's cargo on the Debian route, then the rest.
    pub path: OsString,
}

impl WebTools {
    /// A `trunk` command with this toolchain's environment.
    pub fn trunk(&self, root: &Path) -> Command {
        let mut command = Command::new("trunk");
        command.current_dir(root).env("PATH", &self.path);
        if self.route == WasmRoute::DebianBuildStd {
            // Only this build uses the unstable build-std; rustup's toolchain must not leak in.
            command
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("RUSTC")
                .env_remove("CARGO");
        }
        command
    }
}

/// Everything: the native GPU driver, the web toolchain, and the browser test dependencies.
pub fn all(root: &Path) -> Result<WebTools> {
    gpu()?;
    crate::assets::install(root)?;
    let tools = web(root)?;
    e2e(root)?;
    Ok(tools)
}

/// lavapipe, so native wgpu finds an adapter (a software Vulkan driver) on machines without a GPU.
pub fn gpu() -> Result<()> {
    if cfg!(target_os = "linux") && has_apt() {
        apt_install(
            &["mesa-vulkan-drivers", "libvulkan1"],
            "lavapipe, a Vulkan driver on the CPU, so the wgpu compute and UI snapshot tests have an adapter",
        )?;
    }
    Ok(())
}

/// The wasm toolchain, wasm-bindgen, trunk and wasm-opt.
pub fn web(root: &Path) -> Result<WebTools> {
    ensure_cargo_bin_on_path();
    let route = wasm_target()?;
    let lock_version = wasm_bindgen_lock_version(root)?;
    check_trunk_toml(root, &lock_version)?;
    wasm_bindgen_cli(&lock_version)?;
    trunk()?;
    let web_tools_dir = root.join("xtask/web-tools");
    npm_ci(&web_tools_dir, "binaryen's wasm-opt 132 for release wasm (Debian's binaryen 108 breaks eframe modules)")?;

    let mut paths = vec![web_tools_dir.join("node_modules/.bin")];
    if route == WasmRoute::DebianBuildStd {
        paths.push(PathBuf::from("/usr/bin"));
    }
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let path = std::env::join_paths(paths).context("PATH entry with a separator in it")?;
    Ok(WebTools { route, path })
}

/// Chromium for the browser tests, and playwright-core to drive it.
pub fn e2e(root: &Path) -> Result<PathBuf> {
    if cfg!(target_os = "linux") && has_apt() {
        apt_install(&["chromium"], "the browser the end-to-end tests drive (playwright cannot download one here)")?;
    }
    let chromium = chromium_path().context(
        "no Chromium found: install chromium (or Google Chrome) or set CONVSCOPE_CHROMIUM to its executable",
    )?;
    npm_ci(&root.join("tests/e2e"), "playwright-core, which drives Chromium in the end-to-end tests")?;
    Ok(chromium)
}

/// The Chromium executable: `CONVSCOPE_CHROMIUM`, else the first of the usual names on PATH.
pub fn chromium_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CONVSCOPE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .find_map(|name| cmd::output(Command::new("which").arg(name)).map(|out| PathBuf::from(out.trim())))
}

fn wasm_target() -> Result<WasmRoute> {
    if rustup_has_wasm_std() {
        return Ok(WasmRoute::Rustup);
    }
    if cmd::succeeds("rustup", &["--version"]) {
        cmd::announce_install(&format!("the {WASM_TARGET} target"), "the web app is compiled to WebAssembly");
        match cmd::run(Command::new("rustup").args(["target", "add", WASM_TARGET])) {
            Ok(()) if rustup_has_wasm_std() => return Ok(WasmRoute::Rustup),
            Ok(()) => eprintln!("xtask: rustup reported success but the {WASM_TARGET} std is still missing"),
            Err(err) => eprintln!("xtask: rustup could not add {WASM_TARGET} ({err:#})"),
        }
    }
    if !has_apt() {
        bail!(
            "cannot get a {WASM_TARGET} standard library: `rustup target add {WASM_TARGET}` failed and this is not a Debian machine"
        );
    }
    apt_install(
        DEBIAN_WASM_PACKAGES,
        "Debian's Rust with std sources, to build the wasm32 std with build-std because rustup cannot download the target here",
    )?;
    if !Path::new("/usr/bin/cargo").exists() {
        bail!("installed {DEBIAN_WASM_PACKAGES:?} but /usr/bin/cargo is missing");
    }
    eprintln!("xtask: building wasm with Debian's Rust (/usr/bin/cargo) and build-std");
    Ok(WasmRoute::DebianBuildStd)
}

fn rustup_has_wasm_std() -> bool {
    let Some(libdir) = cmd::output(Command::new("rustc").args(["--print", "target-libdir", "--target", WASM_TARGET]))
    else {
        return false;
    };
    std::fs::read_dir(libdir.trim())
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
        .unwrap_or(false)
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
fn wasm_bindgen_lock_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().and_then(|l| l.strip_prefix("version = \"")?.strip_suffix('"'));
            return version.map(str::to_owned).context("Cargo.lock: wasm-bindgen entry without a version");
        }
    }
    bail!("Cargo.lock has no wasm-bindgen entry")
}

fn check_trunk_toml(root: &Path, lock_version: &str) -> Result<()> {
    let trunk_toml = std::fs::read_to_string(root.join("Trunk.toml")).context("reading Trunk.toml")?;
    let expected = format!("wasm_bindgen = \"{lock_version}\"");
    if !trunk_toml.lines().any(|line| line.trim_start().starts_with(&expected)) {
        bail!("Trunk.toml must say `{expected}` under [tools] to match Cargo.lock");
    }
    Ok(())
}

fn wasm_bindgen_cli(version: &str) -> Result<()> {
    let installed = cmd::output(Command::new("wasm-bindgen").arg("--version"));
    if installed.as_deref().map(str::trim) == Some(&format!("wasm-bindgen {version}")) {
        return Ok(());
    }
    cmd::announce_install(
        &format!("wasm-bindgen-cli {version}"),
        "trunk needs the wasm-bindgen CLI at exactly Cargo.lock's version (≈6 min)",
    );
    // No --locked: one of its locked dependency versions is missing from the registry mirror (TOOLCHAIN.md).
    cmd::run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", version]))
}

fn trunk() -> Result<()> {
    let installed = cmd::output(Command::new("trunk").arg("--version"));
    if installed.as_deref().map(str::trim) == Some(&format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    cmd::announce_install(&format!("trunk {TRUNK_VERSION}"), "it builds and serves the web app (≈10–16 min)");
    // trunk 0.22.1 declares rustc 1.96.1; it builds fine with 1.95.
    cmd::run(Command::new("cargo").args([
        "install",
        "--locked",
        "trunk",
        "--version",
        TRUNK_VERSION,
        "--ignore-rust-version",
    ]))
}

/// `npm ci` in `dir` unless its node_modules already reflect package-lock.json.
fn npm_ci(dir: &Path, why: &str) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let installed_marker = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if let (Some(installed), Some(locked)) = (modified(&installed_marker), modified(&lock))
        && installed >= locked
    {
        return Ok(());
    }
    if !cmd::succeeds("npm", &["--version"]) {
        bail!("npm is missing: install Node.js (≥ 18) with npm");
    }
    cmd::announce_install(&format!("the npm packages of {}", dir.display()), why);
    cmd::run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))
}

fn has_apt() -> bool {
    Path::new("/usr/bin/apt-get").exists() && Path::new("/usr/bin/dpkg-query").exists()
}

pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            let status = cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]));
            status.as_deref() != Some("install ok installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    cmd::announce_install(&format!("Debian packages {}", missing.join(" ")), why);
    let as_root = cmd::output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if as_root { Command::new("apt-get") } else { Command::new("sudo") };
        if !as_root {
            command.args(["-n", "apt-get"]);
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd::run(&mut command)
    };
    apt(&["update", "-q"]).context("apt-get update (as root, or with passwordless sudo)")?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)
}

/// `cargo install` puts tools in ~/.cargo/bin; make sure we find them even if PATH lacks it.
fn ensure_cargo_bin_on_path() {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let Some(bin) = cargo_home.map(|home| home.join("bin")) else { return };
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|p| p == bin) {
        return;
    }
    let joined = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)));
    if let Ok(joined) = joined {
        set_path(&joined);
    }
}

#[allow(unsafe_code)]
fn set_path(path: &OsString) {
    // SAFETY: called once at start-up from the main thread, before any other thread exists.
    unsafe { std::env::set_var("PATH", path) };
}
