//! A drawn face for the estimators' unit tests: flat skin, dark eyes, and
//! 68 landmarks where a frontal face has them (IOD 60 px), onto which a test
//! paints glasses or a beard. Known inputs, so the tests know the answer.

use parterre_core::{FrameBuffer, FrameLayout, PixelFormat, PointPx};

/// Frame size.
pub(crate) const SIDE_PX: u32 = 200;
/// Skin and eye colours (the skin reddish, as skin's chroma is).
pub(crate) const SKIN_RGB: [u8; 3] = [200, 150, 120];
const EYE_RGB: [u8; 3] = [60, 50, 45];

/// The landmarks, iBUG order: eye centres at (70, 80) and (130, 80).
pub(crate) fn landmarks() -> Vec<PointPx> {
    let jaw = (0..17).map(|i| {
        // An arc from ear to ear through the chin at (100, 180).
        let angle = std::f32::consts::PI * (i as f32 / 16.0);
        (100.0 - 60.0 * angle.cos(), 90.0 + 90.0 * angle.sin())
    });
    let brows = (0..10).map(|i| (55.0 + 10.0 * i as f32, 65.0));
    let nose = [(100.0, 80.0), (100.0, 90.0), (100.0, 100.0), (100.0, 110.0)]
        .into_iter()
        .chain((0..5).map(|i| (90.0 + 5.0 * i as f32, 122.0)));
    let eye = |cx: f32| {
        [
            (-12.0, 0.0),
            (-6.0, -3.0),
            (6.0, -3.0),
            (12.0, 0.0),
            (6.0, 3.0),
            (-6.0, 3.0),
        ]
        .map(|(dx, dy)| (cx + dx, 80.0 + dy))
    };
    let outer_mouth = [
        (80.0, 140.0),
        (87.0, 136.0),
        (94.0, 135.0),
        (100.0, 135.0),
        (106.0, 135.0),
        (113.0, 136.0),
        (120.0, 140.0),
        (113.0, 145.0),
        (106.0, 147.0),
        (100.0, 148.0),
        (94.0, 147.0),
        (87.0, 145.0),
    ];
    let inner_mouth = [
        (84.0, 140.0),
        (94.0, 139.0),
        (100.0, 139.0),
        (106.0, 139.0),
        (116.0, 140.0),
        (106.0, 142.0),
        (100.0, 142.0),
        (94.0, 142.0),
    ];
    let points: Vec<PointPx> = jaw
        .chain(brows)
        .chain(nose)
        .chain(eye(70.0))
        .chain(eye(130.0))
        .chain(outer_mouth)
        .chain(inner_mouth)
        .map(|(x, y)| PointPx { x, y })
        .collect();
    assert_eq!(points.len(), 68);
    points
}

/// Skin with two dark elliptic eyes at the eye centres.
pub(crate) fn bare(x: u32, y: u32) -> [u8; 3] {
    let in_eye = |cx: f32| ((x as f32 - cx) / 8.0).powi(2) + ((y as f32 - 80.0) / 4.0).powi(2) <= 1.0;
    if in_eye(70.0) || in_eye(130.0) {
        EYE_RGB
    } else {
        SKIN_RGB
    }
}

/// A frame of `format` painted pixel by pixel (gray takes the BT.601 luma).
pub(crate) fn frame(format: PixelFormat, paint: impl Fn(u32, u32) -> [u8; 3]) -> FrameBuffer {
    let layout = FrameLayout::packed(format, SIDE_PX, SIDE_PX).expect("layout");
    let mut pixels = Vec::with_capacity(layout.len_bytes());
    for y in 0..SIDE_PX {
        for x in 0..SIDE_PX {
            let [r, g, b] = paint(x, y);
            match format {
                PixelFormat::Gray8 => {
                    pixels.push((0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)).round() as u8)
                }
                PixelFormat::Rgb8 => pixels.extend([r, g, b]),
                PixelFormat::Rgba8 => pixels.extend([r, g, b, 255]),
            }
        }
    }
    let mut buffer = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
    buffer.write_from(layout, &pixels).expect("write");
    buffer
}

/// The landmarks moved by `(dx, dy)` pixels.
pub(crate) fn shifted(points: &[PointPx], dx: f32, dy: f32) -> Vec<PointPx> {
    points
        .iter()
        .map(|p| PointPx {
            x: p.x + dx,
            y: p.y + dy,
        })
        .collect()
}
