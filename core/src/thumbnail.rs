//! A small grayscale copy of a frame, for apparent motion: the only pixels
//! derived from a frame that outlive the frame's own buffer for a moment, so
//! they get the frame's protections and the frame's rules.
//!
//! Held in a [`VolatileRegion`] (page-aligned, locked, excluded from dumps,
//! wiped), allocated once and reused for every frame. Not `Clone`, not
//! `Serialize`; its `Debug` prints no pixel.
//!
//! Size: 40x30 luma bytes. 4:3 like most webcams, and exactly 1/16 of 640x480,
//! so each cell averages 256 camera pixels: sensor noise shrinks 16-fold, while
//! a face of 100 px still spans several cells and its movement shows. 1200
//! bytes fit in one page.
//!
//! Lifetime rule: the thumbnail of frame n is compared with frame n+1's and
//! then wiped. It never outlives its source frame's deadline (the permanence
//! budget): if frame n+1 does not come in time, [`Thumbnail::wipe_if_expired`],
//! called from the analyzer's sweep, wipes it. A thumbnail past its deadline
//! is never read ([`Thumbnail::pixels`] returns `None`). Every wipe of a live
//! thumbnail returns its [`FrameLife`], to be recorded in a
//! `PermanenceRecorder` exactly like a frame's.

use std::fmt;

use crate::error::CoreError;
use crate::frame::{FrameView, PixelFormat};
use crate::memory::{VolatileRegion, wipe};
use crate::telemetry::{FrameLife, LifeEnd};

/// The thumbnail's source frame and how long it may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Life {
    generation: u64,
    born_us: u64,
    deadline_us: u64,
}

/// A 40x30 luma copy of one frame, in locked memory, wiped by its deadline.
pub struct Thumbnail {
    region: VolatileRegion,
    life: Option<Life>,
    /// Lets the negative control skip the wipe, to show the residue check
    /// catches it. Compiled into test builds only: core's own, and those
    /// enabling the `negative-control` feature (never default).
    #[cfg(any(test, feature = "negative-control"))]
    wiping_disabled: bool,
}

impl Thumbnail {
    /// Columns of the thumbnail.
    pub const WIDTH_PX: usize = 40;
    /// Rows of the thumbnail.
    pub const HEIGHT_PX: usize = 30;
    /// Bytes of luma it holds.
    pub const LEN_BYTES: usize = Self::WIDTH_PX * Self::HEIGHT_PX;

    /// An empty thumbnail; its memory is allocated now and never again.
    pub fn new() -> Result<Self, CoreError> {
        Ok(Self {
            region: VolatileRegion::new(Self::LEN_BYTES)?,
            life: None,
            #[cfg(any(test, feature = "negative-control"))]
            wiping_disabled: false,
        })
    }

    /// Downsamples `view` into the thumbnail (area average of each cell's
    /// luma). `generation` numbers the thumbnail's life in the caller's
    /// telemetry; `born_us` is the source frame's write time, `deadline_us`
    /// its deadline. A frame already past its deadline at `now_us` is not
    /// copied at all. If the thumbnail still held a live copy, that copy is
    /// wiped first and its life (ended `Overwritten`) returned for recording.
    pub fn fill_from(
        &mut self,
        view: &FrameView<'_>,
        generation: u64,
        born_us: u64,
        deadline_us: u64,
        now_us: u64,
    ) -> Option<FrameLife> {
        let overwritten = self.wipe(now_us, LifeEnd::Overwritten);
        if now_us >= deadline_us {
            return overwritten;
        }
        let layout = view.layout();
        let out = &mut self.region.as_mut_slice()[..Self::LEN_BYTES];
        let bpp = layout.format.bytes_per_pixel();
        let columns = bins(layout.width_px as usize, Self::WIDTH_PX);
        for (oy, rows) in bins(layout.height_px as usize, Self::HEIGHT_PX).enumerate() {
            for (ox, cols) in columns.clone().enumerate() {
                let mut sum = 0u64;
                for y in rows.clone() {
                    // Rows exist for every y < height_px of a valid view.
                    let Some(row) = view.row(y as u32) else { continue };
                    sum += weighted_luma_sum(layout.format, &row[cols.start * bpp..cols.end * bpp]);
                }
                // 256 x the pixel count, rounded to the nearest level, ties up.
                let weight = (rows.len() * cols.len()) as u64 * 256;
                out[oy * Self::WIDTH_PX + ox] = ((sum + weight / 2) / weight) as u8;
            }
        }
        self.life = Some(Life {
            generation,
            born_us,
            deadline_us,
        });
        overwritten
    }

