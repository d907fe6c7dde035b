//! A camera whose every frame is a real face with the canary marks painted
//! on, written straight into the pool slot; it can pause between bursts (so a
//! test can scan memory while the runtime idles) and can disappear at the end,
//! as an unplugged camera does.
//!
//! Nothing here holds a mark outside the slot: the face frame it copies from
//! is painted nowhere else, and the row is computed from the seed byte by
//! byte as it is painted.

use std::sync::mpsc::{Receiver, Sender, channel};

use parterre_core::FrameLayout;
use parterre_native::NativeError;
use parterre_native::memscan::canary::paint_canary;
use parterre_native::source::{FrameSource, open_source};

use super::face_runtime::workspace_path;

/// The camera's rate.
pub const FPS: f64 = 30.0;

/// How the camera ends after its last burst.
#[allow(dead_code, reason = "the negative control's binary uses only `Finish`")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// No more frames: the runtime ends normally.
    Finish,
    /// Asking for the next frame fails.
    Lost,
    /// The next frame fails after the marks are written into the slot.
    LostMidFrame,
}

/// The test's side of the pauses: one message per pause with the frames
/// written so far; the camera goes on when told to, or when this is dropped.
#[derive(Debug)]
pub struct PauseControl {
    pub paused: Receiver<u64>,
    pub resume: Sender<()>,
}

#[derive(Debug)]
struct Pauses {
    paused: Sender<u64>,
    resume: Receiver<()>,
}

/// See the module doc.
#[derive(Debug)]
pub struct CanaryCamera {
    face_rgb: Vec<u8>,
    layout: FrameLayout,
    seed: u64,
    frames_per_burst: u64,
    bursts: u64,
    end: End,
    written: u64,
    paused_after: u64,
    pauses: Option<Pauses>,
}

const DEVICE: &str = "/dev/video-canary";

impl CanaryCamera {
    /// `bursts` bursts of `frames_per_burst` frames, then `end`.
    pub fn new(seed: u64, frames_per_burst: u64, bursts: u64, end: End) -> Self {
        let (layout, face_rgb) = face_frame();
        Self {
            face_rgb,
            layout,
            seed,
            frames_per_burst,
            bursts,
            end,
            written: 0,
            paused_after: 0,
            pauses: None,
        }
    }

    /// Makes the camera pause after every burst, the last one included.
    pub fn with_pauses(mut self) -> (Self, PauseControl) {
        let (paused_tx, paused_rx) = channel();
        let (resume_tx, resume_rx) = channel();
        self.pauses = Some(Pauses {
            paused: paused_tx,
            resume: resume_rx,
        });
        let control = PauseControl {
            paused: paused_rx,
            resume: resume_tx,
        };
        (self, control)
    }

    fn frames_total(&self) -> u64 {
        self.frames_per_burst * self.bursts
    }

    fn lost(&self) -> NativeError {
        NativeError::Camera {
            device: DEVICE.to_owned(),
            reason: "the device was unplugged".to_owned(),
        }
    }
}

impl FrameSource for CanaryCamera {
    fn layout(&self) -> FrameLayout {
        self.layout
    }

    fn fps(&self) -> f64 {
        FPS
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        let burst_done = self.written > 0 && self.written % self.frames_per_burst == 0;
        if let Some(pauses) = self
            .pauses
            .as_ref()
            .filter(|_| burst_done && self.paused_after < self.written)
        {
            self.paused_after = self.written;
            // A test that has gone away cannot answer: carry on.
            if pauses.paused.send(self.written).is_ok() {
                let _ = pauses.resume.recv();
            }
        }
        if self.written < self.frames_total() {
            return Ok(true);
        }
        match self.end {
            End::Finish => Ok(false),
            End::Lost => Err(self.lost()),
            End::LostMidFrame => Ok(true),
        }
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        dst.copy_from_slice(&self.face_rgb);
        paint_canary(dst, self.layout.width_px, self.layout.height_px, self.seed)?;
        self.written += 1;
        if self.written > self.frames_total() {
            return Err(self.lost());
        }
        Ok(())
    }

    fn name(&self) -> String {
        DEVICE.to_owned()
    }

    fn frame_index(&self) -> Option<u64> {
        self.written.checked_sub(1)
    }
}

/// The benchmarks' one-face 640x480 photo as packed RGB8, decoded by the
/// crate's own picture source.
fn face_frame() -> (FrameLayout, Vec<u8>) {
    let path = workspace_path("benches/fixtures/one_face_640x480.png");
    let mut source = open_source(&path.display().to_string()).expect("face photo");
    assert!(source.has_next().expect("face photo"));
    let layout = source.layout();
    let mut rgb = vec![0; layout.len_bytes()];
    source.write_next(&mut rgb).expect("face photo");
    (layout, rgb)
}
