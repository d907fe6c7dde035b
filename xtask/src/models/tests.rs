use std::fs;
use std::path::PathBuf;

use super::{
    FileEntry, IDENTITY_MODEL, INDEX_FORMAT, Index, MODELS, ModelEntry, current_index, package, sha256_hex, used_model,
};

#[test]
fn face_recognition_is_never_selected() {
    assert!(MODELS.iter().all(|model| model.name != IDENTITY_MODEL));
    // The identity model's files: each must never be selected.
    let identity_files = ["weights_manifest.json", ".bin", "-shard1"].map(|tail| {
        let separator = if tail.starts_with(['.', '-']) { "" } else { "-" };
        format!("{IDENTITY_MODEL}_model{separator}{tail}")
    });
    for file in identity_files {
        assert!(used_model(&file).is_none(), "{file} must never be converted");
    }
}

#[test]
fn package_files_map_to_their_model() {
    let cases = [
        (
            "tiny_face_detector_model-weights_manifest.json",
            Some("tiny_face_detector"),
        ),
        ("face_landmark_68_model.bin", Some("face_landmark_68")),
        ("face_landmark_68_tiny_model.bin", Some("face_landmark_68_tiny")),
        ("ssd_mobilenetv1_model-shard1", Some("ssd_mobilenetv1")),
        ("age_gender_model-weights_manifest.json", Some("age_gender")),
        ("mtcnn_model.bin", None),
        ("README.md", None),
    ];
    for (file, model) in cases {
        assert_eq!(used_model(file).map(|model| model.name), model, "{file}");
    }
}

/// A fresh folder under the system's temporary directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-models-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("demo")).expect("scratch dir");
    dir
}

/// An index of `dir` listing every model with one-byte files.
fn write_outputs(dir: &std::path::Path) -> Index {
    let models = MODELS
        .iter()
        .map(|model| {
            let file = format!("{}.safetensors", model.name);
            fs::write(dir.join(&file), model.name).expect("model file");
            ModelEntry {
                name: model.name.to_owned(),
                file,
                sha256: sha256_hex(model.name.as_bytes()),
                size_bytes: 1,
                tensors: model.tensors,
                parameters: model.parameters,
            }
        })
        .collect();
    fs::write(dir.join("demo/sample1.jpg"), "jpeg").expect("demo file");
    let index = Index {
        format: INDEX_FORMAT,
        package: package::NAME.to_owned(),
        version: package::VERSION.to_owned(),
        integrity: package::INTEGRITY.to_owned(),
        models,
        demo_images: vec![FileEntry {
            file: "demo/sample1.jpg".to_owned(),
            sha256: sha256_hex(b"jpeg"),
        }],
    };
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("json")).expect("index");
    index
}

#[test]
fn an_index_whose_files_match_is_up_to_date() {
    let dir = scratch_dir("up-to-date");
    let index = write_outputs(&dir);
    assert_eq!(current_index(&dir), Some(index));
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_changed_or_missing_file_makes_the_outputs_stale() {
    let dir = scratch_dir("changed");
    write_outputs(&dir);
    fs::write(dir.join("demo/sample1.jpg"), "other").expect("demo file");
    assert_eq!(current_index(&dir), None, "a changed demo image");
    write_outputs(&dir);
    fs::remove_file(dir.join("age_gender.safetensors")).expect("model file");
    assert_eq!(current_index(&dir), None, "a missing model");
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn an_index_of_another_package_or_model_list_is_stale() {
    let dir = scratch_dir("other-package");
    let mut index = write_outputs(&dir);
    index.integrity = "sha512-other".to_owned();
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("json")).expect("index");
    assert_eq!(current_index(&dir), None, "another integrity");
    let mut index = write_outputs(&dir);
    index.models.pop();
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("json")).expect("index");
    assert_eq!(current_index(&dir), None, "a model missing from the index");
    fs::remove_dir_all(&dir).expect("cleanup");
}
