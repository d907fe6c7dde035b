//! `cargo xtask models`: the vision weights, made from a pinned npm package.
//!
//! Nothing is fetched from a model hub: the weights come from
//! `@vladmandic/face-api`, pinned by version and by the tarball's integrity.
//! Each model Web Parterre uses is converted from its TF.js manifest and
//! shards to `models/<name>.safetensors`; the package's sample photos go to
//! `models/demo/`; `models/index.json` records what was made, so a second run
//! checks hashes and returns without calling npm.

mod convert;
mod package;

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::models::package::Contents;

/// Where the outputs go, relative to the project root (git-ignored).
const MODELS_DIR: &str = "models";

/// Bumped whenever the converter's output changes, so that older outputs are
/// made again instead of being taken as up to date.
const INDEX_FORMAT: u32 = 1;

/// A face-api model Web Parterre converts, with the counts the pinned package
/// gives. The package is pinned by its integrity, so a different count can
/// only mean the converter is wrong.
#[derive(Debug)]
struct Model {
    /// Stem of the TF.js files (`<name>_model-weights_manifest.json`) and of
    /// the output (`<name>.safetensors`).
    name: &'static str,
    tensors: usize,
    /// Elements of every tensor, whatever its dtype: for ssd_mobilenetv1 this
    /// includes its 20 int32 graph constants and 20,472 float32 anchors.
    parameters: usize,
}

const MODELS: [Model; 6] = [
    Model {
        name: "tiny_face_detector",
        tensors: 19,
        parameters: 193_321,
    },
    Model {
        name: "ssd_mobilenetv1",
        tensors: 151,
        parameters: 5_555_541,
    },
    Model {
        name: "face_landmark_68",
        tensors: 49,
        parameters: 356_840,
    },
    Model {
        name: "face_landmark_68_tiny",
        tensors: 28,
        parameters: 77_224,
    },
    Model {
        name: "face_expression",
        tensors: 49,
        parameters: 323_687,
    },
    Model {
        name: "age_gender",
        tensors: 51,
        parameters: 421_731,
    },
];

/// The package also ships face_recognition, whose output is a descriptor made
/// to tell people apart. Web Parterre does not identify people, so this model
/// is never extracted, converted or loaded.
const IDENTITY_MODEL: &str = "face_recognition";

/// The used model that a file of the package's `model/` folder belongs to
/// (`<name>_model-weights_manifest.json`, `<name>_model.bin`,
/// `<name>_model-shard1`), if any.
fn used_model(file_name: &str) -> Option<&'static Model> {
    let stem = file_name.split(['-', '.']).next()?;
    let name = stem.strip_suffix("_model")?;
    if name == IDENTITY_MODEL {
        return None;
    }
    MODELS.iter().find(|model| model.name == name)
}

