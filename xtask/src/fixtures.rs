//! `cargo xtask fixtures`: small Y4M test videos made from the demo photos,
//! for tests and benchmarks, in the git-ignored `fixtures-video/`.
//!
//! Five scenes, each at 640x480 and 1280x720, 30 fps, 3 s, C420jpeg full
//! range (`XCOLORRANGE=FULL`, so grey stays exactly grey):
//! `pan` (the view slides across sample1's three faces), `zoom` (from the
//! whole of sample2 into its face), `enter_leave` (a face from sample3 slides
//! in over a plain backdrop, stays, and leaves: the first and last fifth have
//! no face), `still` (sample2, every frame the same) and `canary` (`still`
//! with the top-left block replaced by `CANARY_PATTERN`).
//!
//! Deterministic (no randomness, no clock) and idempotent: a file already
//! there with the right length is kept.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread;

use anyhow::{Context, Result, bail};

/// Where the videos go (git-ignored).
const OUT_DIR: &str = "fixtures-video";
/// Frame sizes made of every scene.
const SIZES_PX: [(u32, u32); 2] = [(640, 480), (1280, 720)];
const FPS: u32 = 30;
const FRAMES: u32 = 3 * FPS;

/// The canary video's mark: pixel (x, y) of its top-left
/// `CANARY_BLOCK_PX`-square block is grey `CANARY_PATTERN[(x + 3y) % 16]` in
/// every frame. Grey with neutral chroma in full range decodes back to
/// exactly these bytes (R = G = B), so a memory scan can look for them. The
/// native frontend's tests mirror both constants and check a generated file.
pub const CANARY_PATTERN: [u8; 16] = *b"PARTERRE-CANARY!";
/// Side of the canary block; even, so no 4:2:0 chroma sample straddles it.
pub const CANARY_BLOCK_PX: u32 = 64;

/// A decoded demo photo and its faces' boxes (x, y, width, height, in px).
struct Photo {
    width_px: u32,
    height_px: u32,
    rgb: Vec<u8>,
    faces: Vec<[f64; 4]>,
}

impl Photo {
    fn load(root: &Path, name: &str) -> Result<Self> {
        let image = root.join(format!("vision/tests/fixtures/images/{name}.png"));
        let file = File::open(&image).with_context(|| format!("opening {}", image.display()))?;
        let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info()?;
        let size = reader.output_buffer_size().context("photo too large")?;
        let mut pixels = vec![0; size];
        let info = reader.next_frame(&mut pixels)?;
        let channels = match (info.color_type, info.bit_depth) {
            (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
            (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
            other => bail!("{}: expected 8-bit RGB or RGBA, found {other:?}", image.display()),
        };
        let rgb = pixels
            .chunks_exact(channels)
            .take((info.width * info.height) as usize)
            .flat_map(|pixel| [pixel[0], pixel[1], pixel[2]])
            .collect();
        let reference = root.join(format!("vision/tests/fixtures/reference/{name}.json"));
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&reference)?)?;
        let faces = json["detectors"]["tiny"]["faces"]
            .as_array()
            .with_context(|| format!("{}: no detectors.tiny.faces", reference.display()))?
            .iter()
            .map(|face| {
                let number = |i: usize| face["box"][i].as_f64().context("face box");
                Ok([number(0)?, number(1)?, number(2)?, number(3)?])
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            width_px: info.width,
            height_px: info.height,
            rgb,
            faces,
        })
    }

    /// Bilinear sample at (x, y) in photo pixels, edges clamped.
    fn sample(&self, x: f64, y: f64) -> [u8; 3] {
        let max_x = f64::from(self.width_px - 1);
        let max_y = f64::from(self.height_px - 1);
        let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as usize, y0 as usize);
        let (x1, y1) = ((x0 + 1).min(max_x as usize), (y0 + 1).min(max_y as usize));
        let width = self.width_px as usize;
        let at = |x: usize, y: usize, c: usize| f64::from(self.rgb[(y * width + x) * 3 + c]);
        std::array::from_fn(|c| {
            let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
            let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        })
    }

    /// The largest view of the given aspect that fits, centred.
    fn fitted_view(&self, aspect: f64) -> View {
        let (width, height) = (f64::from(self.width_px), f64::from(self.height_px));
        let view_w = width.min(height * aspect);
        View {
            centre_x: width / 2.0,
            centre_y: height / 2.0,
            width: view_w,
        }
        .clamped(self, aspect)
    }
}

