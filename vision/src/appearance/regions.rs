//! Landmark-anchored sampling of small face regions, shared by the glasses and
//! beard estimators.
//!
//! Every region is read on a fixed grid whose spacing is a fraction of the
//! inter-ocular distance (IOD), along the face's own axes (the eye line and
//! its perpendicular), so a feature means the same on a 40 px face and on a
//! 400 px one, and in-plane roll does not change it. The cost is fixed too: a
//! few hundred bilinear reads per face whatever the frame size. Samples whose
//! pixels fall outside the frame are left out (NaN); a region with none left
//! is reported as missing, and the estimators turn that into an error.

use parterre_core::{FrameView, PixelFormat, PointPx};

use crate::error::VisionError;

/// Landmarks the estimators expect: the 68-point iBUG layout.
pub(crate) const LANDMARK_COUNT: usize = 68;
/// Below this inter-ocular distance there is too little face to read.
const MIN_IOD_PX: f32 = 4.0;
/// Side of every region's sampling grid.
pub(crate) const GRID: usize = 8;

/// One colour sample: luma and chroma magnitude, both on the 0..255 scale.
#[derive(Debug, Clone, Copy)]
struct Sample {
    luma: f32,
    chroma: f32,
}

/// The face's own axes, both one IOD long: `across` from the subject's right
/// eye centre (image left) to the left one, `down` perpendicular to it,
/// pointing from the brows to the chin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FaceAxes {
    across: [f32; 2],
    down: [f32; 2],
    /// Eye centres, image-left first.
    pub(crate) eyes: [PointPx; 2],
}

impl FaceAxes {
    /// Axes from 68 landmarks; an error for any other count, non-finite
    /// points, or eyes too close together to read.
    pub(crate) fn new(landmarks_px: &[PointPx]) -> Result<Self, VisionError> {
        if landmarks_px.len() != LANDMARK_COUNT {
            return Err(VisionError::InvalidOption(format!(
                "appearance estimators need {LANDMARK_COUNT} landmarks, got {}",
                landmarks_px.len()
            )));
        }
        if landmarks_px.iter().any(|p| !p.x.is_finite() || !p.y.is_finite()) {
            return Err(VisionError::InvalidOption("non-finite landmark".to_string()));
        }
        let eyes = [mean(&landmarks_px[36..42]), mean(&landmarks_px[42..48])];
        let across = [eyes[1].x - eyes[0].x, eyes[1].y - eyes[0].y];
        let iod_px = across[0].hypot(across[1]);
        if iod_px < MIN_IOD_PX {
            return Err(VisionError::InvalidOption(format!(
                "inter-ocular distance {iod_px:.1} px is below {MIN_IOD_PX} px"
            )));
        }
        Ok(Self {
            across,
            down: [-across[1], across[0]],
            eyes,
        })
    }

    /// The point `a` IODs across and `b` IODs down from `origin`.
    pub(crate) fn at(&self, origin: PointPx, a: f32, b: f32) -> PointPx {
        PointPx {
            x: origin.x + a * self.across[0] + b * self.down[0],
            y: origin.y + a * self.across[1] + b * self.down[1],
        }
    }
}

/// The mean of some points.
pub(crate) fn mean(points: &[PointPx]) -> PointPx {
    let n = points.len().max(1) as f32;
    PointPx {
        x: points.iter().map(|p| p.x).sum::<f32>() / n,
        y: points.iter().map(|p| p.y).sum::<f32>() / n,
    }
}

/// The point halfway from `a` to `b`.
pub(crate) fn midpoint(a: PointPx, b: PointPx) -> PointPx {
    mean(&[a, b])
}

/// A rectangle in face axes: centred on `centre`, `half_across` and
/// `half_down` IODs to each side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    pub(crate) centre: PointPx,
    pub(crate) half_across: f32,
    pub(crate) half_down: f32,
}

/// A region read on a `GRID` x `GRID` grid, rows running down the face.
/// Samples outside the frame are NaN.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patch {
    luma: [[f32; GRID]; GRID],
    chroma: [[f32; GRID]; GRID],
    has_colour: bool,
}

impl Patch {
    /// Reads `region` from `view`.
    pub(crate) fn read(view: &FrameView<'_>, axes: &FaceAxes, region: &Region) -> Self {
        let mut patch = Self {
            luma: [[f32::NAN; GRID]; GRID],
            chroma: [[f32::NAN; GRID]; GRID],
            has_colour: view.layout().format != PixelFormat::Gray8,
        };
        let step = |i: usize, half: f32| (2.0 * (i as f32 + 0.5) / GRID as f32 - 1.0) * half;
        for row in 0..GRID {
            for col in 0..GRID {
                let point = axes.at(
                    region.centre,
                    step(col, region.half_across),
                    step(row, region.half_down),
                );
                if let Some(sample) = bilinear(view, point) {
                    patch.luma[row][col] = sample.luma;
                    patch.chroma[row][col] = sample.chroma;
                }
            }
        }
        patch
    }

