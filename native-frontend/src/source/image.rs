//! Still pictures as frames: one JPEG or PNG file, or a folder of them in
//! file-name order, each shown once at the given rate.
//!
//! Pictures may differ in size. Opening reads every file's header (and
//! refuses any beyond `MAX_FRAME_SIDE_PX` a side, or that is corrupt), so the
//! source knows its largest frame before the first is decoded: the pool's
//! slots are sized to it.
//!
//! The compressed bytes of a file are read into a `Zeroizing` buffer, wiped
//! when the frame is done. JPEG and 8-bit RGB PNG decode straight into the
//! slot; other PNG colour types (grey, alpha, palette, 16-bit) decode into a
//! `Zeroizing` scratch first and are converted into the slot (alpha dropped,
//! not composited). The decoders' own internal buffers are out of our reach.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use parterre_core::FrameLayout;
use zeroize::Zeroizing;
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::{FrameSource, MAX_FRAME_SIDE_PX, check_dst, check_frame_size};
use crate::error::NativeError;

/// File extensions a folder is searched for (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Whether `path` has one of the picture extensions.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        })
}

/// What a file holds, by its first bytes rather than its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
}

fn kind(name: &str, bytes: &[u8]) -> Result<Kind, NativeError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(Kind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        Ok(Kind::Jpeg)
    } else {
        Err(decode_error(name, "neither JPEG nor PNG"))
    }
}

fn decode_error(name: &str, reason: impl ToString) -> NativeError {
    NativeError::Decode {
        name: name.to_owned(),
        reason: reason.to_string(),
    }
}

/// The compressed bytes of a file, wiped when dropped.
fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, NativeError> {
    fs::read(path)
        .map(Zeroizing::new)
        .map_err(|error| decode_error(&path.display().to_string(), error))
}

fn jpeg_decoder(bytes: &[u8]) -> JpegDecoder<Cursor<&[u8]>> {
    // Strict: a truncated or damaged file is an error, not a picture half
    // filled with grey that would be analyzed as if it were real.
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_FRAME_SIDE_PX as usize)
        .set_max_height(MAX_FRAME_SIDE_PX as usize);
    JpegDecoder::new_with_options(Cursor::new(bytes), options)
}

fn png_reader(bytes: &[u8]) -> Result<png::Reader<Cursor<&[u8]>>, png::DecodingError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    decoder.read_info()
}

/// The frame layout a picture will have, from its header alone.
fn read_layout(name: &str, bytes: &[u8]) -> Result<FrameLayout, NativeError> {
    let (width_px, height_px) = match kind(name, bytes)? {
        Kind::Png => {
            let reader = png_reader(bytes).map_err(|error| decode_error(name, error))?;
            reader.info().size()
        }
        Kind::Jpeg => {
            let mut decoder = jpeg_decoder(bytes);
            decoder.decode_headers().map_err(|error| decode_error(name, error))?;
            let info = decoder
                .info()
                .ok_or_else(|| decode_error(name, "no JPEG frame header"))?;
            (u32::from(info.width), u32::from(info.height))
        }
    };
    check_frame_size(name, width_px, height_px)
}

/// Decodes a picture into `dst`, which holds `layout` (packed RGB8).
fn decode_into(name: &str, bytes: &[u8], layout: &FrameLayout, dst: &mut [u8]) -> Result<(), NativeError> {
    check_dst(layout, dst)?;
    let found = read_layout(name, bytes)?;
    if (found.width_px, found.height_px) != (layout.width_px, layout.height_px) {
        return Err(decode_error(name, "the file changed size since it was opened"));
    }
    match kind(name, bytes)? {
        Kind::Jpeg => {
            let mut decoder = jpeg_decoder(bytes);
            decoder.decode_headers().map_err(|error| decode_error(name, error))?;
            if decoder.output_buffer_size() != Some(dst.len()) {
                return Err(decode_error(name, "the JPEG does not decode to RGB"));
            }
            decoder.decode_into(dst).map_err(|error| decode_error(name, error))
        }
        Kind::Png => decode_png(name, bytes, dst),
    }
}

