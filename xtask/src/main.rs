//! xtask: the project's automation, in Rust so it runs wherever cargo does.
//!
//! `cargo xtask <command>`: see `HELP`. Every command is idempotent and
//! installs what it needs (the wasm32 target) when it is missing.

mod bench;
mod browser;
mod fixtures;
mod layering;
mod models;
mod parity;
mod run;
mod server_assets;
mod web;
mod web_bench;

use anyhow::{Context, Result, bail};

use crate::run::{cargo, ensure_wasm_target, project_root};

const HELP: &str = "\
cargo xtask <command>

commands:
  demo [ARGS]   start the server (SQLite, 40 simulated viewers) and print the
                panel and viewer URLs with the host token; builds the viewer's
                wasm and fetches the weights first when missing (ARGS go to
                `parterre-server serve`, e.g. --simulate 200 --context workplace)
  demo-native [ARGS]
                run the frame pool on a synthetic camera, printing the live
                permanence report (ARGS go to `parterre demo`, e.g. --seconds 5)
  test          every test: layering and docs check, the model weights
                (converted when missing), the workspace's tests, the browser
                files (both variants), and the headless-Chromium tests
  build-all     the weights, the native release build and the browser files
                in target/web
  build-web     only the browser files: target/web, target/web-negative-control
  ci            fmt check, clippy (native and wasm32, warnings denied), test
  bench [ARGS]  criterion benchmarks on one thread (RAYON_NUM_THREADS=1), then
                their medians, and a table against the reference (face-api in
                Node, as for parity) timed on the same input before and after
                criterion; --no-reference skips it, other ARGS go to criterion
  bench-web     the browser against native on the same work: every frame of
                the zoom video in a worker in headless Chromium and in
                `parterre bench`, same detector sizes; fails above 2.5x
  layering      check crate docs and that dependencies point down only
  parity [ARGS] run the reference (face-api on TensorFlow.js, in Node) on its demo
                photos into vision/tests/fixtures (npm ci when needed; ARGS go
                to xtask/parity/reference.mjs, e.g. --backend cpu)
  models        convert the face-api weights (pinned npm package, fetched
                with npm) to models/*.safetensors; quick when up to date
  fixtures      write small Y4M test videos from the demo photos to the
                git-ignored fixtures-video/ (pan, zoom, enter_leave, still,
                canary); quick when up to date
";

/// Crates that must build for the browser.
const WASM_CRATES: [&str; 3] = ["parterre-core", "parterre-vision", "parterre-wasm"];

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    std::env::set_current_dir(project_root()?).context("entering the project root")?;
    match command.as_str() {
        "demo" => demo(&rest),
        "demo-native" => demo_native(&rest),
        "test" => test(),
        "build-all" => build_all(),
        "build-web" => build_web(),
        "bench-web" => web_bench::run(),
        "ci" => ci(),
        "bench" => bench::run(&rest),
        "layering" => layering::check(),
        "parity" => parity::run(&rest),
        "models" => models::run(),
        "fixtures" => fixtures::run(),
        "" | "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

#[allow(clippy::print_stdout)] // help that was asked for goes to stdout
fn print_help() {
    print!("{HELP}");
}

fn demo(args: &[String]) -> Result<()> {
    // The panel's charting library is embedded at build time.
    server_assets::ensure()?;
    // The viewer page analyzes the camera with the wasm build and the weights.
    models::run()?;
    web::build_web(false)?;
    let mut cmd = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "parterre-server",
        "--",
        "serve",
        "--simulate",
        "40",
    ];
    cmd.extend(args.iter().map(String::as_str));
    cargo(&cmd)
}

fn demo_native(args: &[String]) -> Result<()> {
    let mut cmd = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "parterre-native",
        "--",
        "demo",
    ];
    cmd.extend(args.iter().map(String::as_str));
    cargo(&cmd)
}

fn test() -> Result<()> {
    layering::check()?;
    // The vision tests run the real models: make sure the weights are there.
    models::run()?;
    server_assets::ensure()?;
    // The native permanence test plays the test videos.
    fixtures::run()?;
    cargo(&["test", "--workspace", "--all-targets"])?;
    // Doc examples are tests too; --all-targets leaves them out.
    cargo(&["test", "--workspace", "--doc"])?;
    // The viewer page's worker and its negative control, before the browser tests load them.
    // Also the wasm32 build of core, vision and the adapter: they must run in a browser.
    build_web()?;
    browser::test()
}

fn build_all() -> Result<()> {
    models::run()?;
    server_assets::ensure()?;
    cargo(&["build", "--release", "--workspace"])?;
    // The product only: the negative-control variant is built by `test`.
    web::build_web(false).map(drop)
}

fn build_web() -> Result<()> {
    web::build_web(false)?;
    web::build_web(true).map(drop)
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "--deny", "warnings"])?;
    ensure_wasm_target()?;
    // The browser's rules (no threads, no blocking receives, no
    // Instant::now) live in their own clippy config, applied to wasm32 only.
    let mut cmd = vec!["clippy", "--target", "wasm32-unknown-unknown"];
    for krate in WASM_CRATES {
        cmd.extend(["--package", krate]);
    }
    cmd.extend(["--", "--deny", "warnings"]);
    run::cargo_with_env(&cmd, &[("CLIPPY_CONF_DIR", ".ci/clippy-wasm")])?;
    test()
}
