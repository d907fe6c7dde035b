//! The headless-browser tests (`browser-tests/`, run with `node --test`): the pages the server serves, in
//! Debian's Chromium driven by playwright-core, against the real `parterre-server` binary.
//!
//! Installs what they need when it is missing, so a clean machine runs them with `cargo xtask test`: Chromium
//! (`apt-get`, as root only), the Node packages (`npm ci`, pinned in `browser-tests/package-lock.json`) and the
//! server binary (dev profile). Screenshots go to `target/browser-tests/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::parity::{check_node, ensure_packages};
use crate::run::{cargo, target_dir};
use crate::server_assets;

/// The test folder, relative to the project root.
const TESTS_DIR: &str = "browser-tests";
/// Where Debian's `chromium` package puts the browser.
const DEBIAN_CHROMIUM: &str = "/usr/bin/chromium";

/// Ensures Chromium, the Node packages and the server binary, then runs every browser test.
pub fn test() -> Result<()> {
    run_tests(TESTS_DIR, &[])
}

/// Runs `tests` (a test file or the whole folder) with `node --test`, with what they need ensured first and
/// `env` added to the test environment.
pub fn run_tests(tests: &str, env: &[(&str, &Path)]) -> Result<()> {
    let chromium = ensure_chromium()?;
    check_node()?;
    ensure_packages(Path::new(TESTS_DIR))?;
    // The panel's charting library is embedded into the binary at build time.
    server_assets::ensure()?;
    cargo(&["build", "--package", "parterre-server", "--bin", "parterre-server"])?;
    let target_dir = target_dir()?;
    let server = target_dir.join("debug").join("parterre-server");
    let output = output_dir()?;
    // Stale screenshots from an earlier run would pass for this run's.
    if output.exists() {
        std::fs::remove_dir_all(&output).with_context(|| format!("removing {}", output.display()))?;
    }
    let started = Instant::now();
    eprintln!("$ node --test {tests}");
    let status = Command::new("node")
        .args(["--test", tests])
        .env("PARTERRE_SERVER_BIN", &server)
        .env("CHROMIUM_PATH", &chromium)
        .env("PARTERRE_BROWSER_OUT", &output)
        .env("PARTERRE_WEB_DIR", target_dir.join("web"))
        .env("PARTERRE_WEB_DIR_NEGATIVE", target_dir.join("web-negative-control"))
        .env("PARTERRE_MODELS", std::path::absolute("models")?)
        .env("PARTERRE_FIXTURES_VIDEO", std::path::absolute("fixtures-video")?)
        .envs(env.iter().copied())
        .status()
        .context("starting node")?;
    if !status.success() {
        bail!(
            "the browser tests failed ({status}); screenshots in {}",
            output.display()
        );
    }
    eprintln!(
        "browser tests: passed in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        output.display()
    );
    Ok(())
}

/// Where the browser tests write screenshots and figures.
pub fn output_dir() -> Result<PathBuf> {
    Ok(target_dir()?.join("browser-tests"))
}

/// The Chromium binary: Debian's, or `chromium` on PATH; installed from Debian's packages when neither exists.
fn ensure_chromium() -> Result<PathBuf> {
    if let Some(found) = find_chromium() {
        return Ok(found);
    }
    if !running_as_root()? {
        bail!(
            "Chromium is missing and installing it needs root: run \
             `sudo apt-get install --no-install-recommends chromium` (or put a `chromium` on PATH)"
        );
    }
    let started = Instant::now();
    run_root("apt-get", &["update"])?;
    run_root("apt-get", &["install", "-y", "--no-install-recommends", "chromium"])?;
    eprintln!(
        "browser tests: chromium installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    find_chromium().context("`apt-get install chromium` succeeded but no chromium binary was found")
}

fn find_chromium() -> Option<PathBuf> {
    let debian = PathBuf::from(DEBIAN_CHROMIUM);
    if debian.is_file() {
        return Some(debian);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

fn running_as_root() -> Result<bool> {
    let output = Command::new("id").arg("-u").output().context("running `id -u`")?;
    Ok(output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Runs a package-manager command non-interactively, echoed, failing if it fails.
fn run_root(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
