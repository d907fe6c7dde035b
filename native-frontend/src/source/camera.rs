//! A live camera on Linux, through V4L2 with the pure-Rust `linuxvideo`
//! crate (the `v4l` crate needs bindgen and libclang at build time, which
//! developer machines and CI do not have).
//!
//! The camera is asked for the configured size in YUYV (MJPG when it offers
//! no YUYV), streamed through memory-mapped driver buffers, and each frame is
//! converted (YUYV, BT.601 limited range) or decoded (MJPG) from the driver's
//! buffer straight into the slot: no copy of our own. The driver's buffers
//! are the kernel's and are reused for the next frames.

use std::io;
use std::path::Path;

use linuxvideo::format::{PixFormat, PixelFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{Device, Fract};
use parterre_core::FrameLayout;
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::yuv::{ColorRange, yuyv_to_rgb};
use super::{FrameSource, check_dst, check_frame_size};
use crate::error::NativeError;

/// What to ask the camera for; it may give something else, which is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraRequest {
    /// Width asked for.
    pub width_px: u32,
    /// Height asked for.
    pub height_px: u32,
    /// Rate asked for.
    pub fps: u32,
}

impl Default for CameraRequest {
    fn default() -> Self {
        Self {
            width_px: 640,
            height_px: 480,
            fps: 30,
        }
    }
}

/// The pixel formats converted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Yuyv { stride_bytes: usize },
    Mjpg,
}

/// A V4L2 camera, streaming.
pub struct CameraSource {
    stream: ReadStream,
    device: String,
    encoding: Encoding,
    layout: FrameLayout,
    fps: f64,
    frames_written: u64,
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSource")
            .field("device", &self.device)
            .field("encoding", &self.encoding)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// A camera error with advice for the two common causes.
fn camera_error(device: &str, error: &io::Error) -> NativeError {
    let reason = match error.kind() {
        io::ErrorKind::NotFound => {
            format!("no such device ({error}): is a camera plugged in? `ls /dev/video*` lists them")
        }
        io::ErrorKind::PermissionDenied => format!(
            "permission denied ({error}): add yourself to the video group \
             (`sudo usermod -aG video $USER`, then log in again)"
        ),
        _ => error.to_string(),
    };
    NativeError::Camera {
        device: device.to_owned(),
        reason,
    }
}

impl CameraSource {
    /// Opens `/dev/videoN` and starts streaming.
    pub fn open(path: &Path, request: CameraRequest) -> Result<Self, NativeError> {
        let device = path.display().to_string();
        let fail = |error: io::Error| camera_error(&device, &error);
        let mut negotiated = None;
        // The driver answers a format request with the nearest it supports;
        // asking again needs the device anew.
        for wanted in [PixelFormat::YUYV, PixelFormat::MJPG] {
            let capture = Device::open(path)
                .map_err(fail)?
                .video_capture(PixFormat::new(request.width_px, request.height_px, wanted))
                .map_err(fail)?;
            if capture.format().pixel_format() == wanted {
                negotiated = Some(capture);
                break;
            }
        }
        let Some(capture) = negotiated else {
            return Err(NativeError::Camera {
                device,
                reason: "it offers neither YUYV nor MJPG".to_owned(),
            });
        };
        let format = capture.format();
        let layout = check_frame_size(&device, format.width(), format.height())?;
        let encoding = if format.pixel_format() == PixelFormat::YUYV {
            Encoding::Yuyv {
                stride_bytes: format.bytes_per_line() as usize,
            }
        } else {
            Encoding::Mjpg
        };
        // A camera that cannot change its rate keeps its own: not an error.
        let interval = capture
            .set_frame_interval(Fract::new(1, request.fps.max(1)))
            .ok()
            .filter(|interval| interval.numerator() > 0 && interval.denominator() > 0);
        let fps = interval.map_or(f64::from(request.fps.max(1)), |interval| {
            f64::from(interval.denominator()) / f64::from(interval.numerator())
        });
        let stream = capture.into_stream().map_err(fail)?;
        Ok(Self {
            stream,
            device,
            encoding,
            layout,
            fps,
            frames_written: 0,
        })
    }
}

/// Converts one driver buffer into the slot.
fn convert(encoding: Encoding, layout: &FrameLayout, src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    let (width_px, height_px) = (layout.width_px as usize, layout.height_px as usize);
    match encoding {
        Encoding::Yuyv { stride_bytes } => {
            yuyv_to_rgb(src, stride_bytes, width_px, height_px, ColorRange::Limited, dst)
        }
        Encoding::Mjpg => {
            let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
            let mut decoder = JpegDecoder::new_with_options(io::Cursor::new(src), options);
            decoder.decode_headers().map_err(|error| error.to_string())?;
            match decoder.info() {
                Some(info) if (usize::from(info.width), usize::from(info.height)) == (width_px, height_px) => {
                    decoder.decode_into(dst).map_err(|error| error.to_string())
                }
                _ => Err("the camera sent a frame of another size".to_owned()),
            }
        }
    }
}

impl FrameSource for CameraSource {
    fn layout(&self) -> FrameLayout {
        self.layout
    }

