//! Where the native frontend finds the model weights: the safetensors that
//! `cargo xtask models` converts from the pinned npm package. Vision never
//! opens a file; this module picks the directory and hands candle a path.
//!
//! The directory is, in order: the `--models` option, the `PARTERRE_MODELS`
//! environment variable, `models/` under the current directory, `models/`
//! beside the workspace this binary was built from.

use std::path::{Path, PathBuf};

use candle_nn::VarBuilder;
use parterre_vision::VisionError;
use parterre_vision::analyzer::ModelFile;

use crate::error::NativeError;

/// The environment variable naming the weights directory.
pub const MODELS_ENV: &str = "PARTERRE_MODELS";

/// The weights directory to use, checked to exist.
pub fn models_dir(option: Option<&Path>) -> Result<PathBuf, NativeError> {
    let candidates: Vec<PathBuf> = match option {
        Some(dir) => vec![dir.to_path_buf()],
        None => std::env::var_os(MODELS_ENV)
            .map(PathBuf::from)
            .into_iter()
            .chain([
                PathBuf::from("models"),
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"),
            ])
            .collect(),
    };
    candidates
        .iter()
        .find(|dir| dir.join("index.json").is_file())
        .cloned()
        .ok_or_else(|| {
            NativeError::InvalidArgument(format!(
                "no model weights in {}: run `cargo xtask models` in the Web Parterre workspace, \
                 or point --models or {MODELS_ENV} at its models/ directory",
                candidates
                    .iter()
                    .map(|dir| dir.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
        })
}

/// A loader for `FaceAnalyzer::new` reading `dir/<model>.safetensors`.
pub fn loader(dir: &Path) -> impl FnMut(ModelFile) -> Result<VarBuilder<'static>, VisionError> + '_ {
    move |model| {
        let path = dir.join(format!("{}.safetensors", model.stem()));
        if !path.is_file() {
            return Err(VisionError::InvalidOption(format!(
                "{} is missing: run `cargo xtask models`",
                path.display()
            )));
        }
        parterre_vision::weights::from_path(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_weights_is_a_clear_error() {
        let empty = std::env::temp_dir().join("parterre-no-models");
        std::fs::create_dir_all(&empty).expect("dir");
        let error = models_dir(Some(&empty)).expect_err("no weights");
        assert!(error.to_string().contains("cargo xtask models"), "{error}");
    }

    #[test]
    fn the_workspace_weights_are_found_and_load() {
        let dir = models_dir(None).expect("cargo xtask test converts the weights first");
        let mut load = loader(&dir);
        assert!(load(ModelFile::TinyFaceDetector).is_ok());
        match loader(Path::new("/nonexistent"))(ModelFile::AgeGender) {
            Err(missing) => assert!(missing.to_string().contains("cargo xtask models"), "{missing}"),
            Ok(_) => panic!("weights loaded from a directory that does not exist"),
        }
    }
}
