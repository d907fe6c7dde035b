//! Any other video file, decoded by an installed `ffmpeg` into a pipe, never
//! to disk: `ffprobe` gives the size and rate, then ffmpeg writes raw RGB24
//! frames to its standard output and each is read straight into the slot.
//!
//! A pipe delivers bytes only when asked, so to know whether another frame
//! follows `has_next` reads the first byte of it; that one byte waits in a
//! `Zeroizing` cell until `write_next` puts it in the slot.

use std::ffi::OsString;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::thread::{self, JoinHandle};

use parterre_core::FrameLayout;
use zeroize::Zeroizing;

use super::{FrameSource, check_dst, check_frame_size};
use crate::error::NativeError;

/// The most of ffmpeg's error output kept for a message.
const MAX_STDERR_BYTES: usize = 4096;

/// The programs used: `ffmpeg` and `ffprobe` on the `PATH` unless told otherwise.
#[derive(Debug, Clone)]
pub struct FfmpegTools {
    /// The decoder.
    pub ffmpeg: OsString,
    /// The prober, for size and rate.
    pub ffprobe: OsString,
}

impl Default for FfmpegTools {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
        }
    }
}

/// A video file decoded by ffmpeg.
#[derive(Debug)]
pub struct FfmpegSource {
    child: Child,
    stdout: ChildStdout,
    stderr: Option<JoinHandle<String>>,
    name: String,
    layout: FrameLayout,
    fps: f64,
    /// The first byte of the next frame, read by `has_next`.
    peeked: Option<Zeroizing<u8>>,
    ended: bool,
    frames_written: u64,
}

fn missing(tool: &OsString, error: &std::io::Error) -> Option<NativeError> {
    (error.kind() == ErrorKind::NotFound).then(|| NativeError::ToolMissing {
        tool: tool.to_string_lossy().into_owned(),
        hint: "install ffmpeg (e.g. `apt-get install ffmpeg`) to read this video, \
               or convert it elsewhere to .y4m, which is read without it"
            .to_owned(),
    })
}

impl FfmpegSource {
    /// Opens `path` with the `ffmpeg` and `ffprobe` on the `PATH`.
    pub fn open(path: &Path) -> Result<Self, NativeError> {
        Self::open_with(path, &FfmpegTools::default())
    }

    /// Opens `path` with the given programs.
    pub fn open_with(path: &Path, tools: &FfmpegTools) -> Result<Self, NativeError> {
        let name = path.display().to_string();
        let decode = |reason: String| NativeError::Decode {
            name: name.clone(),
            reason,
        };
        let probe = Command::new(&tools.ffprobe)
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .args(["stream=width,height,r_frame_rate", "-of", "default=noprint_wrappers=1"])
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| missing(&tools.ffprobe, &error).unwrap_or_else(|| decode(error.to_string())))?;
        if !probe.status.success() {
            return Err(decode(format!(
                "ffprobe failed: {}",
                String::from_utf8_lossy(&probe.stderr).trim()
            )));
        }
        let (width_px, height_px, fps) = parse_probe(&String::from_utf8_lossy(&probe.stdout)).map_err(&decode)?;
        let layout = check_frame_size(&name, width_px, height_px)?;
        let mut child = Command::new(&tools.ffmpeg)
            .args(["-nostdin", "-loglevel", "error", "-noautorotate", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| missing(&tools.ffmpeg, &error).unwrap_or_else(|| decode(error.to_string())))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(decode("ffmpeg gave no pipes".to_owned()));
        };
        Ok(Self {
            child,
            stdout,
            stderr: Some(drain(stderr)?),
            name,
            layout,
            fps,
            peeked: None,
            ended: false,
            frames_written: 0,
        })
    }

    fn error(&self, reason: String) -> NativeError {
        NativeError::Decode {
            name: self.name.clone(),
            reason: format!("frame {}: {reason}", self.frames_written),
        }
    }

    /// At the end of the pipe: did ffmpeg finish well? Its messages if not.
    fn finish(&mut self) -> Result<(), NativeError> {
        self.ended = true;
        let status = self.child.wait().map_err(|error| self.error(error.to_string()))?;
        let stderr = self
            .stderr
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(self.error(format!("ffmpeg failed ({status}): {}", stderr.trim())))
        }
    }
}