    /// The 40x30 luma bytes, row by row, while the thumbnail holds a copy
    /// whose deadline has not passed at `now_us`.
    pub fn pixels(&self, now_us: u64) -> Option<&[u8]> {
        let life = self.life?;
        (now_us < life.deadline_us).then(|| &self.region.as_slice()[..Self::LEN_BYTES])
    }

    /// Whether it holds a copy (expired or not) that has not been wiped yet.
    pub fn is_live(&self) -> bool {
        self.life.is_some()
    }

    /// Zeroes the copy; returns its life, ended at `now_us` with `end`, if it
    /// held one.
    pub fn wipe(&mut self, now_us: u64, end: LifeEnd) -> Option<FrameLife> {
        let life = self.life.take()?;
        #[cfg(any(test, feature = "negative-control"))]
        if self.wiping_disabled {
            return Some(frame_life(life, now_us, end));
        }
        wipe(&mut self.region.as_mut_slice()[..Self::LEN_BYTES]);
        Some(frame_life(life, now_us, end))
    }

    /// Wipes the copy if its deadline has passed at `now_us` (ended `Expired`).
    pub fn wipe_if_expired(&mut self, now_us: u64) -> Option<FrameLife> {
        self.wipe_if_due(now_us, 0)
    }

    /// Wipes the copy if its deadline falls within `lead_us` of `now_us`:
    /// whoever sweeps only now and then wipes ahead, as the pool's watchdog
    /// does, so a late wake-up does not carry the copy past its deadline.
    pub fn wipe_if_due(&mut self, now_us: u64, lead_us: u64) -> Option<FrameLife> {
        match self.life {
            Some(life) if now_us.saturating_add(lead_us) >= life.deadline_us => self.wipe(now_us, LifeEnd::Expired),
            _ => None,
        }
    }

    /// Counts non-zero bytes anywhere in its memory outside a live copy (all
    /// of it when it holds none): what a leak check looks for.
    pub fn residue_bytes(&self) -> usize {
        let live_bytes = if self.life.is_some() { Self::LEN_BYTES } else { 0 };
        self.region.as_slice()[live_bytes..].iter().filter(|&&b| b != 0).count()
    }

    /// Switches wiping off for good: only for negative controls; exists only
    /// in core's tests and with the `negative-control` feature.
    #[doc(hidden)]
    #[cfg(any(test, feature = "negative-control"))]
    pub fn disable_wiping_for_negative_control(&mut self) {
        self.wiping_disabled = true;
    }
}

fn frame_life(life: Life, now_us: u64, end: LifeEnd) -> FrameLife {
    FrameLife {
        generation: life.generation,
        written_at_us: life.born_us,
        wiped_at_us: now_us,
        end,
    }
}

/// Splits `0..len` into `parts` consecutive ranges for area averaging. When
/// `len >= parts` they partition it exactly; a source smaller than the
/// thumbnail repeats pixels, each range holding at least one.
fn bins(len: usize, parts: usize) -> impl Iterator<Item = std::ops::Range<usize>> + Clone {
    (0..parts).map(move |i| {
        let start = i * len / parts;
        let end = ((i + 1) * len / parts).max(start + 1);
        start..end
    })
}

/// Luma of one pixel in 0..=255: ITU-R BT.601 weights in 8.8 fixed point
/// (77, 150, 29 out of 256), rounded; alpha is ignored. 0 for a slice too
/// short to hold a pixel.
pub fn pixel_luma(format: PixelFormat, pixel: &[u8]) -> u8 {
    let bpp = format.bytes_per_pixel();
    let one = pixel.get(..bpp).unwrap_or_default();
    ((weighted_luma_sum(format, one) + 128) >> 8) as u8
}

