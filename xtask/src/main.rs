//! Developer tasks for convscope: `cargo xtask <setup|serve|test|build-web|fuzz>`.
//!
//! Every task first installs what this machine lacks (idempotently, saying what and why), so the two README
//! commands — `cargo xtask serve` and `cargo xtask test` — work on a fresh machine.

use anyhow::{Result, bail};

mod assets;
mod cmd;
mod fuzz;
mod setup;
mod test;
mod web;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  setup              install what is missing: wasm toolchain, trunk, wasm-bindgen, Chromium, lavapipe, npm packages
  serve [--port N]   build the web app (release) and serve it on http://127.0.0.1:N (default 8080)
  build-web          build the web app into dist/ (release)
  test [--skip-e2e]  run every test: fmt, clippy, unit/integration/GPU/UI tests, then the browser end-to-end tests
  fuzz [target …] [--runs N]
                     run the libFuzzer targets of fuzz/ (default: all, 1 000 000 runs each) from corpora
                     seeded with the test fixtures; installs cargo-fuzz if missing
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        bail!("no task given");
    };
    let root = cmd::workspace_root()?;
    match task.as_str() {
        "setup" => setup::all(&root).map(|_| ()),
        "serve" => web::serve(&root, parse_port(rest)?),
        "build-web" => {
            let tools = setup::web(&root)?;
            web::build(&root, &tools)
        }
        "test" => test::run(&root, rest.iter().any(|a| a == "--skip-e2e")),
        "fuzz" => fuzz::run(&root, rest),
        "-h" | "--help" | "help" => {
            eprint!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown task {other:?}")
        }
    }
}

fn parse_port(args: &[String]) -> Result<u16> {
    match args {
        [] => Ok(8080),
        [flag, port] if flag == "--port" => Ok(port.parse()?),
        _ => bail!("serve takes only --port N, got {args:?}"),
    }
}
