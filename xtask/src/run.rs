//! Running tools: cargo and rustup, echoed so a log shows what ran.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root: xtask's manifest sits one level below it.
pub fn project_root() -> Result<PathBuf> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").context("run xtask through `cargo xtask`")?;
    PathBuf::from(manifest_dir)
        .parent()
        .map(PathBuf::from)
        .context("xtask has no parent directory")
}

/// Where cargo puts what it builds (`CARGO_TARGET_DIR` or `target/`).
pub fn target_dir() -> Result<PathBuf> {
    Ok(cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("running cargo metadata")?
        .target_directory
        .into_std_path_buf())
}

/// Runs cargo with `args`, failing if it fails.
pub fn cargo(args: &[&str]) -> Result<()> {
    cargo_with_env(args, &[])
}

/// Runs cargo with `args` and extra environment variables.
pub fn cargo_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("starting {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Installs the wasm32 target unless it is there already.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the wasm32 target is installed through it)")?;
    let listed = String::from_utf8_lossy(&installed.stdout);
    if listed.lines().any(|line| line.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    eprintln!("$ rustup target add wasm32-unknown-unknown");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-unknown-unknown"])
        .status()
        .context("running rustup")?;
    if !status.success() {
        bail!("could not install the wasm32-unknown-unknown target ({status})");
    }
    Ok(())
}