    /// Whether the frame had colour (chroma is 0 on a gray frame).
    pub(crate) fn has_colour(&self) -> bool {
        self.has_colour
    }

    /// Mean luma over the samples inside the frame; `None` if there are none.
    pub(crate) fn mean_luma(&self) -> Option<f32> {
        mean_valid(self.luma.iter().flatten().copied())
    }

    /// Mean chroma magnitude; `None` if no sample is inside the frame.
    pub(crate) fn mean_chroma(&self) -> Option<f32> {
        mean_valid(self.chroma.iter().flatten().copied())
    }

    /// Mean absolute luma difference between neighbouring samples (across and
    /// down): fine texture such as hair, at the grid's IOD-tied scale.
    pub(crate) fn texture(&self) -> Option<f32> {
        let across = (0..GRID).flat_map(|r| (1..GRID).map(move |c| (self.luma[r][c] - self.luma[r][c - 1]).abs()));
        let down = (1..GRID).flat_map(|r| (0..GRID).map(move |c| (self.luma[r][c] - self.luma[r - 1][c]).abs()));
        mean_valid(across.chain(down))
    }

    /// Mean luma of each row (down the face), NaN where a row is all outside.
    pub(crate) fn row_profile(&self) -> [f32; GRID] {
        self.luma.map(|row| mean_valid(row.into_iter()).unwrap_or(f32::NAN))
    }
}

/// The cheeks below each eye (0.5 to 0.8 IOD down, a little outward): the
/// skin both estimators compare the other regions with, seldom covered by a
/// frame or (short of a full beard) by hair.
pub(crate) fn cheeks(view: &FrameView<'_>, axes: &FaceAxes) -> [Patch; 2] {
    [-0.05, 0.05].map(|outward| {
        let eye = if outward < 0.0 { axes.eyes[0] } else { axes.eyes[1] };
        let region = Region {
            centre: axes.at(eye, outward, 0.65),
            half_across: 0.15,
            half_down: 0.15,
        };
        Patch::read(view, axes, &region)
    })
}

/// One statistic averaged over the patches that have it.
pub(crate) fn mean_over(patches: &[Patch], stat: fn(&Patch) -> Option<f32>) -> Option<f32> {
    mean_valid(patches.iter().filter_map(stat))
}

/// Mean luma of the cheeks, at least 1 (it divides); an error if both are
/// outside the frame.
pub(crate) fn cheek_luma(cheeks: &[Patch; 2]) -> Result<f32, VisionError> {
    Ok(mean_over(cheeks, Patch::mean_luma)
        .ok_or_else(|| outside("cheeks"))?
        .max(1.0))
}

/// The largest step between rows two apart in a profile (a central
/// difference, halved): how sharp the strongest edge running across is.
pub(crate) fn strongest_edge(profile: &[f32; GRID]) -> Option<f32> {
    profile
        .windows(3)
        .map(|w| (w[2] - w[0]).abs() / 2.0)
        .filter(|d| d.is_finite())
        .reduce(f32::max)
}

