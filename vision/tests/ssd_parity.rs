//! SSD MobileNetV1 against the reference (face-api 1.7.15 on tfjs-wasm): the
//! preprocessed 512 input, and the final boxes and scores on all six demo
//! photos. The fixtures hold no raw SSD output, so the network is checked
//! through its boxes. Fixtures: `cargo xtask parity`; weights: `cargo xtask models`.

mod common;

use candle_core::{Module, Tensor};
use common::{IMAGES, assert_input_samples, floats, max_abs_diff, photo, reference, weights};
use parterre_core::BoxPx;
use parterre_vision::ssd_mobilenetv1::{ANCHOR_COUNT, OUTPUT_WIDTH};
use parterre_vision::{Detection, SsdMobilenetV1, SsdOptions, iou};

/// The input is the same pixels through the same arithmetic up to float32
/// rounding order (`(x - 127.5) / 255 * 2` here, `x / 127.5 - 1` there).
const INPUT_TOLERANCE: f32 = 1e-6;
/// Relative, for sums over the 786,432 input values.
const CHECKSUM_TOLERANCE: f64 = 1e-7;
/// The acceptance thresholds.
const MIN_IOU: f32 = 0.95;
const SCORE_TOLERANCE: f32 = 0.01;
/// What a correct port reaches, as for the tiny detector: about the
/// reference's own CPU-vs-WASM spread (7e-4 px), with room for candle's
/// summation order and the fixture's 4-decimal rounding. Catches regressions
/// long before the thresholds would.
const PORT_BOX_TOLERANCE_PX: f32 = 5e-3;
const PORT_SCORE_TOLERANCE: f32 = 1e-5;

/// Sum, absolute sum, squared sum and the reference's weighted sum
/// (`value[i] * (i % 97 + 1)`), over the NHWC flat order the reference uses.
fn checksums(input: &Tensor) -> [f64; 4] {
    let values = input
        .permute((0, 2, 3, 1))
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("values");
    let mut sums = [0f64; 4];
    for (i, &v) in values.iter().enumerate() {
        let v = f64::from(v);
        sums[0] += v;
        sums[1] += v.abs();
        sums[2] += v * v;
        sums[3] += v * (i % 97 + 1) as f64;
    }
    sums
}

#[test]
fn preprocessing_matches_the_reference() {
    let fixture = reference("sample1-tiny-raw.json");
    let expected = &fixture["ssdInput"];
    let frame = photo("sample1");
    let input = SsdMobilenetV1::input(&frame.view().expect("frame")).expect("input");
    assert_eq!(input.dims(), [1, 3, 512, 512]);

    // Sampled values: [row, col, channel, value].
    assert_input_samples(&input, &expected["samples"], INPUT_TOLERANCE);

    let ours = checksums(&input);
    for (name, ours) in ["sum", "absSum", "sqSum", "weightedSum"].into_iter().zip(ours) {
        let theirs = expected[name].as_f64().expect(name);
        let relative = (ours - theirs).abs() / theirs.abs();
        eprintln!("ssd input {name}: ours {ours:.4}, reference {theirs}, relative diff {relative:.1e}");
        assert!(relative <= CHECKSUM_TOLERANCE, "{name}: {ours} vs {theirs}");
    }
    let values = input.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("values");
    let min = values.iter().copied().fold(f32::INFINITY, f32::min);
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert_eq!((min, max), (-1.0, 1.0));
    assert_eq!(expected["min"].as_f64(), Some(-1.0));
    assert_eq!(expected["max"].as_f64(), Some(1.0));
}

fn box_values(b: &BoxPx) -> [f32; 4] {
    [b.x, b.y, b.width, b.height]
}

#[test]
fn boxes_and_scores_match_the_reference_on_every_photo() {
    let detector = SsdMobilenetV1::new(weights("ssd_mobilenetv1")).expect("model");
    let sample1 = photo("sample1");
    let raw = detector
        .forward(&SsdMobilenetV1::input(&sample1.view().expect("frame")).expect("input"))
        .expect("forward");
    assert_eq!(raw.dims(), [1, ANCHOR_COUNT, OUTPUT_WIDTH]);
    let (mut worst_iou, mut worst_score, mut worst_box_px, mut faces) = (1f32, 0f32, 0f32, 0);
    for image in IMAGES {
        let fixture = reference(&format!("{image}.json"));
        let ssd = &fixture["detectors"]["ssd"];
        let options = SsdOptions {
            min_confidence: ssd["options"]["minConfidence"].as_f64().expect("minConfidence") as f32,
            max_results: ssd["options"]["maxResults"].as_u64().expect("maxResults") as usize,
        };
        assert_eq!(ssd["options"]["inputSize"].as_u64(), Some(512));
        assert_eq!(ssd["options"]["iouThreshold"].as_f64(), Some(0.5));
        let expected = ssd["faces"].as_array().expect("faces");
        let frame = photo(image);
        let found = detector.detect(&frame.view().expect("frame"), options).expect("detect");
        assert_eq!(found.len(), expected.len(), "{image}: face count");
        assert!(
            found.windows(2).all(|pair| pair[0].score >= pair[1].score),
            "{image}: best first"
        );
        for face in expected {
            let b = floats(&face["box"]);
            let reference_box = BoxPx {
                x: b[0],
                y: b[1],
                width: b[2],
                height: b[3],
            };
            let score = face["score"].as_f64().expect("score") as f32;
            // Same order is not promised on near-equal scores: match by overlap.
            let ours: &Detection = found
                .iter()
                .max_by(|a, b| iou(&a.box_px, &reference_box).total_cmp(&iou(&b.box_px, &reference_box)))
                .expect("a face");
            let overlap = iou(&ours.box_px, &reference_box);
            assert!(overlap >= MIN_IOU, "{image}: IoU {overlap} with {reference_box:?}");
            assert!(
                (ours.score - score).abs() <= SCORE_TOLERANCE,
                "{image}: score {} vs {score}",
                ours.score
            );
            worst_iou = worst_iou.min(overlap);
            worst_score = worst_score.max((ours.score - score).abs());
            worst_box_px = worst_box_px.max(max_abs_diff(&box_values(&ours.box_px), &b));
            faces += 1;
        }
    }
    eprintln!(
        "ssd, {faces} faces: worst IoU {worst_iou:.6}, max score |diff| {worst_score:.2e}, max box |diff| {worst_box_px:.2e} px"
    );
    assert_eq!(faces, 3 + 3 + 3 + 4 + 5 + 4);
    assert!(
        worst_box_px <= PORT_BOX_TOLERANCE_PX,
        "boxes differ by up to {worst_box_px} px"
    );
    assert!(
        worst_score <= PORT_SCORE_TOLERANCE,
        "scores differ by up to {worst_score}"
    );
}
