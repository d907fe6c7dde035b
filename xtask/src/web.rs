//! The browser build: parterre-wasm for wasm32 (release), bound to
//! JavaScript by the `wasm-bindgen` CLI, optimized by `wasm-opt` when it is
//! installed, and the worker script beside it: `target/web/`, served by the
//! server under `/web/`. The negative-control variant (frame wiping off, for
//! the browser test that shows its memory scan can fail) goes to
//! `target/web-negative-control/`, built in its own cargo target directory so
//! the two builds do not evict each other.
//!
//! The CLI must be exactly the version of the `wasm-bindgen` crate in
//! Cargo.lock (its generated glue and the crate's must agree); it is
//! installed with `cargo install` when missing or different.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};

use crate::run::{cargo, ensure_wasm_target, target_dir};

const CRATE: &str = "parterre-wasm";
const TARGET: &str = "wasm32-unknown-unknown";
const WORKER: &str = "wasm-frontend/web/worker.js";
/// What the wasm build's rustflags (.cargo/config.toml) and the Rust target
/// enable, so `wasm-opt` accepts and keeps them.
const WASM_OPT_FEATURES: [&str; 7] = [
    "--enable-simd",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds the browser files into `target/web` (or `target/web-negative-control`)
/// and returns that directory. Quick when everything is up to date.
pub fn build_web(negative_control: bool) -> Result<PathBuf> {
    ensure_wasm_target()?;
    let bindgen = ensure_bindgen(&locked_version("wasm-bindgen")?)?;
    let target_dir = target_dir()?;
    let (build_dir, out_dir) = match negative_control {
        false => (target_dir.clone(), target_dir.join("web")),
        true => (
            target_dir.join("wasm-negative-control"),
            target_dir.join("web-negative-control"),
        ),
    };
    let build_dir_arg = build_dir.to_string_lossy().into_owned();
    let mut args = vec!["build", "--package", CRATE, "--release", "--target", TARGET];
    args.extend(["--target-dir", &build_dir_arg]);
    if negative_control {
        args.extend(["--features", "negative-control"]);
    }
    cargo(&args)?;
    let wasm = build_dir.join(TARGET).join("release").join("parterre_wasm.wasm");
    let pkg = out_dir.join("pkg");
    let bound = pkg.join("parterre_wasm_bg.wasm");
    if is_newer(&bound, &wasm)? && pkg.join("parterre_wasm.js").exists() {
        eprintln!("{}: up to date", pkg.display());
    } else {
        run(Command::new(&bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm))?;
        optimize(&bound)?;
    }
    std::fs::copy(WORKER, out_dir.join("worker.js")).with_context(|| format!("copying {WORKER}"))?;
    let size_bytes = std::fs::metadata(&bound)
        .with_context(|| format!("reading {}", bound.display()))?
        .len();
    eprintln!("{}: {size_bytes} bytes", bound.display());
    Ok(out_dir)
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == name_line {
            let version = lines.next().and_then(|v| v.strip_prefix("version = \""));
            if let Some(version) = version.and_then(|v| v.strip_suffix('"')) {
                return Ok(version.to_owned());
            }
        }
    }
    bail!("{package} is not in Cargo.lock")
}

/// A `wasm-bindgen` CLI of exactly `version`: on PATH, in cargo's bin
/// directory, or installed there now.
fn ensure_bindgen(version: &str) -> Result<PathBuf> {
    let cargo_bin = cargo_bin_dir();
    let candidates = [
        Some(PathBuf::from("wasm-bindgen")),
        cargo_bin.as_ref().map(|d| d.join("wasm-bindgen")),
    ];
    for candidate in candidates.iter().flatten() {
        if cli_version(candidate).as_deref() == Some(version) {
            return Ok(candidate.clone());
        }
    }
    let started = Instant::now();
    eprintln!("installing wasm-bindgen-cli {version} (it must match the crate in Cargo.lock; a few minutes)");
    // Not --locked: the registry mirror lacks some of the CLI's locked dependencies.
    cargo(&["install", "wasm-bindgen-cli", "--version", version])?;
    eprintln!("wasm-bindgen-cli installed in {:.0} s", started.elapsed().as_secs_f64());
    let installed = cargo_bin
        .context("no cargo bin directory: set CARGO_HOME or HOME")?
        .join("wasm-bindgen");
    match cli_version(&installed) {
        Some(found) if found == version => Ok(installed),
        found => bail!("{} reports version {found:?}, not {version}", installed.display()),
    }
}

fn cargo_bin_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// `wasm-bindgen --version` prints `wasm-bindgen 0.2.130`; `None` if it does not run.
fn cli_version(cli: &Path) -> Option<String> {
    let output = Command::new(cli).arg("--version").output().ok()?;
    let printed = String::from_utf8_lossy(&output.stdout);
    printed.split_whitespace().nth(1).map(str::to_owned)
}

/// Runs `wasm-opt -O3` on `wasm` in place when it is installed.
fn optimize(wasm: &Path) -> Result<()> {
    if Command::new("wasm-opt").arg("--version").output().is_err() {
        eprintln!("wasm-opt not on PATH: skipped (install binaryen for a smaller, faster module)");
        return Ok(());
    }
    run(Command::new("wasm-opt")
        .arg("-O3")
        .args(WASM_OPT_FEATURES)
        .arg(wasm)
        .arg("-o")
        .arg(wasm))
}

/// Whether `output` exists and was written after `input`.
fn is_newer(output: &Path, input: &Path) -> Result<bool> {
    let modified = |path: &Path| -> Result<Option<SystemTime>> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some(meta.modified()?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    };
    let input_time = modified(input)?.with_context(|| format!("{} was not built", input.display()))?;
    Ok(modified(output)?.is_some_and(|output_time| output_time > input_time))
}

fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {command:?}");
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