/// A window on a photo: centre and width in photo pixels; its height
/// follows from the frame's aspect.
#[derive(Debug, Clone, Copy, PartialEq)]
struct View {
    centre_x: f64,
    centre_y: f64,
    width: f64,
}

impl View {
    /// Moved (not shrunk unless it must be) to lie inside the photo.
    fn clamped(self, photo: &Photo, aspect: f64) -> Self {
        let (photo_w, photo_h) = (f64::from(photo.width_px), f64::from(photo.height_px));
        let width = self.width.min(photo_w).min(photo_h * aspect);
        let height = width / aspect;
        Self {
            centre_x: clamp_centre(self.centre_x, width, photo_w),
            centre_y: clamp_centre(self.centre_y, height, photo_h),
            width,
        }
    }

    /// Renders the view into an RGB frame.
    fn render(&self, photo: &Photo, width_px: u32, height_px: u32, rgb: &mut [u8]) {
        let scale = self.width / f64::from(width_px);
        let left = self.centre_x - self.width / 2.0;
        let top = self.centre_y - scale * f64::from(height_px) / 2.0;
        for (y, row) in rgb.chunks_exact_mut(width_px as usize * 3).enumerate() {
            let source_y = top + (y as f64 + 0.5) * scale - 0.5;
            for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
                let source_x = left + (x as f64 + 0.5) * scale - 0.5;
                pixel.copy_from_slice(&photo.sample(source_x, source_y));
            }
        }
    }
}

/// A centre that keeps a span of `length` inside 0..`extent`; a span as long
/// as the extent (up to rounding) is centred.
fn clamp_centre(centre: f64, length: f64, extent: f64) -> f64 {
    if length >= extent {
        extent / 2.0
    } else {
        centre.clamp(length / 2.0, extent - length / 2.0)
    }
}

fn face_centre(face: &[f64; 4]) -> (f64, f64) {
    (face[0] + face[2] / 2.0, face[1] + face[3] / 2.0)
}

/// Smooth start and stop: 0 → 0, 1 → 1, flat at both ends.
fn ease(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The scenes, each a function of time t in 0..=1 to a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scene {
    Pan,
    Zoom,
    EnterLeave,
    Still,
    Canary,
}

impl Scene {
    const ALL: [Self; 5] = [Self::Pan, Self::Zoom, Self::EnterLeave, Self::Still, Self::Canary];

    fn name(self) -> &'static str {
        match self {
            Self::Pan => "pan",
            Self::Zoom => "zoom",
            Self::EnterLeave => "enter_leave",
            Self::Still => "still",
            Self::Canary => "canary",
        }
    }

    /// The same frame at every t: rendered once.
    fn is_static(self) -> bool {
        matches!(self, Self::Still | Self::Canary)
    }
}

/// The photos the scenes are cut from.
struct Photos {
    /// Several faces in a row: panned across.
    group: Photo,
    /// One face: zoomed into; the still scenes.
    single: Photo,
    /// A face to cut out: enters and leaves.
    portrait: Photo,
}

/// Where the pan looks at time t: from the leftmost face to the rightmost,
/// a view half the photo wide.
fn pan_view(photo: &Photo, aspect: f64, t: f64) -> View {
    let centres: Vec<(f64, f64)> = photo.faces.iter().map(face_centre).collect();
    let first_x = centres.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    let last_x = centres.iter().map(|c| c.0).fold(f64::NEG_INFINITY, f64::max);
    let mean_y = centres.iter().map(|c| c.1).sum::<f64>() / centres.len().max(1) as f64;
    View {
        centre_x: first_x + (last_x - first_x) * ease(t),
        centre_y: mean_y,
        width: f64::from(photo.width_px) / 2.0,
    }
    .clamped(photo, aspect)
}

/// From the whole photo to a view 2.5 faces wide, centred on the first face.
fn zoom_view(photo: &Photo, aspect: f64, t: f64) -> View {
    let start = photo.fitted_view(aspect);
    let Some(face) = photo.faces.first() else { return start };
    let (face_x, face_y) = face_centre(face);
    let t = ease(t);
    let end_width = face[2].max(face[3] * aspect) * 2.5;
    View {
        centre_x: start.centre_x + (face_x - start.centre_x) * t,
        centre_y: start.centre_y + (face_y - start.centre_y) * t,
        // Geometric, so the zoom looks steady.
        width: start.width * (end_width / start.width).powf(t),
    }
    .clamped(photo, aspect)
}

