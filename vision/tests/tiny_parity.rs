//! TinyFaceDetector against the reference (face-api 1.7.15 on tfjs-wasm):
//! the preprocessed input, the raw grid, and the final boxes and scores on all
//! six demo photos. Fixtures: `cargo xtask parity`; weights: `cargo xtask models`.

mod common;

use candle_core::Module;
use common::{IMAGES, assert_input_samples, floats, max_abs_diff, photo, reference, weights};
use parterre_vision::{TinyFaceDetector, TinyOptions};

/// Tolerances: a correct port agrees to the reference about as well as
/// the reference's own CPU and WASM backends agree with each other (see
/// shared/notes/reference-facts.md), with room for candle's summation order.
const INPUT_TOLERANCE: f32 = 1e-5;
const GRID_TOLERANCE: f32 = 5e-4;
const BOX_TOLERANCE_PX: f32 = 5e-3;
const SCORE_TOLERANCE: f32 = 1e-5;

#[test]
fn preprocessing_and_raw_grid_match_the_reference() {
    let fixture = reference("sample1-tiny-raw.json");
    let tiny = &fixture["tinyDetector"];
    let frame = photo("sample1");
    let view = frame.view().expect("frame");
    let input = TinyFaceDetector::input(&view, 416).expect("input");

    // Sampled values of the normalized input: [row, col, channel, value].
    assert_input_samples(&input, &tiny["input"]["samples"], INPUT_TOLERANCE);
    let sum: f64 = input
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("vec")
        .iter()
        .map(|&v| f64::from(v))
        .sum();
    let reference_sum = tiny["input"]["sum"].as_f64().expect("sum");
    assert!(
        (sum - reference_sum).abs() < 1e-3 * reference_sum.abs(),
        "input sum {sum} vs {reference_sum}"
    );

    let detector = TinyFaceDetector::new(weights("tiny_face_detector")).expect("model");
    // Ours is NCHW [1, 25, 13, 13]; the reference NHWC [1, 13, 13, 25].
    let grid = detector
        .forward(&input)
        .expect("forward")
        .permute((0, 2, 3, 1))
        .expect("nhwc");
    let ours = grid.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("vec");
    let theirs = floats(&tiny["output"]["data"]);
    let diff = max_abs_diff(&ours, &theirs);
    eprintln!("raw grid: max |diff| {diff:.2e} over {} values", ours.len());
    assert!(diff <= GRID_TOLERANCE, "raw grid differs by {diff}");
}

#[test]
fn boxes_and_scores_match_the_reference_on_every_photo() {
    let detector = TinyFaceDetector::new(weights("tiny_face_detector")).expect("model");
    let (mut worst_box_px, mut worst_score, mut faces) = (0f32, 0f32, 0);
    for image in IMAGES {
        let fixture = reference(&format!("{image}.json"));
        let expected = fixture["detectors"]["tiny"]["faces"].as_array().expect("faces");
        let frame = photo(image);
        let found = detector
            .detect(&frame.view().expect("frame"), TinyOptions::default())
            .expect("detect");
        assert_eq!(found.len(), expected.len(), "{image}: face count");
        for face in expected {
            let reference_box = floats(&face["box"]);
            let score = face["score"].as_f64().expect("score") as f32;
            // Same order is not promised on near-equal scores: match by position.
            let ours = found
                .iter()
                .min_by(|a, b| {
                    let d = |d: &parterre_vision::Detection| {
                        (d.box_px.x - reference_box[0]).abs() + (d.box_px.y - reference_box[1]).abs()
                    };
                    d(a).total_cmp(&d(b))
                })
                .expect("a face");
            let ours_box = [ours.box_px.x, ours.box_px.y, ours.box_px.width, ours.box_px.height];
            worst_box_px = worst_box_px.max(max_abs_diff(&ours_box, &reference_box));
            worst_score = worst_score.max((ours.score - score).abs());
            faces += 1;
        }
    }
    eprintln!("{faces} faces: max box |diff| {worst_box_px:.2e} px, max score |diff| {worst_score:.2e}");
    assert!(faces >= 18, "the six photos hold 3 to 5 faces each");
    assert!(
        worst_box_px <= BOX_TOLERANCE_PX,
        "boxes differ by up to {worst_box_px} px"
    );
    assert!(worst_score <= SCORE_TOLERANCE, "scores differ by up to {worst_score}");
}
