//! `open_source`: one string from the command line to a frame source, by what
//! it names: `synthetic`, a camera device (`/dev/videoN`), a folder of
//! pictures, a `.jpg`/`.jpeg`/`.png` picture, a `.y4m` video (read natively),
//! or any other video file (through ffmpeg).

use std::path::Path;

use super::ffmpeg::FfmpegSource;
use super::image::{ImageSource, is_image_path};
use super::y4m::Y4mSource;
use super::{FrameSource, SYNTHETIC_NAME, SyntheticCamera};
use crate::error::NativeError;

/// Choices `open_source` leaves to its defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceOptions {
    /// Size and rate asked of a camera, and of the synthetic camera.
    pub camera_width_px: u32,
    /// See `camera_width_px`.
    pub camera_height_px: u32,
    /// See `camera_width_px`.
    pub camera_fps: u32,
    /// The rate still pictures are shown at.
    pub image_fps: f64,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            camera_width_px: 640,
            camera_height_px: 480,
            camera_fps: 30,
            image_fps: 1.0,
        }
    }
}

/// Opens a source with the default options.
pub fn open_source(spec: &str) -> Result<Box<dyn FrameSource>, NativeError> {
    open_source_with(spec, &SourceOptions::default())
}

/// Opens the source `spec` names.
pub fn open_source_with(spec: &str, options: &SourceOptions) -> Result<Box<dyn FrameSource>, NativeError> {
    if spec == SYNTHETIC_NAME {
        let camera = SyntheticCamera::new(
            options.camera_width_px,
            options.camera_height_px,
            f64::from(options.camera_fps),
            None,
        )?;
        return Ok(Box::new(camera));
    }
    let path = Path::new(spec);
    if spec.starts_with("/dev/video") {
        return open_camera(path, options);
    }
    if !path.exists() {
        return Err(NativeError::InvalidArgument(format!(
            "no such file or folder: {spec} (a source is a picture, a folder of pictures, a video, \
             a camera like /dev/video0, or `{SYNTHETIC_NAME}`)"
        )));
    }
    if path.is_dir() || is_image_path(path) {
        return Ok(Box::new(ImageSource::open(path, options.image_fps)?));
    }
    let is_y4m = path
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extension.eq_ignore_ascii_case("y4m"));
    if is_y4m {
        Ok(Box::new(Y4mSource::open(path)?))
    } else {
        Ok(Box::new(FfmpegSource::open(path)?))
    }
}

#[cfg(target_os = "linux")]
fn open_camera(path: &Path, options: &SourceOptions) -> Result<Box<dyn FrameSource>, NativeError> {
    let request = super::camera::CameraRequest {
        width_px: options.camera_width_px,
        height_px: options.camera_height_px,
        fps: options.camera_fps,
    };
    Ok(Box::new(super::camera::CameraSource::open(path, request)?))
}

#[cfg(not(target_os = "linux"))]
fn open_camera(path: &Path, _options: &SourceOptions) -> Result<Box<dyn FrameSource>, NativeError> {
    Err(NativeError::Camera {
        device: path.display().to_string(),
        reason: "cameras are read through V4L2, on Linux only".to_owned(),
    })
}
