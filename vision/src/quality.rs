//! Face quality, 0..1: how well a face is seen, sent with the traits so the
//! aggregates can weight a poorly seen face less.
//!
//! The product of three scores, each 0..1, because any one of them failing is
//! enough to make the classifiers unreliable (a tiny, a blurred or a dark face
//! is poorly seen however good the other two are):
//! - size: the box height, 0 at 24 px or less, 1 at 96 px or more (smoothstep);
//! - sharpness: the spread of a 3x3 Laplacian over the face, divided by the
//!   face's own contrast, so a dim but sharp face is not called blurry;
//! - brightness: the face's mean luma, 1 between 40 and 220, falling linearly
//!   to 0 at 10 and at 250.
//!
//! The face is point-sampled on a fixed 48x48 grid (the scale the face nets
//! see it at), so the cost does not grow with the face: about 2,300 pixel
//! reads whatever the frame or box size.

use parterre_core::{BoxPx, FrameView, pixel_luma};

use crate::error::VisionError;

/// Samples a side of the grid the face is read on.
const GRID_SIDE: usize = 48;
/// Box heights where the size score starts rising and reaches 1.
const SIZE_MIN_PX: f32 = 24.0;
const SIZE_FULL_PX: f32 = 96.0;
/// Laplacian spread over contrast where sharpness starts rising and reaches 1.
/// On the 18 faces of the six face-api demo photos the ratio is 0.6..1.4 as
/// shot, 0.25..0.54 after a box blur as wide as one grid step, 0.12..0.25
/// after one twice as wide.
const BLURRED_RATIO: f32 = 0.2;
const SHARP_RATIO: f32 = 0.7;
/// Added to the contrast so a flat (featureless) region scores as blurred
/// rather than dividing by zero.
const CONTRAST_FLOOR_LEVELS: f32 = 0.5;
/// Mean luma ramps: 0 at or below `DARK_ZERO`, 1 from `DARK_FULL` to
/// `BRIGHT_FULL`, 0 at or above `BRIGHT_ZERO`.
const DARK_ZERO: f32 = 10.0;
const DARK_FULL: f32 = 40.0;
const BRIGHT_FULL: f32 = 220.0;
const BRIGHT_ZERO: f32 = 250.0;

/// How well the face in `box_px` is seen, 0..1 (see the module doc). Fails
/// when the box is not finite or does not overlap the frame.
pub fn face_quality(view: &FrameView<'_>, box_px: &BoxPx) -> Result<f32, VisionError> {
    let mut grid = [[0.0; GRID_SIDE]; GRID_SIDE];
    sample_grid(view, box_px, &mut grid)?;
    let size = smoothstep(SIZE_MIN_PX, SIZE_FULL_PX, box_px.height);
    let (mean, contrast) = mean_and_std(grid.iter().flatten().copied());
    let ratio = laplacian_std(&grid) / (contrast + CONTRAST_FLOOR_LEVELS);
    let sharpness = smoothstep(BLURRED_RATIO, SHARP_RATIO, ratio);
    let brightness = ramp(DARK_ZERO, DARK_FULL, mean).min(ramp(BRIGHT_ZERO, BRIGHT_FULL, mean));
    // The samples are face pixels: cleared before the stack is reused, best
    // effort (filled in place so there is one copy; black_box keeps the
    // compiler from eliding the dead store).
    grid = [[0.0; GRID_SIDE]; GRID_SIDE];
    std::hint::black_box(&grid);
    Ok((size * sharpness * brightness).clamp(0.0, 1.0))
}

/// Fills `grid` with the face's luma at the centres of a 48x48 grid over the
/// box clipped to the frame.
fn sample_grid(
    view: &FrameView<'_>,
    box_px: &BoxPx,
    grid: &mut [[f32; GRID_SIDE]; GRID_SIDE],
) -> Result<(), VisionError> {
    let layout = view.layout();
    let clip = |start: f32, len: f32, limit: u32| -> Option<(usize, usize)> {
        if !(start.is_finite() && len.is_finite()) {
            return None;
        }
        let low = start.floor().max(0.0);
        let high = (start + len).ceil().min(limit as f32);
        (high > low).then(|| (low as usize, high as usize - low as usize))
    };
    let (Some((x0, width)), Some((y0, height))) = (
        clip(box_px.x, box_px.width, layout.width_px),
        clip(box_px.y, box_px.height, layout.height_px),
    ) else {
        return Err(VisionError::InvalidOption(format!(
            "face box {box_px:?} is not finite or lies outside the frame"
        )));
    };
    let bpp = layout.format.bytes_per_pixel();
    let columns: [usize; GRID_SIDE] = std::array::from_fn(|i| x0 + (2 * i + 1) * width / (2 * GRID_SIDE));
    for (j, samples) in grid.iter_mut().enumerate() {
        let y = y0 + (2 * j + 1) * height / (2 * GRID_SIDE);
        let row = view
            .row(y as u32)
            .ok_or_else(|| VisionError::InvalidOption(format!("row {y} is outside the frame")))?;
        for (sample, &x) in samples.iter_mut().zip(&columns) {
            *sample = f32::from(pixel_luma(layout.format, &row[x * bpp..(x + 1) * bpp]));
        }
    }
    Ok(())
}

