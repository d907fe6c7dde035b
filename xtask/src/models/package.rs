//! The pinned npm package: fetched with npm, checked against its integrity,
//! and read straight from the tarball (only the files the project uses).

use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha512};

use crate::models::used_model;

pub const NAME: &str = "@vladmandic/face-api";
pub const VERSION: &str = "1.7.15";
/// The npm registry's integrity for 1.7.15 (sha512 of the .tgz, base64): a
/// republished or tampered tarball is refused.
pub const INTEGRITY: &str =
    "sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==";
/// The file name `npm pack` gives the tarball.
const TARBALL: &str = "vladmandic-face-api-1.7.15.tgz";

/// The photos of `package/demo/` that the parity harness and tests use.
const DEMO_IMAGES: [&str; 6] = [
    "sample1.jpg",
    "sample2.jpg",
    "sample3.jpg",
    "sample4.jpg",
    "sample5.jpg",
    "sample6.jpg",
];

/// The tarball's bytes, from `cache` when a verified copy is there, otherwise
/// fetched into `cache` with `npm pack`; refused unless it has [`INTEGRITY`].
pub fn fetch(cache: &Path) -> Result<Vec<u8>> {
    let path = cache.join(TARBALL);
    if let Ok(bytes) = fs::read(&path) {
        if check_integrity(&bytes).is_ok() {
            return Ok(bytes);
        }
    }
    fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    npm_pack(cache)?;
    let bytes = fs::read(&path).with_context(|| format!("npm pack did not leave {}", path.display()))?;
    check_integrity(&bytes)?;
    Ok(bytes)
}

fn npm_pack(cache: &Path) -> Result<()> {
    let spec = format!("{NAME}@{VERSION}");
    eprintln!("fetching {spec} with npm…");
    // --ignore-scripts: the package is data to us; none of its code may run.
    let args = ["pack", "--ignore-scripts", spec.as_str()];
    eprintln!("$ npm {}   (in {})", args.join(" "), cache.display());
    let output = match Command::new("npm").args(args).current_dir(cache).output() {
        Err(error) if error.kind() == ErrorKind::NotFound => {
            bail!("npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)")
        }
        result => result.context("starting npm")?,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // npm's JavaScript stack frames bury the reason (e.g. ECONNREFUSED).
        let lines: Vec<&str> = stderr.lines().filter(|line| !line.contains("    at ")).collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        bail!(
            "`npm {}` failed ({}); is the npm registry reachable? npm said:\n{tail}",
            args.join(" "),
            output.status
        );
    }
    Ok(())
}

/// Refuses `tarball` unless its sha512 is the pinned [`INTEGRITY`].
fn check_integrity(tarball: &[u8]) -> Result<()> {
    check_integrity_against(tarball, INTEGRITY)
}

fn check_integrity_against(tarball: &[u8], expected: &str) -> Result<()> {
    let actual = format!("sha512-{}", STANDARD.encode(Sha512::digest(tarball)));
    if actual != expected {
        bail!(
            "integrity mismatch for {TARBALL}: expected {expected}, got {actual}; \
             refusing a package that differs from the one pinned in xtask"
        );
    }
    Ok(())
}

/// The files of the package the project uses, by file name.
#[derive(Debug)]
pub struct Contents {
    /// Manifests and shards of the used models (`package/model/`).
    pub model_files: BTreeMap<String, Vec<u8>>,
    /// [`DEMO_IMAGES`] (`package/demo/`).
    pub demo_images: BTreeMap<String, Vec<u8>>,
}

/// Reads the used files out of the gzipped `tarball`, in memory: nothing
/// else of the package reaches the disk.
pub fn extract(tarball: &[u8]) -> Result<Contents> {
    let mut contents = Contents {
        model_files: BTreeMap::new(),
        demo_images: BTreeMap::new(),
    };
    let mut archive = tar::Archive::new(GzDecoder::new(tarball));
    for entry in archive.entries().context("reading the tarball")? {
        let mut entry = entry.context("reading the tarball")?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some((folder, file)) = wanted(&path) else {
            continue;
        };
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {path}"))?;
        let files = match folder {
            Folder::Model => &mut contents.model_files,
            Folder::Demo => &mut contents.demo_images,
        };
        files.insert(file.to_owned(), bytes);
    }
    let missing: Vec<&str> = DEMO_IMAGES
        .into_iter()
        .filter(|name| !contents.demo_images.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        bail!("the package lacks package/demo/{}", missing.join(", package/demo/"));
    }
    Ok(contents)
}

enum Folder {
    Model,
    Demo,
}

/// Whether the tarball entry at `path` is used, and where it belongs.
fn wanted(path: &str) -> Option<(Folder, &str)> {
    if let Some(file) = path.strip_prefix("package/model/") {
        return used_model(file).map(|_| (Folder::Model, file));
    }
    let file = path.strip_prefix("package/demo/")?;
    DEMO_IMAGES.contains(&file).then_some((Folder::Demo, file))
}

#[cfg(test)]
mod tests;
