//! Apparent motion, 0..1: how much the picture changed since the previous
//! frame, plus how much the face moved. Defined with no face in view.
//!
//! Frame motion compares 40x30 grayscale thumbnails of consecutive frames
//! (core's [`Thumbnail`]: locked memory, wiped by the source frame's
//! deadline). The thumbnail of frame n is compared with frame n+1's and then
//! wiped; if frame n+1 comes too late, [`MotionEstimator::wipe_expired`] (the
//! analyzer's sweep) wipes it at its deadline. Every thumbnail's life is
//! recorded in the estimator's own permanence report, exactly like a frame's.
//!
//! Single-threaded and clock-free: every time is passed in, in microseconds.

use parterre_core::{
    BoxPx, FrameLife, FrameView, LifeEnd, MAX_BUDGET_MS, PermanenceRecorder, PermanenceReport, Thumbnail,
};

use crate::error::VisionError;

/// Mean change, in grey levels, that camera noise and compression alone
/// produce between thumbnails of a still scene (a thumbnail cell averages
/// about 256 camera pixels, so even σ = 10 sensor noise leaves < 1 level).
const NOISE_FLOOR_LEVELS: f32 = 1.5;
/// Mean change, in grey levels, that counts as full motion: a tenth of the
/// picture changing by about 240 levels, or all of it by 24.
const SATURATION_LEVELS: f32 = 24.0;
/// Range of the exposure gain removed between two frames. Auto-exposure moves
/// by much less than 2x between consecutive frames; the bound keeps a scene
/// change from being explained away as a gain of 0.
const MIN_GAIN: f32 = 0.5;
const MAX_GAIN: f32 = 2.0;
/// Frame-to-frame detector jitter, in face sizes, that is not motion.
const FACE_JITTER: f32 = 0.02;
/// Face displacement plus size change, in face sizes, that counts as full
/// motion: a quarter of the face's width between two frames.
const FACE_SATURATION: f32 = 0.25;

/// Frame motion from consecutive thumbnails, with their permanence telemetry.
#[derive(Debug)]
pub struct MotionEstimator {
    /// The last frame's thumbnail, waiting for the next frame.
    previous: Thumbnail,
    /// Always empty between updates: filled, compared, then swapped.
    current: Thumbnail,
    recorder: PermanenceRecorder,
    next_generation: u64,
}

impl MotionEstimator {
    /// An estimator whose thumbnails must each be wiped within `budget_us`
    /// (the frames' permanence budget, at most 300 ms).
    pub fn new(budget_us: u64) -> Result<Self, VisionError> {
        if !(1..=MAX_BUDGET_MS * 1_000).contains(&budget_us) {
            return Err(VisionError::InvalidOption(format!(
                "motion budget of {budget_us} us is outside 1..={MAX_BUDGET_MS} ms"
            )));
        }
        Ok(Self {
            previous: Thumbnail::new()?,
            current: Thumbnail::new()?,
            recorder: PermanenceRecorder::new(budget_us),
            next_generation: 1,
        })
    }

    /// Frame motion 0..1 between this frame and the previous one: 0 on the
    /// first frame, or when the previous thumbnail has expired. `written_at_us`
    /// and `deadline_us` are the frame's own (from its lease).
    pub fn update(&mut self, view: &FrameView<'_>, written_at_us: u64, deadline_us: u64, now_us: u64) -> f32 {
        self.wipe_expired(now_us);
        let generation = self.next_generation;
        self.next_generation += 1;
        let overwritten = self
            .current
            .fill_from(view, generation, written_at_us, deadline_us, now_us);
        self.record(overwritten);
        let motion = match (self.previous.pixels(now_us), self.current.pixels(now_us)) {
            (Some(previous), Some(current)) => frame_motion(previous, current),
            _ => 0.0,
        };
        let compared = self.previous.wipe(now_us, LifeEnd::Released);
        self.record(compared);
        std::mem::swap(&mut self.previous, &mut self.current);
        motion
    }

