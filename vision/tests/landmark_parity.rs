//! The 68-point landmark nets (full and tiny) against the reference (face-api
//! 1.7.15 on tfjs-wasm): the preprocessed 112x112 input, the raw outputs, and
//! the landmarks in image pixels for every face both reference detectors found
//! on the six demo photos. The reference boxes are the input, so these tests
//! judge the landmark nets alone. Fixtures: `cargo xtask parity`; weights:
//! `cargo xtask models`.

mod common;

use std::time::Instant;

use candle_core::Module;
use common::{IMAGES, assert_input_samples, floats, max_abs_diff, photo, reference, weights};
use parterre_core::{BoxPx, PointPx};
use parterre_vision::landmarks::{aligned_box, face_crop};
use parterre_vision::{LandmarkModel, LandmarkNet};

/// Tolerances: the input as tight as the detector's; the raw outputs as the
/// issue asks (the reference's own backends agree to about 1e-5 there); the
/// landmarks as the issue asks, per face, at the original image scale.
const INPUT_TOLERANCE: f32 = 1e-5;
const RAW_TOLERANCE: f32 = 1e-3;
const MEAN_LANDMARK_TOLERANCE_PX: f32 = 1.0;

const MODELS: [(LandmarkModel, &str, &str); 2] = [
    (LandmarkModel::Full, "face_landmark_68", "full"),
    (LandmarkModel::Tiny, "face_landmark_68_tiny", "tiny"),
];

fn box_of(values: &[f32]) -> BoxPx {
    BoxPx {
        x: values[0],
        y: values[1],
        width: values[2],
        height: values[3],
    }
}

#[test]
fn preprocessing_and_raw_outputs_match_the_reference() {
    let fixture = reference("sample1-tiny-raw.json");
    let face = &fixture["landmarkInput"];
    let frame = photo("sample1");
    let view = frame.view().expect("frame");
    let input = LandmarkNet::input(&view, &box_of(&floats(&face["box"]))).expect("input");
    assert_eq!(input.dims(), &[1, 3, 112, 112]);

    // Sampled values of the normalized input: [row, col, channel, value].
    assert_input_samples(&input, &face["input"]["samples"], INPUT_TOLERANCE);
    // Checksums over the NHWC flat order the reference used.
    let flat: Vec<f64> = input
        .permute((0, 2, 3, 1))
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("vec")
        .into_iter()
        .map(f64::from)
        .collect();
    let sum: f64 = flat.iter().sum();
    let weighted: f64 = flat.iter().enumerate().map(|(i, v)| v * ((i % 97 + 1) as f64)).sum();
    for (name, ours) in [("sum", sum), ("weightedSum", weighted)] {
        let theirs = face["input"][name].as_f64().expect("checksum");
        assert!(
            (ours - theirs).abs() < 1e-5 * theirs.abs(),
            "input {name} {ours} vs {theirs}"
        );
    }

    for (model, file, key) in MODELS {
        let net = LandmarkNet::new(model, weights(file)).expect("model");
        let ours = net
            .forward(&input)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("forward");
        let theirs = floats(&face["rawOutput"][key]);
        let diff = max_abs_diff(&ours, &theirs);
        // One call after the warm-up above: a rough figure for the lead, not a benchmark.
        let start = Instant::now();
        net.forward(&input).expect("forward");
        let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "{file}: raw max |diff| {diff:.2e} over {} values; one forward {elapsed_ms:.1} ms",
            ours.len()
        );
        assert!(diff <= RAW_TOLERANCE, "{file}: raw outputs differ by {diff}");
    }
}

#[test]
fn crops_match_the_reference_for_every_box() {
    let mut boxes = 0;
    for image in IMAGES {
        let fixture = reference(&format!("{image}.json"));
        let (width_px, height_px) = (
            fixture["width"].as_u64().expect("width") as u32,
            fixture["height"].as_u64().expect("height") as u32,
        );
        for detector in ["tiny", "ssd"] {
            for face in fixture["detectors"][detector]["faces"].as_array().expect("faces") {
                // The detection box, and the landmark-aligned boxes the other face nets use.
                let records = [
                    &face["box"],
                    &face["aligned"]["full"]["box"],
                    &face["aligned"]["tiny"]["box"],
                ];
                let crops = [
                    &face["crop"],
                    &face["aligned"]["full"]["crop"],
                    &face["aligned"]["tiny"]["crop"],
                ];
                for (box_value, crop_value) in records.into_iter().zip(crops) {
                    let crop = face_crop(&box_of(&floats(box_value)), width_px, height_px).expect("crop");
                    let ours = [crop.x, crop.y, crop.width, crop.height].map(|v| v as f32);
                    assert_eq!(
                        ours.to_vec(),
                        floats(crop_value),
                        "{image} {detector}: crop of {box_value}"
                    );
                    boxes += 1;
                }
            }
        }
    }
    assert!(boxes >= 3 * 36, "both detectors find 3 to 5 faces on each photo");
}

