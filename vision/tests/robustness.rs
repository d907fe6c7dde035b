//! Any image size, aspect ratio and pixel format goes through every model
//! without a panic; bad boxes and options are clear errors. Weights come from
//! both sources the frontends use (a path, and bytes) and must agree.

mod common;

use common::photo;
use parterre_core::{BoxPx, FrameBuffer, FrameLayout, PixelFormat};
use parterre_vision::{LandmarkModel, LandmarkNet, SsdMobilenetV1, SsdOptions, TinyFaceDetector, TinyOptions, weights};
use proptest::prelude::*;

fn models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn tiny() -> TinyFaceDetector {
    TinyFaceDetector::new(weights::from_path(&models_dir().join("tiny_face_detector.safetensors")).expect("weights"))
        .expect("model")
}

fn frame(format: PixelFormat, width_px: u32, height_px: u32, seed: u8) -> FrameBuffer {
    let layout = FrameLayout::packed(format, width_px, height_px).expect("layout");
    let pixels: Vec<u8> = (0..layout.len_bytes())
        .map(|i| (i as u8).wrapping_mul(seed | 1))
        .collect();
    let mut buffer = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
    buffer.write_from(layout, &pixels).expect("write");
    buffer
}

fn format() -> impl Strategy<Value = PixelFormat> {
    prop_oneof![
        Just(PixelFormat::Rgba8),
        Just(PixelFormat::Rgb8),
        Just(PixelFormat::Gray8)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_frame_shape_gives_finite_boxes_inside_reason(
        format in format(), width_px in 1u32..700, height_px in 1u32..700, seed in any::<u8>()
    ) {
        let detector = tiny();
        let buffer = frame(format, width_px, height_px, seed);
        let options = TinyOptions { input_size_px: 128, score_threshold: 0.3 };
        let found = detector.detect(&buffer.view().expect("frame"), options).expect("detect");
        for detection in found {
            let b = detection.box_px;
            prop_assert!(b.x.is_finite() && b.y.is_finite() && b.width > 0.0 && b.height > 0.0);
            prop_assert!((0.0..=1.0).contains(&detection.score));
        }
    }

    #[test]
    fn any_box_gives_landmarks_or_a_clear_error(
        x in -300f32..900.0, y in -300f32..900.0, width in -10f32..600.0, height in -10f32..600.0
    ) {
        let net = LandmarkNet::new(
            LandmarkModel::Tiny,
            weights::from_path(&models_dir().join("face_landmark_68_tiny.safetensors")).expect("weights"),
        ).expect("model");
        let buffer = frame(PixelFormat::Rgb8, 640, 480, 7);
        match net.landmarks(&buffer.view().expect("frame"), &BoxPx { x, y, width, height }) {
            Ok(points) => prop_assert_eq!(points.len(), 68),
            Err(error) => prop_assert!(error.to_string().contains("invalid option"), "{error}"),
        }
    }
}

#[test]
fn weights_from_bytes_and_from_a_path_give_the_same_faces() {
    let path = models_dir().join("tiny_face_detector.safetensors");
    let from_bytes = TinyFaceDetector::new(weights::from_bytes(std::fs::read(&path).expect("read")).expect("weights"))
        .expect("model");
    let buffer = photo("sample1");
    let view = buffer.view().expect("frame");
    let (a, b) = (
        tiny().detect(&view, TinyOptions::default()),
        from_bytes.detect(&view, TinyOptions::default()),
    );
    let (a, b) = (a.expect("detect"), b.expect("detect"));
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
}

#[test]
fn truncated_weights_are_an_error_not_a_panic() {
    let bytes = std::fs::read(models_dir().join("tiny_face_detector.safetensors")).expect("read");
    assert!(weights::from_bytes(bytes[..bytes.len() / 2].to_vec()).is_err());
    // A file of another model lacks the tensors: the error names one.
    let wrong = weights::from_path(&models_dir().join("face_landmark_68_tiny.safetensors")).expect("weights");
    let error = TinyFaceDetector::new(wrong).expect_err("wrong model");
    assert!(error.to_string().contains("conv0"), "{error}");
}

#[test]
fn bad_options_are_refused() {
    let buffer = frame(PixelFormat::Rgb8, 64, 64, 1);
    let view = buffer.view().expect("frame");
    for input_size_px in [0, 100, 640] {
        assert!(
            tiny()
                .detect(
                    &view,
                    TinyOptions {
                        input_size_px,
                        ..TinyOptions::default()
                    }
                )
                .is_err()
        );
    }
    let ssd = SsdMobilenetV1::new(weights::from_path(&models_dir().join("ssd_mobilenetv1.safetensors")).expect("w"))
        .expect("model");
    assert!(
        ssd.detect(
            &view,
            SsdOptions {
                min_confidence: 1.5,
                ..SsdOptions::default()
            }
        )
        .is_err()
    );
    assert!(
        ssd.detect(
            &view,
            SsdOptions {
                max_results: 0,
                ..SsdOptions::default()
            }
        )
        .is_err()
    );
}