/// The plain backdrop of `enter_leave`: a soft vertical gradient, no face.
fn backdrop(y: u32, height_px: u32) -> [u8; 3] {
    let shade = (60 + 80 * y / height_px.max(1)) as u8;
    [shade, shade + 10, shade + 30]
}

/// Left edge of the face patch in `enter_leave` at time t, in frame px:
/// off-screen left for the first fifth, slides to the centre, stays, slides
/// off right, off-screen for the last fifth.
fn patch_left_px(t: f64, width_px: u32, patch_px: u32) -> f64 {
    let (width, patch) = (f64::from(width_px), f64::from(patch_px));
    let centre = (width - patch) / 2.0;
    match t {
        t if t < 0.2 => -patch,
        t if t < 0.4 => -patch + (centre + patch) * ease((t - 0.2) / 0.2),
        t if t < 0.6 => centre,
        t if t < 0.8 => centre + (width - centre) * ease((t - 0.6) / 0.2),
        _ => width,
    }
}

fn render_enter_leave(photo: &Photo, t: f64, width_px: u32, height_px: u32, rgb: &mut [u8]) {
    let patch_px = (height_px as f64 * 0.45).round() as u32;
    let left = patch_left_px(t, width_px, patch_px);
    let top = f64::from(height_px - patch_px) / 2.0;
    // The patch: a square 1.5 faces wide around the face.
    let face = photo.faces.first().copied().unwrap_or([0.0, 0.0, 1.0, 1.0]);
    let (face_x, face_y) = face_centre(&face);
    let side = face[2].max(face[3]) * 1.5;
    let scale = side / f64::from(patch_px);
    for (y, row) in rgb.chunks_exact_mut(width_px as usize * 3).enumerate() {
        let in_rows = (y as f64) >= top && (y as f64) < top + f64::from(patch_px);
        for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
            let patch_x = x as f64 - left;
            let value = if in_rows && patch_x >= 0.0 && patch_x < f64::from(patch_px) {
                let source_x = face_x - side / 2.0 + (patch_x + 0.5) * scale;
                let source_y = face_y - side / 2.0 + (y as f64 - top + 0.5) * scale;
                photo.sample(source_x, source_y)
            } else {
                backdrop(y as u32, height_px)
            };
            pixel.copy_from_slice(&value);
        }
    }
}

fn paint_canary(width_px: u32, rgb: &mut [u8]) {
    let block = CANARY_BLOCK_PX as usize;
    for (y, row) in rgb.chunks_exact_mut(width_px as usize * 3).take(block).enumerate() {
        for (x, pixel) in row.chunks_exact_mut(3).take(block).enumerate() {
            pixel.fill(CANARY_PATTERN[(x + 3 * y) % CANARY_PATTERN.len()]);
        }
    }
}

/// Frame number `frame` of `scene` as packed RGB.
fn render(scene: Scene, photos: &Photos, frame: u32, width_px: u32, height_px: u32, rgb: &mut [u8]) {
    let t = f64::from(frame) / f64::from((FRAMES - 1).max(1));
    let aspect = f64::from(width_px) / f64::from(height_px);
    match scene {
        Scene::Pan => pan_view(&photos.group, aspect, t).render(&photos.group, width_px, height_px, rgb),
        Scene::Zoom => zoom_view(&photos.single, aspect, t).render(&photos.single, width_px, height_px, rgb),
        Scene::EnterLeave => render_enter_leave(&photos.portrait, t, width_px, height_px, rgb),
        Scene::Still | Scene::Canary => {
            photos
                .single
                .fitted_view(aspect)
                .render(&photos.single, width_px, height_px, rgb);
            if scene == Scene::Canary {
                paint_canary(width_px, rgb);
            }
        }
    }
}

/// Full-range BT.601 in 16-bit fixed point; each row of weights sums to
/// 65536 (Y) or 0 (U, V), so grey maps to exactly (grey, 128, 128).
fn rgb_to_yuv([r, g, b]: [i32; 3]) -> [u8; 3] {
    let clamp = |value: i32| value.clamp(0, 255) as u8;
    [
        clamp((19_595 * r + 38_470 * g + 7_471 * b + 32_768) >> 16),
        clamp(128 + ((-11_059 * r - 21_709 * g + 32_768 * b + 32_768) >> 16)),
        clamp(128 + ((32_768 * r - 27_439 * g - 5_329 * b + 32_768) >> 16)),
    ]
}