/// Reads ffmpeg's error output on a thread of its own, so that a chatty
/// ffmpeg never blocks on a full pipe while we wait for frames.
fn drain(mut stderr: ChildStderr) -> Result<JoinHandle<String>, NativeError> {
    thread::Builder::new()
        .name("parterre-ffmpeg-stderr".to_owned())
        .spawn(move || {
            let mut text = Vec::new();
            let mut chunk = [0u8; 512];
            while let Ok(read @ 1..) = stderr.read(&mut chunk) {
                if text.len() < MAX_STDERR_BYTES {
                    text.extend_from_slice(&chunk[..read]);
                }
            }
            String::from_utf8_lossy(&text).into_owned()
        })
        .map_err(|error| NativeError::Runtime(format!("cannot start the ffmpeg reader: {error}")))
}

/// Parses `width=W`, `height=H`, `r_frame_rate=N/D` lines.
fn parse_probe(text: &str) -> Result<(u32, u32, f64), String> {
    let (mut width_px, mut height_px, mut fps) = (None, None, None);
    for line in text.lines() {
        match line.trim().split_once('=') {
            Some(("width", value)) => width_px = value.parse::<u32>().ok(),
            Some(("height", value)) => height_px = value.parse::<u32>().ok(),
            Some(("r_frame_rate", value)) => {
                fps = value.split_once('/').and_then(|(numerator, denominator)| {
                    let rate = numerator.parse::<f64>().ok()? / denominator.parse::<f64>().ok()?;
                    (rate.is_finite() && rate > 0.0).then_some(rate)
                });
            }
            _ => {}
        }
    }
    match (width_px, height_px, fps) {
        (Some(width_px), Some(height_px), Some(fps)) => Ok((width_px, height_px, fps)),
        _ => Err(format!("no video stream found (ffprobe said `{}`)", text.trim())),
    }
}

impl FrameSource for FfmpegSource {
    fn layout(&self) -> FrameLayout {
        self.layout
    }

    fn fps(&self) -> f64 {
        self.fps
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        if self.peeked.is_some() {
            return Ok(true);
        }
        if self.ended {
            return Ok(false);
        }
        let mut first = Zeroizing::new([0u8; 1]);
        match self.stdout.read(&mut first[..]) {
            Ok(0) => self.finish().map(|()| false),
            Ok(_) => {
                self.peeked = Some(Zeroizing::new(first[0]));
                Ok(true)
            }
            Err(error) => Err(self.error(error.to_string())),
        }
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        if !self.has_next()? {
            return Err(self.error("no frame left".to_owned()));
        }
        check_dst(&self.layout, dst)?;
        let Some((first, rest)) = dst.split_first_mut() else {
            return Err(self.error("empty frame".to_owned()));
        };
        if let Some(peeked) = self.peeked.take() {
            *first = *peeked;
        }
        if let Err(error) = self.stdout.read_exact(rest) {
            // A frame cut short: ffmpeg died or the file ends mid-frame.
            let status = self.finish().err().map(|error| error.to_string());
            return Err(self.error(status.unwrap_or_else(|| format!("truncated frame: {error}"))));
        }
        self.frames_written += 1;
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn frame_index(&self) -> Option<u64> {
        self.frames_written.checked_sub(1)
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        // Stopped early: ffmpeg must not live on, decoding into a dead pipe.
        if !self.ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_parses() {
        let text = "width=640\nheight=360\nr_frame_rate=30000/1001\n";
        let (width_px, height_px, fps) = parse_probe(text).expect("parse");
        assert_eq!((width_px, height_px), (640, 360));
        assert!((fps - 29.97).abs() < 0.001);
        assert!(parse_probe("").is_err());
        assert!(parse_probe("width=640\nheight=360\nr_frame_rate=0/0\n").is_err());
    }
}