#[test]
fn landmarks_match_the_reference_on_every_face_of_both_detectors() {
    let nets = MODELS.map(|(model, file, key)| (LandmarkNet::new(model, weights(file)).expect("model"), file, key));
    let frames: Vec<_> = IMAGES.iter().map(|image| (image, photo(image))).collect();
    let mut failures = Vec::new();
    for (net, file, key) in &nets {
        for detector in ["tiny", "ssd"] {
            let (mut sum_px, mut max_px, mut points, mut faces) = (0f64, 0f32, 0, 0);
            for (image, frame) in &frames {
                let fixture = reference(&format!("{image}.json"));
                let view = frame.view().expect("frame");
                for face in fixture["detectors"][detector]["faces"].as_array().expect("faces") {
                    let ours = net.landmarks(&view, &box_of(&floats(&face["box"]))).expect("landmarks");
                    let theirs = face["landmarks"][*key].as_array().expect("landmarks");
                    assert_eq!(ours.len(), theirs.len());
                    let errors_px: Vec<f32> = ours
                        .iter()
                        .zip(theirs)
                        .map(|(point, reference)| {
                            let r = floats(reference);
                            (point.x - r[0]).hypot(point.y - r[1])
                        })
                        .collect();
                    let face_mean_px = errors_px.iter().sum::<f32>() / errors_px.len() as f32;
                    if face_mean_px > MEAN_LANDMARK_TOLERANCE_PX {
                        failures.push(format!("{file} {image} {detector}: mean {face_mean_px} px"));
                    }
                    sum_px += errors_px.iter().map(|&e| f64::from(e)).sum::<f64>();
                    max_px = errors_px.iter().copied().fold(max_px, f32::max);
                    points += errors_px.len();
                    faces += 1;
                }
            }
            eprintln!(
                "{file} on {detector} boxes: {faces} faces, landmark error mean {:.2e} px, max {max_px:.2e} px",
                sum_px / points as f64
            );
            assert!(faces >= 18, "the six photos hold 3 to 5 faces each");
        }
    }
    assert!(
        failures.is_empty(),
        "faces off by more than 1 px on average: {failures:?}"
    );
}

/// face-api's `landmarks.align()`: the box expression and age/gender run on,
/// from the reference's landmarks, for both nets and every face; and its
/// integer crop, the pixels those nets actually see.
#[test]
fn aligned_boxes_match_the_reference() {
    let (mut boxes, mut max_diff_px) = (0, 0f32);
    for image in IMAGES {
        let fixture = reference(&format!("{image}.json"));
        let (width_px, height_px) = (
            fixture["width"].as_u64().expect("width"),
            fixture["height"].as_u64().expect("height"),
        );
        for detector in ["tiny", "ssd"] {
            for face in fixture["detectors"][detector]["faces"].as_array().expect("faces") {
                for (_, _, key) in MODELS {
                    let points: Vec<PointPx> = face["landmarks"][key]
                        .as_array()
                        .expect("landmarks")
                        .iter()
                        .map(|xy| PointPx {
                            x: xy[0].as_f64().expect("x") as f32,
                            y: xy[1].as_f64().expect("y") as f32,
                        })
                        .collect();
                    let ours = aligned_box(&points).expect("aligned box");
                    let theirs = box_of(&floats(&face["aligned"][key]["box"]));
                    let diff = max_abs_diff(
                        &[ours.x, ours.y, ours.width, ours.height],
                        &[theirs.x, theirs.y, theirs.width, theirs.height],
                    );
                    max_diff_px = max_diff_px.max(diff);
                    let crop = face_crop(&ours, width_px as u32, height_px as u32).expect("crop");
                    let their_crop = floats(&face["aligned"][key]["crop"]);
                    assert_eq!(
                        [crop.x, crop.y, crop.width, crop.height].map(|v| v as f32).to_vec(),
                        their_crop,
                        "{image} {detector} {key}"
                    );
                    boxes += 1;
                }
            }
        }
    }
    eprintln!("{boxes} aligned boxes, max difference {max_diff_px:.2e} px");
    // The fixtures round landmarks to 4 decimals.
    assert!(max_diff_px < 2e-3, "aligned boxes differ by {max_diff_px} px");
    assert_eq!(boxes, 84);
}