    /// Wipes every thumbnail whose deadline has passed at `now_us`.
    pub fn wipe_expired(&mut self, now_us: u64) {
        self.wipe_due(now_us, 0);
    }

    /// Wipes every thumbnail whose deadline falls within `lead_us` of `now_us`.
    pub fn wipe_due(&mut self, now_us: u64, lead_us: u64) {
        let lives = [
            self.previous.wipe_if_due(now_us, lead_us),
            self.current.wipe_if_due(now_us, lead_us),
        ];
        lives.into_iter().for_each(|life| self.record(life));
    }

    /// Wipes every thumbnail now (stop, shutdown, page hide).
    pub fn wipe_all(&mut self, now_us: u64) {
        let lives = [
            self.previous.wipe(now_us, LifeEnd::Shutdown),
            self.current.wipe(now_us, LifeEnd::Shutdown),
        ];
        lives.into_iter().for_each(|life| self.record(life));
    }

    /// The thumbnails' permanence report so far.
    pub fn report(&self) -> PermanenceReport {
        self.recorder.report()
    }

    /// Non-zero bytes in the thumbnails' memory outside a live thumbnail:
    /// what a leak check looks for; must always be 0.
    pub fn residue_bytes(&self) -> usize {
        self.previous.residue_bytes() + self.current.residue_bytes()
    }

    fn record(&mut self, life: Option<FrameLife>) {
        if let Some(life) = life {
            self.recorder.record(&life);
        }
    }
}

/// Motion between two thumbnails, 0..1.
///
/// First the exposure change is removed: `current` is compared with
/// `previous` scaled to the same mean and spread (standard deviation), the
/// gain bounded to 0.5..2. Auto-exposure, additive or multiplicative, shifts
/// and stretches the histogram; an object moving inside the picture leaves
/// both nearly as they were, so matching them cancels exposure but not motion
/// (a least-squares fit would instead spread a moved object's change over the
/// still background). What is left is motion: the mean absolute difference,
/// less a 1.5-level noise floor, scaled so a mean change of 24 levels saturates.
fn frame_motion(previous: &[u8], current: &[u8]) -> f32 {
    let count = previous.len().min(current.len());
    if count == 0 {
        return 0.0;
    }
    let pairs = || {
        previous
            .iter()
            .zip(current)
            .map(|(&p, &c)| (f32::from(p), f32::from(c)))
    };
    let mean = |values: &mut dyn Iterator<Item = f32>| values.sum::<f32>() / count as f32;
    let mean_previous = mean(&mut pairs().map(|(p, _)| p));
    let mean_current = mean(&mut pairs().map(|(_, c)| c));
    let std_previous = mean(&mut pairs().map(|(p, _)| (p - mean_previous).powi(2))).sqrt();
    let std_current = mean(&mut pairs().map(|(_, c)| (c - mean_current).powi(2))).sqrt();
    // A flat previous frame says nothing about gain: assume none.
    let gain = if std_previous > 1.0 {
        (std_current / std_previous).clamp(MIN_GAIN, MAX_GAIN)
    } else {
        1.0
    };
    let residual = mean(&mut pairs().map(|(p, c)| ((c - mean_current) - gain * (p - mean_previous)).abs()));
    unit((residual - NOISE_FLOOR_LEVELS) / (SATURATION_LEVELS - NOISE_FLOOR_LEVELS))
}

