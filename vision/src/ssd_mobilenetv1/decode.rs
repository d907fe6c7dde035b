//! From the network's raw output to boxes in image pixels, as face-api's
//! `outputLayer`, `nonMaxSuppression` and `locateFaces` do it.
//!
//! Boxes stay in the network's unit square, `[ymin, xmin, ymax, xmax]` of the
//! padded 512x512 input, until the very end: the reference suppresses
//! overlaps there, then clips and maps the survivors to the image.

use parterre_core::BoxPx;

/// A box in the unit square of the padded input: `[ymin, xmin, ymax, xmax]`.
pub(super) type SquareBox = [f32; 4];

/// The TF object detection API's box coder scales: centre offsets are
/// predicted ×10, log sizes ×5.
const CENTRE_SCALE: f32 = 10.0;
const SIZE_SCALE: f32 = 5.0;

/// Decodes one box encoding `[ty, tx, th, tw]` against its anchor, in the
/// reference's operation order (`decodeBoxesLayer`).
pub(super) fn decode_box(anchor: SquareBox, encoding: [f32; 4]) -> SquareBox {
    let height = anchor[2] - anchor[0];
    let width = anchor[3] - anchor[1];
    let centre_y = anchor[0] + height / 2.0;
    let centre_x = anchor[1] + width / 2.0;
    let half_h = (encoding[2] / SIZE_SCALE).exp() * height / 2.0;
    let y = encoding[0] / CENTRE_SCALE * height + centre_y;
    let half_w = (encoding[3] / SIZE_SCALE).exp() * width / 2.0;
    let x = encoding[1] / CENTRE_SCALE * width + centre_x;
    [y - half_h, x - half_w, y + half_h, x + half_w]
}

pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A box that passed the score threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Candidate {
    pub(super) square: SquareBox,
    pub(super) score: f32,
}

/// face-api's SSD `IOU`: corners sorted per axis, zero when either box has no
/// area. In f64, as the reference computes it in JavaScript numbers, so that
/// a pair right at the threshold is decided the same way.
fn square_iou(a: &SquareBox, b: &SquareBox) -> f64 {
    let span = |lo: f32, hi: f32| (f64::from(lo.min(hi)), f64::from(lo.max(hi)));
    let ((ay0, ay1), (ax0, ax1)) = (span(a[0], a[2]), span(a[1], a[3]));
    let ((by0, by1), (bx0, bx1)) = (span(b[0], b[2]), span(b[1], b[3]));
    let area_a = (ay1 - ay0) * (ax1 - ax0);
    let area_b = (by1 - by0) * (bx1 - bx0);
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let intersection = (ay1.min(by1) - ay0.max(by0)).max(0.0) * (ax1.min(bx1) - ax0.max(bx0)).max(0.0);
    intersection / (area_a + area_b - intersection)
}

/// SSD's non-maximum suppression (face-api's `ssdMobilenetv1/nonMaxSuppression`).
///
/// Not the shared `non_max_suppression`: this one measures overlap in the
/// unit square before clipping (what decides which faces survive), keeps the
/// earlier anchor on equal scores (a stable descending sort, where the shared
/// one keeps the later), and stops at `max_results`. A candidate survives when
/// its IoU with every kept box is at most `iou_threshold`.
pub(super) fn suppress(mut candidates: Vec<Candidate>, iou_threshold: f64, max_results: usize) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if kept.len() >= max_results {
            break;
        }
        if kept
            .iter()
            .all(|k| square_iou(&candidate.square, &k.square) <= iou_threshold)
        {
            kept.push(candidate);
        }
    }
    kept
}