    fn fps(&self) -> f64 {
        self.fps
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        // A camera never runs out; one that goes away fails in write_next.
        Ok(true)
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        check_dst(&self.layout, dst)?;
        let (encoding, layout) = (self.encoding, self.layout);
        self.stream
            .dequeue(|buffer| {
                if buffer.is_error() {
                    return Err(io::Error::other("the driver flagged the frame as corrupt"));
                }
                convert(encoding, &layout, &buffer, dst).map_err(io::Error::other)
            })
            .map_err(|error| NativeError::Camera {
                device: self.device.clone(),
                reason: format!("frame {}: {error} (was the camera unplugged?)", self.frames_written),
            })?;
        self.frames_written += 1;
        Ok(())
    }

    fn name(&self) -> String {
        self.device.clone()
    }

    fn frame_index(&self) -> Option<u64> {
        self.frames_written.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_camera_says_so() {
        let error = CameraSource::open(Path::new("/dev/video-parterre-missing"), CameraRequest::default())
            .expect_err("no such device");
        let text = error.to_string();
        assert!(matches!(error, NativeError::Camera { .. }), "{text}");
        assert!(
            text.contains("no such device") && text.contains("/dev/video-parterre-missing"),
            "{text}"
        );
    }

    #[test]
    fn permission_and_absence_get_advice() {
        let denied = camera_error("/dev/video0", &io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(denied.to_string().contains("video group"), "{denied}");
        let other = camera_error("/dev/video0", &io::Error::from(io::ErrorKind::TimedOut));
        assert!(!other.to_string().contains("video group"), "{other}");
    }

    #[test]
    fn a_file_that_is_not_a_camera_is_refused() {
        // /dev/null opens but answers no V4L2 request.
        let error = CameraSource::open(Path::new("/dev/null"), CameraRequest::default()).expect_err("not V4L2");
        assert!(matches!(error, NativeError::Camera { .. }), "{error}");
    }

    #[test]
    fn yuyv_buffers_convert_and_short_ones_fail() {
        let layout = FrameLayout::packed(parterre_core::PixelFormat::Rgb8, 2, 1).expect("layout");
        let encoding = Encoding::Yuyv { stride_bytes: 4 };
        let mut dst = [0u8; 6];
        convert(encoding, &layout, &[235, 128, 16, 128], &mut dst).expect("convert");
        assert_eq!(dst, [255, 255, 255, 0, 0, 0]);
        assert!(convert(encoding, &layout, &[235, 128], &mut dst).is_err());
        assert!(convert(Encoding::Mjpg, &layout, &[0xFF, 0xD8, 0xFF], &mut dst).is_err());
    }
}
