//! Detections and non-maximum suppression, as the reference does them.

use parterre_core::BoxPx;

/// A face found by a detector, in original image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Where the face is.
    pub box_px: BoxPx,
    /// Detector confidence, 0..1.
    pub score: f32,
}

/// Intersection over union of two boxes.
pub fn iou(a: &BoxPx, b: &BoxPx) -> f32 {
    let width = ((a.x + a.width).min(b.x + b.width) - a.x.max(b.x)).max(0.0);
    let height = ((a.y + a.height).min(b.y + b.height) - a.y.max(b.y)).max(0.0);
    let intersection = width * height;
    let union = a.area_px() + b.area_px() - intersection;
    if union > 0.0 { intersection / union } else { 0.0 }
}

/// Keeps the best-scoring detections, dropping any that overlaps a kept one by
/// more than `iou_threshold`. Returned best first, like face-api's
/// `nonMaxSuppression` (which on equal scores keeps the later candidate).
pub fn non_max_suppression(mut candidates: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    // Stable sort ascending, then take from the back: the reference's order.
    candidates.sort_by(|a, b| a.score.total_cmp(&b.score));
    let mut kept: Vec<Detection> = Vec::new();
    while let Some(best) = candidates.pop() {
        candidates.retain(|other| iou(&best.box_px, &other.box_px) <= iou_threshold);
        kept.push(best);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(x: f32, y: f32, side: f32, score: f32) -> Detection {
        Detection {
            box_px: BoxPx {
                x,
                y,
                width: side,
                height: side,
            },
            score,
        }
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = BoxPx {
            x: 0.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        let b = BoxPx {
            x: 5.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        assert!((iou(&a, &b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(iou(&a, &BoxPx { x: 20.0, ..a }), 0.0);
        assert_eq!(iou(&a, &a), 1.0);
    }

    #[test]
    fn suppression_keeps_the_best_of_each_cluster_best_first() {
        let kept = non_max_suppression(
            vec![
                detection(0.0, 0.0, 10.0, 0.6),
                detection(1.0, 1.0, 10.0, 0.9),
                detection(50.0, 50.0, 10.0, 0.7),
                detection(2.0, 0.0, 10.0, 0.8),
            ],
            0.4,
        );
        let scores: Vec<f32> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, vec![0.9, 0.7]);
    }

    #[test]
    fn boxes_overlapping_exactly_at_the_threshold_are_kept() {
        // IoU of these two is exactly 1/3.
        let a = detection(0.0, 0.0, 10.0, 0.9);
        let b = Detection {
            box_px: BoxPx {
                x: 5.0,
                y: 0.0,
                width: 10.0,
                height: 10.0,
            },
            score: 0.5,
        };
        assert_eq!(non_max_suppression(vec![a, b], 50.0 / 150.0).len(), 2);
        assert_eq!(non_max_suppression(vec![a, b], 0.3).len(), 1);
    }
}