/// Standard deviation of the 3x3 Laplacian (4-neighbour) over the grid's interior.
fn laplacian_std(grid: &[[f32; GRID_SIDE]; GRID_SIDE]) -> f32 {
    let responses = (1..GRID_SIDE - 1).flat_map(|y| {
        (1..GRID_SIDE - 1)
            .map(move |x| 4.0 * grid[y][x] - grid[y - 1][x] - grid[y + 1][x] - grid[y][x - 1] - grid[y][x + 1])
    });
    mean_and_std(responses).1
}

/// Mean and population standard deviation.
fn mean_and_std(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let (count, sum) = values
        .clone()
        .fold((0usize, 0.0f64), |(n, s), v| (n + 1, s + f64::from(v)));
    if count == 0 {
        return (0.0, 0.0);
    }
    let mean = sum / count as f64;
    let variance = values.map(|v| (f64::from(v) - mean).powi(2)).sum::<f64>() / count as f64;
    (mean as f32, variance.sqrt() as f32)
}

/// 0 at `zero`, 1 at `full`, linear in between (either order), clamped.
fn ramp(zero: f32, full: f32, value: f32) -> f32 {
    ((value - zero) / (full - zero)).clamp(0.0, 1.0)
}

/// The cubic smoothstep of [`ramp`]: no kink where it leaves 0 or reaches 1.
fn smoothstep(zero: f32, full: f32, value: f32) -> f32 {
    let t = ramp(zero, full, value);
    t * t * (3.0 - 2.0 * t)
}

#[cfg(test)]
mod tests {
    use parterre_core::{FrameBuffer, FrameLayout, PixelFormat};
    use proptest::prelude::*;

    use super::*;
    use crate::test_support::gray_frame;

    const SIDE_PX: u32 = 192;

    /// A 192x192 checkerboard of 32 px squares (6x6, sampled evenly by the grid) between `dark` and `light`: few,
    /// sharp edges, like a face's features (a fine periodic pattern would stay
    /// "sharp" under blur once its contrast is normalized away).
    fn checkerboard(dark: u8, light: u8) -> Vec<u8> {
        (0..SIDE_PX)
            .flat_map(|y| (0..SIDE_PX).map(move |x| if (x / 32 + y / 32) % 2 == 0 { dark } else { light }))
            .collect()
    }

    /// A (2r+1)^2 box blur, clamped at the edges.
    fn box_blur(pixels: &[u8], radius: i64) -> Vec<u8> {
        let side = i64::from(SIDE_PX);
        let at = |x: i64, y: i64| f32::from(pixels[(y.clamp(0, side - 1) * side + x.clamp(0, side - 1)) as usize]);
        let taps = ((2 * radius + 1) * (2 * radius + 1)) as f32;
        (0..side)
            .flat_map(|y| {
                (0..side).map(move |x| {
                    let sum: f32 = (-radius..=radius)
                        .flat_map(|dy| (-radius..=radius).map(move |dx| at(x + dx, y + dy)))
                        .sum();
                    (sum / taps).round() as u8
                })
            })
            .collect()
    }

    fn whole_face() -> BoxPx {
        BoxPx {
            x: 0.0,
            y: 0.0,
            width: SIDE_PX as f32,
            height: SIDE_PX as f32,
        }
    }

    fn quality(pixels: &[u8], box_px: BoxPx) -> f32 {
        let frame = gray_frame(SIDE_PX, SIDE_PX, pixels);
        face_quality(&frame.view().expect("frame"), &box_px).expect("quality")
    }

