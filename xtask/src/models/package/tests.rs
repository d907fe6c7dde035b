use flate2::Compression;
use flate2::write::GzEncoder;

use super::{DEMO_IMAGES, check_integrity, check_integrity_against, extract};

/// sha512 of b"abc", base64, as npm writes integrities.
const ABC_INTEGRITY: &str =
    "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==";

fn tarball(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(u64::try_from(data.len()).expect("small"));
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, *data).expect("appending");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn demo_entries() -> Vec<(String, Vec<u8>)> {
    DEMO_IMAGES
        .iter()
        .map(|name| (format!("package/demo/{name}"), name.as_bytes().to_vec()))
        .collect()
}

#[test]
fn a_tarball_with_the_pinned_integrity_is_accepted() {
    check_integrity_against(b"abc", ABC_INTEGRITY).expect("the integrity of b\"abc\"");
}

#[test]
fn an_integrity_mismatch_is_refused() {
    let error = check_integrity_against(b"abd", ABC_INTEGRITY).expect_err("other bytes");
    let message = error.to_string();
    assert!(message.contains("integrity mismatch"), "{message}");
    assert!(message.contains(ABC_INTEGRITY), "{message}");
    assert!(
        check_integrity(b"abc").is_err(),
        "the pinned integrity is not that of b\"abc\""
    );
}

#[test]
fn extraction_keeps_the_used_models_and_demo_images_only() {
    let mut entries: Vec<(String, Vec<u8>)> = [
        ("package/model/tiny_face_detector_model-weights_manifest.json", "[]"),
        ("package/model/tiny_face_detector_model.bin", "tiny"),
        ("package/model/face_landmark_68_tiny_model.bin", "landmarks"),
        // The identity model, which extraction must never keep:
        ("package/model/face_recognition_model-weights_manifest.json", "[]"), // never kept
        ("package/model/face_recognition_model.bin", "descriptor"),           // never kept
        ("package/model/face_recognition_model-shard1", "descriptor"),        // never kept
        ("package/demo/index.js", "script"),
        ("package/dist/face-api.js", "library"),
    ]
    .into_iter()
    .map(|(path, data)| (path.to_owned(), data.as_bytes().to_vec()))
    .collect();
    entries.extend(demo_entries());
    let borrowed: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(path, data)| (path.as_str(), data.as_slice()))
        .collect();

    let contents = extract(&tarball(&borrowed)).expect("extracts");

    let models: Vec<&str> = contents.model_files.keys().map(String::as_str).collect();
    assert_eq!(
        models,
        [
            "face_landmark_68_tiny_model.bin",
            "tiny_face_detector_model-weights_manifest.json",
            "tiny_face_detector_model.bin"
        ]
    );
    assert_eq!(contents.model_files["tiny_face_detector_model.bin"], b"tiny");
    let demos: Vec<&str> = contents.demo_images.keys().map(String::as_str).collect();
    assert_eq!(demos, DEMO_IMAGES);
    assert_eq!(contents.demo_images["sample3.jpg"], b"sample3.jpg");
}

#[test]
fn a_package_without_a_demo_image_is_refused() {
    let entries = demo_entries();
    let borrowed: Vec<(&str, &[u8])> = entries
        .iter()
        .filter(|(path, _)| !path.ends_with("sample4.jpg"))
        .map(|(path, data)| (path.as_str(), data.as_slice()))
        .collect();
    let error = extract(&tarball(&borrowed)).expect_err("sample4.jpg is missing");
    assert!(error.to_string().contains("package/demo/sample4.jpg"), "{error}");
}
