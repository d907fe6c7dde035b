//! The chain's first half: the motion thumbnail, the compute governor's skip
//! decision and the face detector. Kept apart from the per-face half
//! ([`super::FaceReader`]) so a native runtime can find the faces of one
//! frame on one core while the other core reads the faces of the frame before.

use std::fmt;
use std::sync::Arc;

use candle_nn::VarBuilder;
use parterre_core::{Clock, FramePool, Lease, PermanenceReport, StageTiming};

use super::config::{AnalyzerConfig, DetectorChoice};
use super::models::ModelFile;
use super::{SharedGovernor, StageTimer, check_budget, read_stage};
use crate::error::VisionError;
use crate::governor::{Governor, GovernorState};
use crate::motion::MotionEstimator;
use crate::{Detection, SsdMobilenetV1, TinyFaceDetector, TinyOptions};

#[derive(Debug)]
enum Detector {
    Tiny(TinyFaceDetector),
    Ssd(SsdMobilenetV1),
}

/// What the first half found in one frame, handed to [`super::FaceReader::read`]
/// with the same lease. On-device data: boxes, never pixels.
pub struct Found {
    /// The faces, largest first; empty when the frame was skipped.
    pub(super) detections: Vec<Detection>,
    pub(super) frame_motion: f32,
    /// When the analysis of this frame began.
    pub(super) started_us: u64,
    /// The frame's time for tracking and smoothing.
    pub(super) now_us: u64,
    pub(super) width_px: u32,
    pub(super) height_px: u32,
    /// The governor found the frame unchanged: nothing more to compute.
    pub(super) unchanged: bool,
    pub(super) stages: Vec<StageTiming>,
}

impl fmt::Debug for Found {
    /// No box: where a face is stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Found")
            .field("faces", &self.detections.len())
            .field("unchanged", &self.unchanged)
            .finish_non_exhaustive()
    }
}

/// The chain's first half: frame motion and face detection.
pub struct FaceFinder {
    config: AnalyzerConfig,
    clock: Arc<dyn Clock>,
    detector: Detector,
    motion: MotionEstimator,
    governor: SharedGovernor,
    budget_us: u64,
}

impl fmt::Debug for FaceFinder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaceFinder")
            .field("detector", &self.config.detector)
            .finish_non_exhaustive()
    }
}

impl FaceFinder {
    /// Loads the detector; `governor` is shared with the reader, which
    /// records each frame's cost in it.
    pub(super) fn new(
        config: &AnalyzerConfig,
        pool: &FramePool,
        governor: SharedGovernor,
        load: &mut impl FnMut(ModelFile) -> Result<VarBuilder<'static>, VisionError>,
    ) -> Result<Self, VisionError> {
        let detector = match config.detector {
            DetectorChoice::Tiny(_) => Detector::Tiny(TinyFaceDetector::new(load(ModelFile::TinyFaceDetector)?)?),
            DetectorChoice::Ssd(_) => Detector::Ssd(SsdMobilenetV1::new(load(ModelFile::SsdMobilenetV1)?)?),
        };
        Ok(Self {
            config: *config,
            clock: pool.clock().clone(),
            detector,
            motion: MotionEstimator::new(pool.budget_us())?,
            governor,
            budget_us: pool.budget_us(),
        })
    }