    #[test]
    fn scores_follow_their_documented_ramps() {
        let cases = [
            (smoothstep(SIZE_MIN_PX, SIZE_FULL_PX, 24.0), 0.0),
            (smoothstep(SIZE_MIN_PX, SIZE_FULL_PX, 60.0), 0.5),
            (smoothstep(SIZE_MIN_PX, SIZE_FULL_PX, 500.0), 1.0),
            (ramp(DARK_ZERO, DARK_FULL, 25.0), 0.5),
            (ramp(BRIGHT_ZERO, BRIGHT_FULL, 235.0), 0.5),
            (ramp(BRIGHT_ZERO, BRIGHT_FULL, 100.0), 1.0),
        ];
        for (index, (got, expected)) in cases.into_iter().enumerate() {
            assert!((got - expected).abs() < 1e-6, "case {index}: {got} vs {expected}");
        }
    }

    #[test]
    fn an_ordinary_sharp_face_scores_high_and_blur_lowers_it() {
        let sharp = checkerboard(60, 180);
        let sharp_quality = quality(&sharp, whole_face());
        // A 15x15 box blur (the grid step is 4 px): the Laplacian-to-contrast
        // ratio falls from 1.44 to 0.36 (computed separately), sharpness from 1 to 0.24.
        let blurred_quality = quality(&box_blur(&sharp, 7), whole_face());
        assert!(sharp_quality > 0.9, "{sharp_quality}");
        assert!(
            blurred_quality < 0.5 * sharp_quality,
            "{blurred_quality} vs {sharp_quality}"
        );
    }

    #[test]
    fn a_dim_sharp_face_keeps_its_sharpness() {
        // Mean 15: the brightness ramp gives (15 - 10) / 30 = 1/6; sharpness stays 1.
        let dim = quality(&checkerboard(5, 25), whole_face());
        assert!((dim - 1.0 / 6.0).abs() < 0.02, "{dim}");
    }

    #[test]
    fn a_tiny_face_scores_low() {
        let tiny = BoxPx {
            x: 40.0,
            y: 40.0,
            width: 20.0,
            height: 20.0,
        };
        assert_eq!(quality(&checkerboard(60, 180), tiny), 0.0);
        let small = BoxPx { height: 40.0, ..tiny };
        assert!(quality(&checkerboard(60, 180), small) < 0.3);
    }

    #[test]
    fn a_flat_or_overexposed_face_scores_low() {
        assert_eq!(quality(&[120; (SIDE_PX * SIDE_PX) as usize], whole_face()), 0.0, "flat");
        assert!(quality(&checkerboard(235, 255), whole_face()) < 0.3, "overexposed");
    }

    #[test]
    fn colour_frames_score_like_their_luma() {
        let gray = checkerboard(60, 180);
        let rgba: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v, 255]).collect();
        let layout = FrameLayout::packed(PixelFormat::Rgba8, SIDE_PX, SIDE_PX).expect("layout");
        let mut frame = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
        frame.write_from(layout, &rgba).expect("write");
        let colour = face_quality(&frame.view().expect("frame"), &whole_face()).expect("quality");
        assert_eq!(colour, quality(&gray, whole_face()));
    }

    #[test]
    fn boxes_outside_the_frame_or_not_finite_are_refused() {
        let frame = gray_frame(SIDE_PX, SIDE_PX, &checkerboard(60, 180));
        let view = frame.view().expect("frame");
        let outside = BoxPx {
            x: SIDE_PX as f32 + 10.0,
            ..whole_face()
        };
        let nan = BoxPx {
            y: f32::NAN,
            ..whole_face()
        };
        for box_px in [outside, nan] {
            assert!(
                matches!(face_quality(&view, &box_px), Err(VisionError::InvalidOption(_))),
                "{box_px:?}"
            );
        }
        // Half outside is read from the part inside.
        let half = BoxPx {
            x: 80.0,
            ..whole_face()
        };
        assert!(face_quality(&view, &half).expect("quality") > 0.9);
    }

    proptest! {
        #[test]
        fn quality_is_finite_and_in_unit_range(
            seed in any::<u64>(),
            x in -50.0f32..200.0, y in -50.0f32..200.0, width in 0.0f32..300.0, height in 0.0f32..300.0,
        ) {
            let mut state = seed | 1;
            let pixels: Vec<u8> = (0..SIDE_PX * SIDE_PX)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let frame = gray_frame(SIDE_PX, SIDE_PX, &pixels);
            if let Ok(q) = face_quality(&frame.view().expect("frame"), &BoxPx { x, y, width, height }) {
                prop_assert!(q.is_finite() && (0.0..=1.0).contains(&q), "{}", q);
            }
        }
    }
}
