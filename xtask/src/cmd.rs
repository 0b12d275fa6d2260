//! Running commands loudly: every command is echoed before it runs, and a failure names the command.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The workspace root (the parent of xtask/).
pub fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(Path::to_path_buf).context("xtask/ has no parent directory")
}

/// Run `command`, echoing it first; fail with the command line if it fails.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(command));
    let status = command.status().with_context(|| format!("could not start `{}`", display(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(command));
    }
    Ok(())
}

/// Run `command` quietly and return its stdout, or `None` if it cannot start or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` starts and exits successfully with `args` (used to detect installed tools).
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    output(Command::new(program).args(args)).is_some()
}

pub fn display(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Print what is being installed and why, in one recognisable line.
pub fn announce_install(what: &str, why: &str) {
    eprintln!("xtask: installing {what} — {why}");
}