/// Maps a box from the padded square to image pixels (`locateFaces`): clips
/// it to the square, then stretches by the square's side over the image's
/// resized extent, so that 1.0 is the image's right or bottom edge. `None`
/// when nothing of the box is inside the square (the reference throws there,
/// on a negative width or height).
pub(super) fn to_image_px(square: SquareBox, width_px: u32, height_px: u32, input_size_px: usize) -> Option<BoxPx> {
    let (width, height, side) = (f64::from(width_px), f64::from(height_px), input_size_px as f64);
    // face-api's `computeReshapedDimensions`: the image's extent inside the
    // input, rounded to whole pixels.
    let scale = side / width.max(height);
    let stretch_x = side / (width * scale).round();
    let stretch_y = side / (height * scale).round();
    let top = f64::from(square[0]).max(0.0) * stretch_y;
    let bottom = f64::from(square[2]).min(1.0) * stretch_y;
    let left = f64::from(square[1]).max(0.0) * stretch_x;
    let right = f64::from(square[3]).min(1.0) * stretch_x;
    if bottom < top || right < left {
        return None;
    }
    Some(BoxPx {
        x: (left * width) as f32,
        y: (top * height) as f32,
        width: ((right - left) * width) as f32,
        height: ((bottom - top) * height) as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32], tolerance: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
    }

    #[test]
    fn a_zero_encoding_returns_the_anchor() {
        let anchor = [0.1, 0.2, 0.5, 0.4];
        assert!(close(&decode_box(anchor, [0.0; 4]), &anchor, 1e-7));
    }

    #[test]
    fn encodings_shift_by_a_tenth_and_scale_by_a_fifth_in_log() {
        // Anchor centred at (y 0.5, x 0.25), 0.2 high and 0.1 wide.
        let anchor = [0.4, 0.2, 0.6, 0.3];
        // ty = 1 moves the centre by height / 10 = 0.02; tx = -2 by
        // -2 * width / 10 = -0.02; th = 5 ln 2 doubles the height to 0.4;
        // tw = -5 ln 2 halves the width to 0.05.
        let ln2 = std::f32::consts::LN_2;
        let decoded = decode_box(anchor, [1.0, -2.0, 5.0 * ln2, -5.0 * ln2]);
        assert!(close(&decoded, &[0.32, 0.205, 0.72, 0.255], 1e-6), "{decoded:?}");
    }

    #[test]
    fn sigmoid_of_known_values() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(2.0) - 0.880_797_1).abs() < 1e-6);
    }

    fn candidate(y: f32, x: f32, side: f32, score: f32) -> Candidate {
        Candidate {
            square: [y, x, y + side, x + side],
            score,
        }
    }

    #[test]
    fn iou_is_symmetric_in_corner_order_and_zero_without_area() {
        let a = [0.0, 0.0, 0.2, 0.2];
        let b = [0.0, 0.1, 0.2, 0.3];
        assert!((square_iou(&a, &b) - 1.0 / 3.0).abs() < 1e-7);
        // Corners given max-first describe the same box.
        assert!((square_iou(&[0.2, 0.3, 0.0, 0.1], &a) - 1.0 / 3.0).abs() < 1e-7);
        assert_eq!(square_iou(&a, &[0.1, 0.1, 0.1, 0.3]), 0.0);
    }

    #[test]
    fn suppression_keeps_the_best_and_stops_at_max_results() {
        let candidates = vec![
            candidate(0.0, 0.0, 0.2, 0.6),
            candidate(0.01, 0.01, 0.2, 0.9),
            candidate(0.5, 0.5, 0.2, 0.7),
            candidate(0.8, 0.0, 0.1, 0.65),
        ];
        let scores = |kept: Vec<Candidate>| kept.iter().map(|c| c.score).collect::<Vec<_>>();
        assert_eq!(scores(suppress(candidates.clone(), 0.5, 100)), vec![0.9, 0.7, 0.65]);
        assert_eq!(scores(suppress(candidates, 0.5, 2)), vec![0.9, 0.7]);
    }

    #[test]
    fn suppression_keeps_an_overlap_of_exactly_the_threshold_and_the_earlier_tie() {
        // IoU of these two is exactly 1/3 (in f64 of their f32 corners it is
        // within an ulp: compare against a threshold just above and below).
        let a = [0.0, 0.0, 0.5, 0.5];
        let b = [0.0, 0.25, 0.5, 0.75];
        let pair = vec![Candidate { square: a, score: 0.8 }, Candidate { square: b, score: 0.8 }];
        let kept = suppress(pair.clone(), 1.0 / 3.0 + 1e-9, 100);
        assert_eq!(kept.len(), 2);
        let kept = suppress(pair, 1.0 / 3.0 - 1e-9, 100);
        assert_eq!(
            kept,
            vec![Candidate { square: a, score: 0.8 }],
            "the earlier of equal scores wins"
        );
    }

    #[test]
    fn boxes_map_to_image_pixels_through_the_padding() {
        // A 200x100 image fills the top half of the 512 square: y = 0.5 of the
        // square is its bottom edge.
        let mapped = to_image_px([0.1, 0.25, 0.3, 0.75], 200, 100, 512).expect("inside");
        let got = [mapped.x, mapped.y, mapped.width, mapped.height];
        assert!(close(&got, &[50.0, 20.0, 100.0, 40.0], 1e-4), "{got:?}");
        // Clipped at the square's edges, not the image's: the part below the
        // image (y over 0.5 of the square) stays.
        let clipped = to_image_px([-0.1, -0.2, 0.7, 1.3], 200, 100, 512).expect("inside");
        let got = [clipped.x, clipped.y, clipped.width, clipped.height];
        assert!(close(&got, &[0.0, 0.0, 200.0, 140.0], 1e-4), "{got:?}");
        assert_eq!(to_image_px([1.2, 0.1, 1.4, 0.2], 200, 100, 512), None);
    }

    #[test]
    fn the_image_extent_is_rounded_to_whole_input_pixels() {
        // 300x200 → 512x341.33, rounded to 341: the bottom edge of the image
        // sits at 341/512 of the square.
        let mapped = to_image_px([0.0, 0.0, 341.0 / 512.0, 1.0], 300, 200, 512).expect("inside");
        assert!((mapped.height - 200.0).abs() < 1e-3, "{mapped:?}");
        assert!((mapped.width - 300.0).abs() < 1e-3, "{mapped:?}");
    }
}