/// `models/index.json`: what was made, from which package.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Index {
    format: u32,
    package: String,
    version: String,
    integrity: String,
    models: Vec<ModelEntry>,
    demo_images: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct ModelEntry {
    name: String,
    /// Relative to `models/`.
    file: String,
    sha256: String,
    size_bytes: u64,
    tensors: usize,
    parameters: usize,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct FileEntry {
    /// Relative to `models/`.
    file: String,
    sha256: String,
}

/// Makes the models unless `models/index.json` shows they are there already.
pub fn run() -> Result<()> {
    let started = Instant::now();
    let dir = Path::new(MODELS_DIR);
    if let Some(index) = current_index(dir) {
        eprintln!("models: up to date ({})", summary(&index));
        return Ok(());
    }
    let tarball = package::fetch(&dir.join(".cache"))?;
    let contents = package::extract(&tarball)?;
    let index = make_outputs(dir, &contents)?;
    let index_json = serde_json::to_string_pretty(&index)? + "\n";
    // Written last: an interrupted run leaves no index naming missing files.
    fs::write(dir.join("index.json"), index_json).context("writing models/index.json")?;
    eprintln!(
        "models: made in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        summary(&index)
    );
    Ok(())
}

/// Converts every used model and writes the demo images into `dir`.
fn make_outputs(dir: &Path, contents: &Contents) -> Result<Index> {
    fs::create_dir_all(dir.join("demo")).context("creating models/demo")?;
    let mut demo_images = Vec::new();
    for (name, bytes) in &contents.demo_images {
        let file = format!("demo/{name}");
        fs::write(dir.join(&file), bytes).with_context(|| format!("writing models/{file}"))?;
        demo_images.push(FileEntry {
            file,
            sha256: sha256_hex(bytes),
        });
    }
    let models = MODELS
        .iter()
        .map(|model| convert_model(dir, model, contents))
        .collect::<Result<Vec<_>>>()?;
    Ok(Index {
        format: INDEX_FORMAT,
        package: package::NAME.to_owned(),
        version: package::VERSION.to_owned(),
        integrity: package::INTEGRITY.to_owned(),
        models,
        demo_images,
    })
}

/// Converts one model to `dir/<name>.safetensors`, checking its counts.
fn convert_model(dir: &Path, model: &Model, contents: &Contents) -> Result<ModelEntry> {
    let manifest_name = format!("{}_model-weights_manifest.json", model.name);
    let manifest_json = contents
        .model_files
        .get(&manifest_name)
        .with_context(|| format!("the package has no model/{manifest_name}"))?;
    let manifest = convert::Manifest::parse(manifest_json).with_context(|| format!("reading model/{manifest_name}"))?;
    eprintln!("converting {} ({} tensors)…", model.name, manifest.tensor_count());
    let tensors = manifest
        .decode(&contents.model_files)
        .with_context(|| format!("converting {}", model.name))?;
    let parameters = tensors.iter().map(convert::Tensor::elements).sum();
    if (tensors.len(), parameters) != (model.tensors, model.parameters) {
        bail!(
            "{}: converted {} tensors holding {parameters} parameters, expected {} and {}; \
             the package is pinned, so the converter is wrong",
            model.name,
            tensors.len(),
            model.tensors,
            model.parameters
        );
    }
    let source = format!("{}@{} model/{manifest_name}", package::NAME, package::VERSION);
    let bytes = convert::to_safetensors(&tensors, &source)?;
    let file = format!("{}.safetensors", model.name);
    fs::write(dir.join(&file), &bytes).with_context(|| format!("writing models/{file}"))?;
    Ok(ModelEntry {
        name: model.name.to_owned(),
        file,
        sha256: sha256_hex(&bytes),
        size_bytes: u64::try_from(bytes.len())?,
        tensors: tensors.len(),
        parameters,
    })
}

/// The index in `dir` if it names the pinned package, the current format and
/// every used model, and every file it lists has its recorded sha256.
fn current_index(dir: &Path) -> Option<Index> {
    let json = fs::read(dir.join("index.json")).ok()?;
    // An index this version cannot read is made again, not an error.
    let index: Index = serde_json::from_slice(&json).ok()?;
    let names_match = index
        .models
        .iter()
        .map(|entry| entry.name.as_str())
        .eq(MODELS.iter().map(|model| model.name));
    if index.format != INDEX_FORMAT || index.integrity != package::INTEGRITY || !names_match {
        return None;
    }
    let files = index.models.iter().map(|entry| (&entry.file, &entry.sha256));
    let files = files.chain(index.demo_images.iter().map(|entry| (&entry.file, &entry.sha256)));
    for (file, sha256) in files {
        match fs::read(dir.join(file)) {
            Ok(bytes) if sha256_hex(&bytes) == *sha256 => {}
            _ => return None,
        }
    }
    Some(index)
}

/// One line for the logs: package, models, total size.
fn summary(index: &Index) -> String {
    let size_bytes: u64 = index.models.iter().map(|entry| entry.size_bytes).sum();
    format!(
        "{}@{}: {} models, {:.1} MB of safetensors, {} demo images",
        index.package,
        index.version,
        index.models.len(),
        size_bytes as f64 / 1e6,
        index.demo_images.len()
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