fn header(width_px: u32, height_px: u32) -> String {
    format!("YUV4MPEG2 W{width_px} H{height_px} F{FPS}:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=FULL\n")
}

const FRAME_LINE: &[u8] = b"FRAME\n";

/// Appends one 4:2:0 frame (even sizes): Y per pixel, U and V from the mean
/// of each 2x2 block.
fn append_frame(rgb: &[u8], width_px: u32, height_px: u32, out: &mut Vec<u8>) {
    let (width, height) = (width_px as usize, height_px as usize);
    let pixel = |x: usize, y: usize| {
        let at = (y * width + x) * 3;
        [i32::from(rgb[at]), i32::from(rgb[at + 1]), i32::from(rgb[at + 2])]
    };
    out.extend_from_slice(FRAME_LINE);
    out.extend(
        (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| rgb_to_yuv(pixel(x, y))[0]),
    );
    let mut u_plane = Vec::with_capacity(width * height / 4);
    let mut v_plane = Vec::with_capacity(width * height / 4);
    for y in (0..height).step_by(2) {
        for x in (0..width).step_by(2) {
            let quad = [pixel(x, y), pixel(x + 1, y), pixel(x, y + 1), pixel(x + 1, y + 1)];
            let mean = std::array::from_fn(|c| (quad.iter().map(|p| p[c]).sum::<i32>() + 2) / 4);
            let [_, u, v] = rgb_to_yuv(mean);
            u_plane.push(u);
            v_plane.push(v);
        }
    }
    out.extend_from_slice(&u_plane);
    out.extend_from_slice(&v_plane);
}

/// Bytes of a whole video of the given size.
fn video_len_bytes(width_px: u32, height_px: u32) -> u64 {
    let frame = u64::from(width_px) * u64::from(height_px) * 3 / 2 + FRAME_LINE.len() as u64;
    header(width_px, height_px).len() as u64 + u64::from(FRAMES) * frame
}

/// Writes one video, unless it is there already with the right length.
fn make_video(scene: Scene, photos: &Photos, (width_px, height_px): (u32, u32), dir: &Path) -> Result<()> {
    let path = dir.join(format!("{}_{width_px}x{height_px}.y4m", scene.name()));
    let expected = video_len_bytes(width_px, height_px);
    if fs::metadata(&path).is_ok_and(|meta| meta.len() == expected) {
        eprintln!("fixtures: {} is up to date", path.display());
        return Ok(());
    }
    // Written under another name and renamed: an interrupted run leaves no
    // file of the right name that a later run would take as done.
    let partial: PathBuf = path.with_extension("y4m.partial");
    let mut out = BufWriter::new(File::create(&partial).with_context(|| format!("creating {}", partial.display()))?);
    out.write_all(header(width_px, height_px).as_bytes())?;
    let mut rgb = vec![0u8; width_px as usize * height_px as usize * 3];
    let mut frame_bytes = Vec::new();
    for frame in 0..FRAMES {
        if frame == 0 || !scene.is_static() {
            render(scene, photos, frame, width_px, height_px, &mut rgb);
            frame_bytes.clear();
            append_frame(&rgb, width_px, height_px, &mut frame_bytes);
        }
        out.write_all(&frame_bytes)?;
    }
    out.flush()?;
    drop(out);
    fs::rename(&partial, &path)?;
    eprintln!(
        "fixtures: wrote {} ({FRAMES} frames, {:.1} MB)",
        path.display(),
        expected as f64 / 1e6
    );
    Ok(())
}