fn decode_png(name: &str, bytes: &[u8], dst: &mut [u8]) -> Result<(), NativeError> {
    let mut reader = png_reader(bytes).map_err(|error| decode_error(name, error))?;
    let (color, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(decode_error(name, format!("unexpected {depth:?}-bit output")));
    }
    if color == png::ColorType::Rgb {
        return reader
            .next_frame(dst)
            .map(|_| ())
            .map_err(|error| decode_error(name, error));
    }
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgba => 4,
        other => return Err(decode_error(name, format!("unexpected {other:?} output"))),
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| decode_error(name, "too large"))?;
    // The decoder's output in its own colour type: wiped when dropped.
    let mut scratch = Zeroizing::new(vec![0u8; size]);
    reader
        .next_frame(&mut scratch)
        .map_err(|error| decode_error(name, error))?;
    for (src, pixel) in scratch.chunks_exact(channels).zip(dst.chunks_exact_mut(3)) {
        match channels {
            1 | 2 => pixel.fill(src[0]),
            _ => pixel.copy_from_slice(&src[..3]),
        }
    }
    Ok(())
}

/// One picture, or a folder of them, as a finite sequence of frames.
#[derive(Debug)]
pub struct ImageSource {
    origin: String,
    files: Vec<PathBuf>,
    layouts: Vec<FrameLayout>,
    max_layout: FrameLayout,
    fps: f64,
    next: usize,
}

impl ImageSource {
    /// Opens one picture or every picture in a folder (not its subfolders),
    /// sorted by file name, shown at `fps`. Reads every header now.
    pub fn open(path: &Path, fps: f64) -> Result<Self, NativeError> {
        let origin = path.display().to_string();
        if !(fps.is_finite() && fps > 0.0) {
            return Err(NativeError::InvalidArgument(format!("fps must be positive, not {fps}")));
        }
        let files = if path.is_dir() {
            let entries = fs::read_dir(path).map_err(|error| decode_error(&origin, error))?;
            let mut files = Vec::new();
            for entry in entries {
                let file = entry.map_err(|error| decode_error(&origin, error))?.path();
                if file.is_file() && is_image_path(&file) {
                    files.push(file);
                }
            }
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        let mut layouts = Vec::with_capacity(files.len());
        for file in &files {
            let bytes = read_file(file)?;
            layouts.push(read_layout(&file.display().to_string(), &bytes)?);
        }
        let largest = |side: fn(&FrameLayout) -> u32| layouts.iter().map(side).max();
        let (Some(width_px), Some(height_px)) = (largest(|l| l.width_px), largest(|l| l.height_px)) else {
            return Err(decode_error(&origin, "no .jpg, .jpeg or .png file in this folder"));
        };
        Ok(Self {
            max_layout: check_frame_size(&origin, width_px, height_px)?,
            origin,
            files,
            layouts,
            fps,
            next: 0,
        })
    }

    /// The pictures, in the order they are shown.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl FrameSource for ImageSource {
    fn layout(&self) -> FrameLayout {
        // Past the end, the last picture's: there is no next frame to describe.
        self.layouts[self.next.min(self.layouts.len() - 1)]
    }

    fn max_layout(&self) -> FrameLayout {
        self.max_layout
    }

    fn fps(&self) -> f64 {
        self.fps
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        Ok(self.next < self.files.len())
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        let Some(file) = self.files.get(self.next) else {
            return Err(decode_error(&self.origin, "no picture left"));
        };
        let layout = self.layouts[self.next];
        // Counted before decoding: a picture that fails is not retried, and
        // the error names it.
        self.next += 1;
        let bytes = read_file(file)?;
        decode_into(&file.display().to_string(), &bytes, &layout, dst)
    }

    fn name(&self) -> String {
        match self.next.checked_sub(1) {
            Some(last) => self.files[last].display().to_string(),
            None => self.origin.clone(),
        }
    }

    fn frame_index(&self) -> Option<u64> {
        (self.next as u64).checked_sub(1)
    }
}