    /// Measures the frame's motion and, unless the governor skips the
    /// unchanged frame, finds its faces, largest first.
    pub fn find(&mut self, lease: &Lease) -> Result<Found, VisionError> {
        let started_us = self.clock.now_us();
        let mut timer = StageTimer::new(self.clock.clone());
        check_budget(self.clock.as_ref(), lease, "detect")?;
        let now_us = self.clock.now_us();
        let layout = lease.layout();
        let (width_px, height_px) = (layout.width_px, layout.height_px);
        let tiny_options = match self.config.detector {
            DetectorChoice::Tiny(options) => Some(TinyOptions {
                input_size_px: self
                    .governor
                    .with(|g| g.input_size_px())
                    .unwrap_or(options.input_size_px),
                ..options
            }),
            DetectorChoice::Ssd(_) => None,
        };
        let (detector, motion, governor) = (&self.detector, &mut self.motion, &self.governor);
        let (input, frame_motion) = read_stage(lease, "detect", |view| {
            let frame_motion = motion.update(&view, lease.written_at_us(), lease.deadline_us(), now_us);
            if governor.with(|g| g.may_skip(frame_motion, now_us)) == Some(true) {
                return Ok((None, frame_motion));
            }
            let input = match (detector, tiny_options) {
                (Detector::Tiny(_), Some(options)) => TinyFaceDetector::input(&view, options.input_size_px)?,
                _ => SsdMobilenetV1::input(&view)?,
            };
            Ok((Some(input), frame_motion))
        })?;
        let mut found = Found {
            detections: Vec::new(),
            frame_motion,
            started_us,
            now_us,
            width_px,
            height_px,
            unchanged: input.is_none(),
            stages: Vec::new(),
        };
        let Some(input) = input else {
            timer.lap("motion");
            found.stages = timer.finish();
            return Ok(found);
        };
        let mut detections = match (&self.detector, self.config.detector, tiny_options) {
            (Detector::Tiny(net), DetectorChoice::Tiny(_), Some(options)) => {
                net.detect_input(&input, width_px, height_px, options)?
            }
            (Detector::Ssd(net), DetectorChoice::Ssd(options), _) => {
                net.detect_input(&input, width_px, height_px, options)?
            }
            _ => return Err(VisionError::InvalidOption("detector and its options disagree".into())),
        };
        drop(input);
        timer.lap("detect");
        // Largest first: the viewer in front of the camera before faces behind.
        detections.sort_by(|a, b| b.box_px.area_px().total_cmp(&a.box_px.area_px()));
        found.detections = detections;
        found.stages = timer.finish();
        Ok(found)
    }

    /// When the next analysis may start, by the governor's CPU budget; 0 for at once.
    pub fn next_start_us(&self) -> u64 {
        self.governor.with(|g| g.next_start_us()).unwrap_or(0)
    }

    /// What the compute governor has chosen, when there is one.
    pub fn governor_state(&self) -> Option<GovernorState> {
        self.governor.with(|g| g.state())
    }

    /// The detector and what the governor has chosen, for display.
    pub fn settings(&self) -> String {
        let detector = match self.config.detector {
            DetectorChoice::Tiny(options) => format!(
                "tiny@{}",
                self.governor
                    .with(|g| g.input_size_px())
                    .unwrap_or(options.input_size_px)
            ),
            DetectorChoice::Ssd(_) => "ssd@512".to_owned(),
        };
        match self.governor_state() {
            Some(state) => format!(
                "{detector}, cost {:.1} ms, every {:.0} ms at most, {} unchanged frames skipped",
                state.cost_ms, state.interval_ms, state.skipped
            ),
            None => detector,
        }
    }

    /// How long the motion thumbnails lived: they are frame-derived pixels,
    /// so they are held to the same budget as the frames.
    pub fn thumbnail_report(&self) -> PermanenceReport {
        self.motion.report()
    }

    /// Non-zero bytes left in the motion thumbnails: 0 once they are wiped.
    pub fn thumbnail_residue_bytes(&self) -> usize {
        self.motion.residue_bytes()
    }

    /// Wipes the thumbnails due within a tenth of the budget (30 ms at
    /// 300 ms), like the pool's watchdog, since callers sweep only now and then.
    pub fn wipe_expired(&mut self) {
        self.motion.wipe_due(self.clock.now_us(), self.budget_us / 10);
    }

    /// Wipes every thumbnail: end of session.
    pub fn wipe_all(&mut self) {
        self.motion.wipe_all(self.clock.now_us());
    }
}

/// The governor of a configuration: the tiny detector's only.
pub(super) fn governor_for(config: &AnalyzerConfig) -> Result<SharedGovernor, VisionError> {
    match (config.governor, config.detector) {
        (Some(governor), DetectorChoice::Tiny(options)) => Ok(SharedGovernor::new(Some(Governor::new(
            governor,
            options.input_size_px,
        )?))),
        (Some(_), DetectorChoice::Ssd(_)) => Err(VisionError::InvalidOption(
            "the compute governor adapts the tiny detector; SSD has one input size".into(),
        )),
        (None, _) => Ok(SharedGovernor::new(None)),
    }
}