/// Makes every video; the two sizes in parallel.
pub fn run() -> Result<()> {
    let root = crate::run::project_root()?;
    let photos = Photos {
        group: Photo::load(&root, "sample1")?,
        single: Photo::load(&root, "sample2")?,
        portrait: Photo::load(&root, "sample3")?,
    };
    let dir = root.join(OUT_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    thread::scope(|scope| {
        let workers: Vec<_> = SIZES_PX
            .into_iter()
            .map(|size| {
                let (photos, dir) = (&photos, &dir);
                scope.spawn(move || {
                    Scene::ALL
                        .into_iter()
                        .try_for_each(|scene| make_video(scene, photos, size, dir))
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a fixtures thread panicked"))?
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 40x30 photo: red rises to the right, green downwards; two "face" boxes.
    fn photo() -> Photo {
        let rgb = (0..30u8)
            .flat_map(|y| (0..40u8).flat_map(move |x| [x * 6, y * 8, 100]))
            .collect();
        Photo {
            width_px: 40,
            height_px: 30,
            rgb,
            faces: vec![[16.0, 11.0, 8.0, 8.0], [4.0, 10.0, 8.0, 8.0]],
        }
    }

    fn photos() -> Photos {
        Photos {
            group: photo(),
            single: photo(),
            portrait: photo(),
        }
    }

    fn frame(scene: Scene, index: u32) -> Vec<u8> {
        let mut rgb = vec![0; 16 * 12 * 3];
        render(scene, &photos(), index, 16, 12, &mut rgb);
        rgb
    }

    #[test]
    fn grey_and_primaries_convert_to_known_yuv() {
        for grey in [0, 77, 128, 255] {
            assert_eq!(rgb_to_yuv([grey; 3]), [grey as u8, 128, 128]);
        }
        // Red: Y = 0.299 * 255 = 76.2, U = 128 - 0.1687 * 255 = 85, V = 255.5 → 255.
        assert_eq!(rgb_to_yuv([255, 0, 0]), [76, 85, 255]);
    }

    #[test]
    fn still_scenes_do_not_change_and_moving_ones_do() {
        assert_eq!(frame(Scene::Still, 0), frame(Scene::Still, FRAMES - 1));
        assert_ne!(frame(Scene::Pan, 0), frame(Scene::Pan, FRAMES - 1));
        assert_ne!(frame(Scene::Zoom, 0), frame(Scene::Zoom, FRAMES - 1));
    }

    #[test]
    fn the_pan_goes_left_to_right_and_the_zoom_closes_in() {
        let photo = photo();
        let (start, end) = (pan_view(&photo, 4.0 / 3.0, 0.0), pan_view(&photo, 4.0 / 3.0, 1.0));
        assert!(start.centre_x < end.centre_x, "{start:?} {end:?}");
        let (start, end) = (zoom_view(&photo, 4.0 / 3.0, 0.0), zoom_view(&photo, 4.0 / 3.0, 1.0));
        assert_eq!(start.width, 40.0, "the whole photo's width");
        assert!((end.width - 8.0 * 4.0 / 3.0 * 2.5).abs() < 1e-9, "{end:?}");
        assert!(
            (end.centre_x - 20.0).abs() < 1e-9 && (end.centre_y - 15.0).abs() < 1e-9,
            "on the first face"
        );
    }

    #[test]
    fn the_face_enters_and_leaves_with_empty_frames_around() {
        let empty: Vec<u8> = (0..12)
            .flat_map(|y| (0..16).flat_map(move |_| backdrop(y, 12)))
            .collect();
        assert_eq!(frame(Scene::EnterLeave, 0), empty, "no face at first");
        assert_eq!(frame(Scene::EnterLeave, FRAMES - 1), empty, "none at the end");
        assert_ne!(frame(Scene::EnterLeave, FRAMES / 2), empty, "a face in the middle");
    }

    #[test]
    fn the_canary_block_is_exact_in_the_y4m_planes() {
        // A 64x64 block needs a frame at least that big.
        let (width_px, height_px) = (80, 66);
        let mut rgb = vec![0; 80 * 66 * 3];
        render(Scene::Canary, &photos(), 0, width_px, height_px, &mut rgb);
        let mut out = Vec::new();
        append_frame(&rgb, width_px, height_px, &mut out);
        assert_eq!(out.len(), FRAME_LINE.len() + 80 * 66 * 3 / 2);
        assert_eq!(
            video_len_bytes(80, 66),
            (header(80, 66).len() + FRAMES as usize * out.len()) as u64
        );
        let luma = &out[FRAME_LINE.len()..];
        for y in 0..64 {
            for x in 0..64 {
                assert_eq!(luma[y * 80 + x], CANARY_PATTERN[(x + 3 * y) % 16], "({x}, {y})");
            }
        }
        // Chroma of the block is neutral, so it decodes to R = G = B.
        let u_plane = &luma[80 * 66..];
        assert!((0..32).all(|y| (0..32).all(|x| u_plane[y * 40 + x] == 128)));
        // Negative control: the still scene has no such block.
        let mut still = vec![0; 80 * 66 * 3];
        render(Scene::Still, &photos(), 0, width_px, height_px, &mut still);
        assert_ne!(still[..64 * 3], rgb[..64 * 3]);
    }
}