/// How much the face moved between two boxes, 0..1: the centre's displacement
/// plus the change of size (as |ln| of the ratio), both in face sizes (the
/// geometric mean side of the boxes), less 0.02 of detector jitter, scaled so
/// a quarter of a face saturates. Degenerate boxes give 0: no evidence of motion.
pub fn face_motion(previous_box_px: &BoxPx, box_px: &BoxPx) -> f32 {
    let size_px = |b: &BoxPx| (b.width * b.height).sqrt();
    let (previous_size_px, size_px) = (size_px(previous_box_px), size_px(box_px));
    if !(previous_size_px.is_finite() && size_px.is_finite() && previous_size_px > 0.0 && size_px > 0.0) {
        return 0.0;
    }
    let centre = |b: &BoxPx| (b.x + b.width / 2.0, b.y + b.height / 2.0);
    let ((x0, y0), (x1, y1)) = (centre(previous_box_px), centre(box_px));
    let face_px = (previous_size_px + size_px) / 2.0;
    let displacement = (x1 - x0).hypot(y1 - y0) / face_px;
    let size_change = (size_px / previous_size_px).ln().abs();
    unit((displacement + size_change - FACE_JITTER) / (FACE_SATURATION - FACE_JITTER))
}

/// The apparent motion sent with the traits: the larger of frame and face
/// motion. A nod moves few of the frame's pixels yet is the face's motion; a
/// viewer walking away changes the frame while no face is seen. The larger
/// keeps either signal without counting one movement twice.
pub fn combine(frame_motion: f32, face_motion: Option<f32>) -> f32 {
    unit(frame_motion).max(face_motion.map_or(0.0, unit))
}

