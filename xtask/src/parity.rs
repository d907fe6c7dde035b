//! `cargo xtask parity`: the reference outputs the Rust vision code is compared against.
//!
//! Runs `xtask/parity/reference.mjs`, which runs the reference implementation (`@vladmandic/face-api` on
//! TensorFlow.js, pinned in `xtask/parity/package-lock.json`) on the package's six demo photos and writes
//! `vision/tests/fixtures/images/*.png` (once) and `vision/tests/fixtures/reference/*.json`. Installs the Node
//! packages with `npm ci` when `node_modules` is missing or was installed from another lockfile.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The Node harness, relative to the project root.
const HARNESS_DIR: &str = "xtask/parity";
/// Copy of the lockfile that `node_modules` was installed from.
const INSTALLED_LOCK: &str = "node_modules/.parterre-installed-lock.json";
/// Oldest Node.js major version the harness runs on.
const MIN_NODE_MAJOR: u32 = 18;

/// Installs the harness's packages if needed, then runs it with `args` (e.g. `--backend cpu`).
pub fn run(args: &[String]) -> Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_reference(&args)?;
    eprintln!("parity: reference fixtures are in vision/tests/fixtures/");
    Ok(())
}

/// Checks Node.js, runs `npm ci` when needed, then runs `node reference.mjs args` in the harness directory (relative
/// paths in `args` resolve from there).
pub fn run_reference(args: &[&str]) -> Result<()> {
    let dir = Path::new(HARNESS_DIR);
    check_node()?;
    ensure_packages(dir)?;
    let mut cmd = vec!["reference.mjs"];
    cmd.extend(args);
    run_in(dir, "node", &cmd)
}

/// Fails clearly unless `node` (new enough) and `npm` can be run.
pub(crate) fn check_node() -> Result<()> {
    let node = version_of("node")?;
    let major: u32 = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .with_context(|| format!("cannot read the Node.js version from `{node}`"))?;
    if major < MIN_NODE_MAJOR {
        bail!("Node.js {node} is too old: the parity harness needs {MIN_NODE_MAJOR} or newer");
    }
    let npm = version_of("npm")?;
    eprintln!("parity: node {node}, npm {npm}");
    Ok(())
}

fn version_of(program: &str) -> Result<String> {
    let output = Command::new(program).arg("--version").output().with_context(|| {
        format!(
            "`{program}` not found: `cargo xtask parity` needs Node.js {MIN_NODE_MAJOR}+ and npm \
             (e.g. `apt-get install nodejs npm`)"
        )
    })?;
    if !output.status.success() {
        bail!("`{program} --version` failed ({})", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `npm ci` unless `node_modules` was installed from the current lockfile.
pub(crate) fn ensure_packages(dir: &Path) -> Result<()> {
    let lock_path = dir.join("package-lock.json");
    let lock = fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let installed = dir.join(INSTALLED_LOCK);
    if fs::read(&installed).is_ok_and(|previous| previous == lock) {
        return Ok(());
    }
    // No package needs its install scripts: the harness uses the pure-JS and WASM backends only.
    run_in(dir, "npm", &["ci", "--ignore-scripts", "--no-audit", "--no-fund"])?;
    fs::write(&installed, &lock).with_context(|| format!("writing {}", installed.display()))
}

/// Runs `program args` in `dir`, echoed, failing if it fails.
fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ (cd {} && {program} {})", dir.display(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` in {} failed ({status})", args.join(" "), dir.display());
    }
    Ok(())
}