/// Mean of the finite values; `None` if there are none.
pub(crate) fn mean_valid(values: impl Iterator<Item = f32>) -> Option<f32> {
    let (sum, n) = values
        .filter(|v| v.is_finite())
        .fold((0.0f32, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f32)
}

/// The error for a region with no sample inside the frame.
pub(crate) fn outside(what: &str) -> VisionError {
    VisionError::InvalidOption(format!("the face's {what} lies outside the frame"))
}

/// The frame bilinearly interpolated at `point` (pixel centres at +0.5);
/// `None` if any of the four pixels is outside.
fn bilinear(view: &FrameView<'_>, point: PointPx) -> Option<Sample> {
    let layout = view.layout();
    let (x, y) = (point.x - 0.5, point.y - 0.5);
    let (x0, y0) = (x.floor(), y.floor());
    if !(x0 >= 0.0 && y0 >= 0.0 && x0 + 1.0 < layout.width_px as f32 && y0 + 1.0 < layout.height_px as f32) {
        return None;
    }
    let (fx, fy) = (x - x0, y - y0);
    let (col, row) = (x0 as usize, y0 as u32);
    let top = pixel_pair(view, row, col)?;
    let bottom = pixel_pair(view, row + 1, col)?;
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let mix = |f: fn(&Sample) -> f32| {
        lerp(
            lerp(f(&top[0]), f(&top[1]), fx),
            lerp(f(&bottom[0]), f(&bottom[1]), fx),
            fy,
        )
    };
    Some(Sample {
        luma: mix(|s| s.luma),
        chroma: mix(|s| s.chroma),
    })
}

/// Pixels `col` and `col + 1` of row `row`.
fn pixel_pair(view: &FrameView<'_>, row: u32, col: usize) -> Option<[Sample; 2]> {
    let format = view.layout().format;
    let bpp = format.bytes_per_pixel();
    let bytes = view.row(row)?.get(col * bpp..(col + 2) * bpp)?;
    Some([sample(format, &bytes[..bpp]), sample(format, &bytes[bpp..])])
}

/// Luma (BT.601) and chroma magnitude (the length of the BT.601 Cb, Cr
/// vector) of one pixel.
fn sample(format: PixelFormat, pixel: &[u8]) -> Sample {
    if format == PixelFormat::Gray8 {
        return Sample {
            luma: f32::from(pixel[0]),
            chroma: 0.0,
        };
    }
    let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(f32::from);
    let luma = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 0.564 * (b - luma);
    let cr = 0.713 * (r - luma);
    Sample {
        luma,
        chroma: cb.hypot(cr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::gray_frame;

    fn face_points(scale: f32, dx: f32, dy: f32) -> Vec<PointPx> {
        // Only the eyes matter to the axes: put 36..42 at (10, 20), 42..48 at (30, 20).
        (0..LANDMARK_COUNT)
            .map(|i| {
                let x = if (42..48).contains(&i) { 30.0 } else { 10.0 };
                PointPx {
                    x: x * scale + dx,
                    y: 20.0 * scale + dy,
                }
            })
            .collect()
    }

    #[test]
    fn axes_follow_the_eyes() {
        let axes = FaceAxes::new(&face_points(1.0, 0.0, 0.0)).expect("axes");
        let p = axes.at(axes.eyes[0], 0.5, 1.0);
        assert_eq!((p.x, p.y), (20.0, 40.0), "half an IOD across, one IOD down");
    }

    #[test]
    fn bad_landmarks_are_refused() {
        assert!(FaceAxes::new(&face_points(1.0, 0.0, 0.0)[..67]).is_err());
        assert!(FaceAxes::new(&face_points(0.1, 0.0, 0.0)).is_err(), "IOD of 2 px");
        let mut nan = face_points(1.0, 0.0, 0.0);
        nan[3].x = f32::NAN;
        assert!(FaceAxes::new(&nan).is_err());
    }

    #[test]
    fn patches_interpolate_and_drop_what_is_outside() {
        // A horizontal ramp: luma = 4 * column.
        let pixels: Vec<u8> = (0..40 * 40).map(|i| (4 * (i % 40)) as u8).collect();
        let frame = gray_frame(40, 40, &pixels);
        let view = frame.view().expect("view");
        let axes = FaceAxes::new(&face_points(1.0, 0.0, 0.0)).expect("axes");
        let inside = Region {
            centre: PointPx { x: 20.0, y: 20.0 },
            half_across: 0.25,
            half_down: 0.25,
        };
        let patch = Patch::read(&view, &axes, &inside);
        // Centre x = 20 is between pixel centres 19.5 and 20.5: luma 4 * 19.5.
        let mean = patch.mean_luma().expect("inside");
        assert!((mean - 78.0).abs() < 1e-3, "{mean}");
        // Neighbours 1.25 px apart (10 px over 8 samples): a step of 5 across,
        // none down; as many pairs of each.
        let texture = patch.texture().expect("texture");
        assert!((texture - 2.5).abs() < 1e-3, "{texture}");
        assert_eq!(patch.mean_chroma(), Some(0.0));
        let half_out = Region {
            centre: PointPx { x: 0.0, y: 20.0 },
            ..inside
        };
        let half = Patch::read(&view, &axes, &half_out).mean_luma().expect("half inside");
        assert!(half < 20.0, "only the left edge is read: {half}");
        let out = Region {
            centre: PointPx { x: -50.0, y: 20.0 },
            ..inside
        };
        assert_eq!(Patch::read(&view, &axes, &out).mean_luma(), None);
    }

    #[test]
    fn strongest_edge_finds_the_step() {
        let profile = [10.0, 10.0, 10.0, 50.0, 50.0, f32::NAN, 50.0, 50.0];
        assert_eq!(strongest_edge(&profile), Some(20.0));
        assert_eq!(strongest_edge(&[f32::NAN; GRID]), None);
    }
}