/// Clamped to 0..1; not-a-number (never expected) becomes 0.
fn unit(value: f32) -> f32 {
    if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use parterre_core::{FrameBuffer, FrameLayout, PixelFormat};
    use proptest::prelude::*;

    use super::*;
    use crate::test_support::gray_frame;

    const WIDTH_PX: u32 = 640;
    const HEIGHT_PX: u32 = 480;
    const BUDGET_US: u64 = 300_000;
    const FRAME_US: u64 = 33_000;

    /// A textured scene: smooth blobs of light and shade, shifted right by `shift_px`.
    fn scene(shift_px: u32) -> Vec<u8> {
        (0..HEIGHT_PX)
            .flat_map(|y| {
                (0..WIDTH_PX).map(move |x| {
                    let u = (x + WIDTH_PX - shift_px) as f32;
                    let v = y as f32;
                    (128.0 + 60.0 * (u / 23.0).sin() * (v / 31.0).cos() + 30.0 * (u / 57.0 + v / 41.0).sin()) as u8
                })
            })
            .collect()
    }

    /// Xorshift bytes, so noise tests need no random crate and repeat exactly.
    fn noise(seed: u64, len: usize) -> impl Iterator<Item = u8> {
        let mut state = seed | 1;
        (0..len).map(move |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
    }

    /// Feeds frames 33 ms apart, each analyzed 10 ms after capture; the motions.
    fn motions(estimator: &mut MotionEstimator, frames: &[Vec<u8>]) -> Vec<f32> {
        frames
            .iter()
            .enumerate()
            .map(|(index, pixels)| {
                let written_at_us = 1_000 + index as u64 * FRAME_US;
                let frame = gray_frame(WIDTH_PX, HEIGHT_PX, pixels);
                let view = frame.view().expect("frame");
                estimator.update(&view, written_at_us, written_at_us + BUDGET_US, written_at_us + 10_000)
            })
            .collect()
    }

    fn estimator() -> MotionEstimator {
        MotionEstimator::new(BUDGET_US).expect("estimator")
    }

    #[test]
    fn frame_motion_cases() {
        let still = scene(0);
        let brighter_gain: Vec<u8> = still.iter().map(|&p| (f32::from(p) * 1.3) as u8).collect();
        let brighter_offset: Vec<u8> = still.iter().map(|&p| p.saturating_add(25)).collect();
        let noisy: Vec<u8> = still
            .iter()
            .zip(noise(7, still.len()))
            .map(|(&p, n)| (i16::from(p) + i16::from(n % 7) - 3) as u8)
            .collect();
        // A 160x192 px block (10x12 thumbnail cells) moved by 32 px (2 cells):
        // 2 x 2 x 12 = 48 of 1200 cells change by 210 levels, a mean of 8.4;
        // mean and spread are unchanged, so motion = (8.4 - 1.5) / 22.5.
        let mut block = vec![20u8; still.len()];
        let mut moved_block = block.clone();
        for (pixels, left_px) in [(&mut block, 96), (&mut moved_block, 128)] {
            for y in 144..336 {
                pixels[y * WIDTH_PX as usize + left_px..][..160].fill(230);
            }
        }
        /// Name, frames, what the second frame's motion must satisfy.
        type Case<'a> = (&'a str, &'a [Vec<u8>], fn(f32) -> bool);
        let cases: [Case; 6] = [
            ("identical", &[still.clone(), still.clone()], |m| m == 0.0),
            ("exposure gain", &[still.clone(), brighter_gain], |m| m < 0.1),
            ("exposure offset", &[still.clone(), brighter_offset], |m| m < 0.1),
            ("camera noise", &[still.clone(), noisy], |m| m < 0.05),
            ("scene panned", &[still.clone(), scene(48)], |m| m > 0.3),
            ("object moved", &[block, moved_block], |m| (m - 6.9 / 22.5).abs() < 1e-3),
        ];
        for (name, frames, expected) in cases {
            let got = motions(&mut estimator(), frames);
            assert_eq!(got[0], 0.0, "{name}: the first frame has nothing to compare with");
            assert!(expected(got[1]), "{name}: {got:?}");
        }
    }

    #[test]
    fn an_expired_previous_thumbnail_gives_no_motion_and_is_wiped_once() {
        let mut estimator = estimator();
        let (a, b) = (scene(0), scene(100));
        let first = gray_frame(WIDTH_PX, HEIGHT_PX, &a);
        assert_eq!(
            estimator.update(&first.view().expect("frame"), 0, BUDGET_US, 5_000),
            0.0
        );
        // The sweep comes at the deadline; the next frame long after.
        estimator.wipe_expired(BUDGET_US);
        let second = gray_frame(WIDTH_PX, HEIGHT_PX, &b);
        let late_us = 2 * BUDGET_US;
        assert_eq!(
            estimator.update(&second.view().expect("frame"), late_us, late_us + BUDGET_US, late_us),
            0.0
        );
        // Even without a sweep, an expired previous thumbnail is not compared.
        let third = gray_frame(WIDTH_PX, HEIGHT_PX, &a);
        let later_us = 4 * BUDGET_US;
        assert_eq!(
            estimator.update(&third.view().expect("frame"), later_us, later_us + BUDGET_US, later_us),
            0.0
        );
        estimator.wipe_all(later_us + 1_000);
        let report = estimator.report();
        assert_eq!(report.frames, 3);
        assert_eq!(
            (report.ended.expired, report.ended.released, report.ended.shutdown),
            (2, 0, 1)
        );
        // The second thumbnail waited for no sweep: the telemetry shows it outlived the budget.
        assert_eq!(report.over_budget, 1);
        assert_eq!(estimator.residue_bytes(), 0);
    }

    #[test]
    fn every_thumbnail_life_is_recorded_once_and_nothing_remains() {
        let mut estimator = estimator();
        let frames: Vec<_> = (0..5).map(|i| scene(i * 8)).collect();
        let got = motions(&mut estimator, &frames);
        assert_eq!(got.len(), 5);
        // Four thumbnails compared then wiped (33 ms each); the last waits.
        let report = estimator.report();
        assert_eq!((report.frames, report.ended.released), (4, 4));
        assert!((report.max_ms - 43.0).abs() < 0.1, "{report:?}");
        estimator.wipe_all(200_000);
        let report = estimator.report();
        assert_eq!((report.frames, report.ended.shutdown), (5, 1));
        assert_eq!(estimator.residue_bytes(), 0);
    }

    #[test]
    fn rgba_frames_move_like_their_luma() {
        let (a, b) = (scene(0), scene(48));
        let layout = FrameLayout::packed(PixelFormat::Rgba8, WIDTH_PX, HEIGHT_PX).expect("layout");
        let rgba = |gray: &[u8]| {
            let mut frame = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
            let pixels: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v, 255]).collect();
            frame.write_from(layout, &pixels).expect("write");
            frame
        };
        let mut estimator = estimator();
        estimator.update(&rgba(&a).view().expect("frame"), 0, BUDGET_US, 0);
        let colour = estimator.update(
            &rgba(&b).view().expect("frame"),
            FRAME_US,
            FRAME_US + BUDGET_US,
            FRAME_US,
        );
        assert_eq!(colour, motions(&mut self::estimator(), &[a, b])[1]);
    }

    #[test]
    fn budgets_outside_the_product_limit_are_refused() {
        for budget_us in [0, 300_001] {
            assert!(matches!(
                MotionEstimator::new(budget_us),
                Err(VisionError::InvalidOption(_))
            ));
        }
    }

    #[test]
    fn face_motion_cases() {
        let face = BoxPx {
            x: 100.0,
            y: 100.0,
            width: 100.0,
            height: 100.0,
        };
        let cases = [
            ("still", face, 0.0),
            ("jitter of 1 px", BoxPx { x: 101.0, ..face }, 0.0),
            // 10 px of a 100 px face: (0.1 - 0.02) / 0.23.
            ("moved a tenth", BoxPx { x: 110.0, ..face }, 0.08 / 0.23),
            ("moved half a face", BoxPx { y: 150.0, ..face }, 1.0),
            // Grown 10 % about the same centre: |ln 1.1| = 0.0953.
            (
                "leaned in",
                BoxPx {
                    x: 95.0,
                    y: 95.0,
                    width: 110.0,
                    height: 110.0,
                },
                (1.1f32.ln() - 0.02) / 0.23,
            ),
            ("lost", BoxPx { width: 0.0, ..face }, 0.0),
            ("not finite", BoxPx { x: f32::NAN, ..face }, 0.0),
        ];
        for (name, box_px, expected) in cases {
            let got = face_motion(&face, &box_px);
            assert!((got - expected).abs() < 1e-4, "{name}: {got} vs {expected}");
        }
    }

    #[test]
    fn combine_takes_the_larger_and_stays_in_range() {
        let cases = [
            (0.2, None, 0.2),
            (0.2, Some(0.7), 0.7),
            (0.9, Some(0.1), 0.9),
            (f32::NAN, Some(0.4), 0.4),
            (1.5, Some(f32::NAN), 1.0),
            (-1.0, None, 0.0),
        ];
        for (frame, face, expected) in cases {
            assert_eq!(combine(frame, face), expected, "{frame} {face:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn motion_is_finite_and_in_unit_range(
            width_px in 1u32..90, height_px in 1u32..70, seeds in (any::<u64>(), any::<u64>()),
            boxes in proptest::array::uniform8(-1e3f32..1e3),
        ) {
            let len = (width_px * height_px) as usize;
            let mut estimator = estimator();
            let mut last = 0.0;
            for (index, seed) in [seeds.0, seeds.1].into_iter().enumerate() {
                let frame = gray_frame(width_px, height_px, &noise(seed, len).collect::<Vec<_>>());
                let at_us = index as u64 * FRAME_US;
                last = estimator.update(&frame.view().expect("frame"), at_us, at_us + BUDGET_US, at_us);
            }
            let [x0, y0, w0, h0, x1, y1, w1, h1] = boxes;
            let face = face_motion(
                &BoxPx { x: x0, y: y0, width: w0, height: h0 },
                &BoxPx { x: x1, y: y1, width: w1, height: h1 },
            );
            for value in [last, face, combine(last, Some(face))] {
                prop_assert!(value.is_finite() && (0.0..=1.0).contains(&value), "{}", value);
            }
        }
    }
}