/// The sum of 256 x luma over consecutive pixels (unrounded, so a cell's
/// average is rounded once). One loop per format so each vectorizes: the
/// thumbnail reads every pixel of every frame.
fn weighted_luma_sum(format: PixelFormat, pixels: &[u8]) -> u64 {
    let rgb = |px: &[u8]| u64::from(77 * u32::from(px[0]) + 150 * u32::from(px[1]) + 29 * u32::from(px[2]));
    match format {
        PixelFormat::Gray8 => pixels.iter().map(|&y| u64::from(y) << 8).sum(),
        PixelFormat::Rgb8 => pixels.chunks_exact(3).map(rgb).sum(),
        PixelFormat::Rgba8 => pixels.chunks_exact(4).map(rgb).sum(),
    }
}

impl fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let life = self.life;
        f.debug_struct("Thumbnail")
            .field("generation", &life.map(|l| l.generation))
            .field("born_us", &life.map(|l| l.born_us))
            .field("deadline_us", &life.map(|l| l.deadline_us))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::frame::{FrameBuffer, FrameLayout};
    use crate::telemetry::PermanenceRecorder;

    const BORN_US: u64 = 1_000;
    const DEADLINE_US: u64 = 301_000;

    fn buffer(layout: FrameLayout, src: &[u8]) -> FrameBuffer {
        let mut buffer = FrameBuffer::with_capacity(layout.to_packed().len_bytes()).expect("alloc");
        buffer.write_from(layout, src).expect("write");
        buffer
    }

    fn filled(layout: FrameLayout, src: &[u8]) -> Thumbnail {
        let frame = buffer(layout, src);
        let mut thumbnail = Thumbnail::new().expect("alloc");
        let overwritten = thumbnail.fill_from(&frame.view().expect("frame"), 1, BORN_US, DEADLINE_US, BORN_US);
        assert_eq!(overwritten, None);
        thumbnail
    }

    #[test]
    fn luma_uses_bt601_weights() {
        // Hand-computed: (77*255 + 128) >> 8 = 77, (150*255 + 128) >> 8 = 149,
        // (29*255 + 128) >> 8 = 29, white: (256*255 + 128) >> 8 = 255.
        let cases: [(PixelFormat, &[u8], u8); 6] = [
            (PixelFormat::Rgb8, &[255, 0, 0], 77),
            (PixelFormat::Rgb8, &[0, 255, 0], 149),
            (PixelFormat::Rgba8, &[0, 0, 255, 9], 29),
            (PixelFormat::Rgba8, &[255, 255, 255, 0], 255),
            (PixelFormat::Gray8, &[123], 123),
            (PixelFormat::Rgb8, &[1, 2], 0),
        ];
        for (format, pixel, expected) in cases {
            assert_eq!(pixel_luma(format, pixel), expected, "{format:?} {pixel:?}");
        }
    }

    #[test]
    fn gray_frame_twice_the_size_averages_2x2_cells() {
        // 80x60, pixel value = (x + y) % 256 would give (2x+2y + 2x+1+2y + 2x+2y+1 + 2x+1+2y+1)/4
        // = 2x + 2y + 1 exactly for cell (x, y).
        let (w, h) = (80u32, 60u32);
        let src: Vec<u8> = (0..h).flat_map(|y| (0..w).map(move |x| (x + y) as u8)).collect();
        let layout = FrameLayout::packed(PixelFormat::Gray8, w, h).expect("layout");
        let thumbnail = filled(layout, &src);
        let pixels = thumbnail.pixels(BORN_US).expect("live");
        for (cy, cx) in [(0usize, 0usize), (0, 39), (29, 0), (17, 23), (29, 39)] {
            assert_eq!(usize::from(pixels[cy * 40 + cx]), 2 * cx + 2 * cy + 1, "cell {cx},{cy}");
        }
    }

    #[test]
    fn averages_round_to_nearest_level() {
        // 80x30 gray: each cell averages a 2x1 pair {10, 13} = 11.5 -> 12, {10, 11} = 10.5 -> 11.
        let src: Vec<u8> = (0..30)
            .flat_map(|_| (0..80).map(|x| if x % 2 == 0 { 10 } else { 13 }))
            .collect();
        let layout = FrameLayout::packed(PixelFormat::Gray8, 80, 30).expect("layout");
        assert!(
            filled(layout, &src)
                .pixels(BORN_US)
                .expect("live")
                .iter()
                .all(|&p| p == 12)
        );
        let src: Vec<u8> = src.iter().map(|&p| if p == 13 { 11 } else { p }).collect();
        assert!(
            filled(layout, &src)
                .pixels(BORN_US)
                .expect("live")
                .iter()
                .all(|&p| p == 11)
        );
    }

    #[test]
    fn rgb_and_rgba_with_stride_average_the_pixel_lumas() {
        // 80x30: left half of each 2x1 cell pure red (luma 77), right pure green (149):
        // cell = (77 + 149) / 2 = 113. Rows padded with 0xFF bytes that must be skipped.
        for format in [PixelFormat::Rgb8, PixelFormat::Rgba8] {
            let bpp = format.bytes_per_pixel();
            let stride_bytes = 80 * bpp + 7;
            let mut src = vec![0xFF; stride_bytes * 30];
            for y in 0..30 {
                for x in 0..80 {
                    let px = &mut src[y * stride_bytes + x * bpp..][..bpp];
                    px[..3].copy_from_slice(if x % 2 == 0 { &[255, 0, 0] } else { &[0, 255, 0] });
                }
            }
            let layout = FrameLayout::strided(format, 80, 30, stride_bytes).expect("layout");
            let thumbnail = filled(layout, &src);
            assert!(
                thumbnail.pixels(BORN_US).expect("live").iter().all(|&p| p == 113),
                "{format:?}"
            );
        }
    }

    #[test]
    fn a_frame_smaller_than_the_thumbnail_repeats_its_pixels() {
        // 4x3 gray with stride 6: cell (cx, cy) takes pixel (cx*4/40, cy*3/30) = (cx/10, cy/10).
        let src = [1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0, 9, 10, 11, 12];
        let layout = FrameLayout::strided(PixelFormat::Gray8, 4, 3, 6).expect("layout");
        let thumbnail = filled(layout, &src);
        let pixels = thumbnail.pixels(BORN_US).expect("live");
        for cy in 0..30 {
            for cx in 0..40 {
                assert_eq!(
                    pixels[cy * 40 + cx] as usize,
                    1 + cx / 10 + 4 * (cy / 10),
                    "cell {cx},{cy}"
                );
            }
        }
    }

    fn bright_frame() -> FrameBuffer {
        buffer(
            FrameLayout::packed(PixelFormat::Gray8, 40, 30).expect("layout"),
            &[200; 1200],
        )
    }

    #[test]
    fn an_expired_thumbnail_is_never_readable() {
        let frame = bright_frame();
        let mut thumbnail = Thumbnail::new().expect("alloc");
        assert_eq!(thumbnail.pixels(0), None, "empty");
        thumbnail.fill_from(&frame.view().expect("frame"), 1, BORN_US, DEADLINE_US, BORN_US);
        assert!(thumbnail.pixels(DEADLINE_US - 1).is_some());
        assert_eq!(thumbnail.pixels(DEADLINE_US), None);
        // Still held until a sweep wipes it, but unreadable.
        assert!(thumbnail.is_live());
        assert_eq!(thumbnail.wipe_if_expired(DEADLINE_US - 1), None);
        let life = thumbnail.wipe_if_expired(DEADLINE_US + 5).expect("expired");
        assert_eq!(
            life,
            FrameLife {
                generation: 1,
                written_at_us: BORN_US,
                wiped_at_us: DEADLINE_US + 5,
                end: LifeEnd::Expired
            }
        );
        assert_eq!(thumbnail.residue_bytes(), 0);
    }

    #[test]
    fn a_frame_already_past_its_deadline_is_not_copied() {
        let frame = bright_frame();
        let mut thumbnail = Thumbnail::new().expect("alloc");
        let overwritten = thumbnail.fill_from(&frame.view().expect("frame"), 1, BORN_US, DEADLINE_US, DEADLINE_US);
        assert_eq!(overwritten, None);
        assert!(!thumbnail.is_live());
        assert_eq!(thumbnail.residue_bytes(), 0);
    }

    #[test]
    fn wipe_leaves_no_residue_and_the_check_sees_a_skipped_wipe() {
        let frame = bright_frame();
        let mut thumbnail = Thumbnail::new().expect("alloc");
        thumbnail.fill_from(&frame.view().expect("frame"), 1, BORN_US, DEADLINE_US, BORN_US);
        assert_eq!(thumbnail.residue_bytes(), 0, "live pixels are not residue");
        thumbnail.wipe(2_000, LifeEnd::Released).expect("life");
        assert_eq!(thumbnail.residue_bytes(), 0);
        assert_eq!(thumbnail.wipe(3_000, LifeEnd::Released), None, "nothing left to wipe");

        // Negative control: the same check must see the pixels of a skipped wipe.
        thumbnail.disable_wiping_for_negative_control();
        thumbnail.fill_from(&frame.view().expect("frame"), 2, BORN_US, DEADLINE_US, BORN_US);
        thumbnail.wipe(2_000, LifeEnd::Released).expect("life");
        assert_eq!(thumbnail.residue_bytes(), Thumbnail::LEN_BYTES);
    }

    #[test]
    fn the_recorder_counts_every_life_once_with_its_end() {
        let frame = bright_frame();
        let view = frame.view().expect("frame");
        let mut thumbnail = Thumbnail::new().expect("alloc");
        let mut recorder = PermanenceRecorder::new(300_000);
        let mut lives = Vec::new();
        lives.extend(thumbnail.fill_from(&view, 1, 0, 300_000, 0));
        lives.extend(thumbnail.fill_from(&view, 2, 10_000, 310_000, 20_000)); // overwrites 1
        lives.extend(thumbnail.wipe(30_000, LifeEnd::Released)); // 2
        lives.extend(thumbnail.wipe(31_000, LifeEnd::Released)); // nothing
        lives.extend(thumbnail.fill_from(&view, 3, 40_000, 340_000, 40_000));
        lives.extend(thumbnail.wipe_if_expired(339_999)); // not yet
        lives.extend(thumbnail.wipe_if_expired(340_000)); // 3
        lives.extend(thumbnail.wipe_if_expired(350_000)); // nothing
        lives.extend(thumbnail.fill_from(&view, 4, 400_000, 700_000, 400_000));
        lives.extend(thumbnail.wipe(401_000, LifeEnd::Shutdown)); // 4
        let summary: Vec<_> = lives.iter().map(|l| (l.generation, l.life_us(), l.end)).collect();
        assert_eq!(
            summary,
            [
                (1, 20_000, LifeEnd::Overwritten),
                (2, 20_000, LifeEnd::Released),
                (3, 300_000, LifeEnd::Expired),
                (4, 1_000, LifeEnd::Shutdown)
            ]
        );
        lives.iter().for_each(|life| recorder.record(life));
        let report = recorder.report();
        assert_eq!(report.frames, 4);
        assert_eq!(
            (
                report.ended.overwritten,
                report.ended.released,
                report.ended.expired,
                report.ended.shutdown
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(report.over_budget, 0);
    }

    #[test]
    fn debug_prints_no_pixels() {
        let frame = bright_frame();
        let mut thumbnail = Thumbnail::new().expect("alloc");
        thumbnail.fill_from(&frame.view().expect("frame"), 7, BORN_US, DEADLINE_US, BORN_US);
        let printed = format!("{thumbnail:?}");
        assert!(printed.contains("generation: Some(7)"), "{printed}");
        assert!(!printed.contains("200"), "{printed}");
    }

    static_assertions::assert_not_impl_any!(Thumbnail: Clone, serde::Serialize);

    proptest! {
        #[test]
        fn any_frame_fills_a_live_copy_within_the_source_range(
            width_px in 1u32..100, height_px in 1u32..80, seed in any::<u8>(),
        ) {
            let len = (width_px * height_px) as usize;
            let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
            let (low, high) = (*src.iter().min().expect("pixels"), *src.iter().max().expect("pixels"));
            let layout = FrameLayout::packed(PixelFormat::Gray8, width_px, height_px).expect("layout");
            let thumbnail = filled(layout, &src);
            let pixels = thumbnail.pixels(BORN_US).expect("live");
            prop_assert!(pixels.iter().all(|&p| (low..=high).contains(&p)));
            prop_assert_eq!(thumbnail.residue_bytes(), 0);
        }
    }
}
