//! The whole per-frame analysis in one call: a leased frame in, the
//! on-device observation out, from which the anonymous traits are taken.
//!
//! detect → landmarks → classifiers and appearance → pose, shape and
//! attention → tracking and smoothing → the viewer's neutral baseline.
//!
//! Single-threaded and synchronous, so the browser's worker calls it as it is.
//! Each stage reads the frame only to make its inputs (one short
//! [`Lease::read`]) and runs its nets on those, so the watchdog can wipe the
//! frame on time while a net runs; the budget is checked before every stage
//! and a spent budget stops the analysis with [`VisionError::BudgetSpent`].

mod config;
mod models;

use std::sync::Arc;

use candle_core::Tensor;
use candle_nn::VarBuilder;
use parterre_core::traits::{Expression, HeadPose};
use parterre_core::{
    Analyzer, BoxPx, Clock, CoreError, FaceObservation, FramePool, FrameView, Lease, Observation, PermanenceReport,
    PointPx, StageTiming,
};

pub use config::{AnalyzerConfig, DetectorChoice, Preset};
pub use models::ModelFile;

use crate::attention::attention;
use crate::baseline::NeutralBaseline;
use crate::error::VisionError;
use crate::expression::face_input;
use crate::geometry::{FaceShape, head_pose};
use crate::governor::{Governor, GovernorState};
use crate::landmarks::{LandmarkNet, aligned_box, face_crop};
use crate::motion::{MotionEstimator, combine, face_motion};
use crate::smoothing::Ema;
use crate::tracking::{Assignment, Tracker};
use crate::{
    AgeGenderNet, Detection, FaceExpressionNet, SsdMobilenetV1, TinyFaceDetector, TinyOptions, appearance, quality,
};

/// A face's smoothed traits, kept with its track.
#[derive(Debug, Default)]
struct FaceState {
    expression: Ema<7>,
    age_years: Ema<1>,
    gender_female: Ema<1>,
    glasses: Ema<1>,
    beard: Ema<1>,
    pose_deg: Ema<3>,
    eyes_open: Ema<1>,
    mouth_open: Ema<1>,
    smile: Ema<1>,
    attention: Ema<1>,
    quality: Ema<1>,
    /// When age and gender were last estimated.
    slow_traits_at_us: Option<u64>,
}

#[derive(Debug)]
enum Detector {
    Tiny(TinyFaceDetector),
    Ssd(SsdMobilenetV1),
}

/// What one frame's pixels gave a face before smoothing.
#[derive(Debug, Default)]
struct RawFace {
    detection: Option<Detection>,
    landmarks_px: Vec<PointPx>,
    expression: Option<Expression>,
    age_gender: Option<(f32, f32)>,
    glasses: Option<f32>,
    beard: Option<f32>,
    quality: Option<f32>,
}

/// The whole analysis chain; one per session.
pub struct FaceAnalyzer {
    config: AnalyzerConfig,
    clock: Arc<dyn Clock>,
    detector: Detector,
    landmarks: Option<LandmarkNet>,
    expression: Option<FaceExpressionNet>,
    age_gender: Option<AgeGenderNet>,
    motion: MotionEstimator,
    tracker: Tracker<FaceState>,
    baseline: NeutralBaseline,
    last_frame_us: Option<u64>,
    governor: Option<Governor>,
    budget_us: u64,
}

impl std::fmt::Debug for FaceAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceAnalyzer")
            .field("config", &self.config)
            .field("tracks", &self.tracker.len())
            .finish_non_exhaustive()
    }
}

impl FaceAnalyzer {
    /// Builds the chain for frames of `pool`, whose clock and budget it
    /// shares, loading only the models `config` needs through `load` (the
    /// frontend decides where weights come from).
    pub fn new(
        config: AnalyzerConfig,
        pool: &FramePool,
        mut load: impl FnMut(ModelFile) -> Result<VarBuilder<'static>, VisionError>,
    ) -> Result<Self, VisionError> {
        config.validate()?;
        let detector = match config.detector {
            DetectorChoice::Tiny(_) => Detector::Tiny(TinyFaceDetector::new(load(ModelFile::TinyFaceDetector)?)?),
            DetectorChoice::Ssd(_) => Detector::Ssd(SsdMobilenetV1::new(load(ModelFile::SsdMobilenetV1)?)?),
        };
        let needed = ModelFile::needed_by(&config);
        let landmarks = match needed
            .iter()
            .find(|m| matches!(m, ModelFile::FaceLandmark68 | ModelFile::FaceLandmark68Tiny))
        {
            Some(&file) => Some(LandmarkNet::new(config.landmarks, load(file)?)?),
            None => None,
        };
        let expression = match needed.contains(&ModelFile::FaceExpression) {
            true => Some(FaceExpressionNet::new(load(ModelFile::FaceExpression)?)?),
            false => None,
        };
        let age_gender = match needed.contains(&ModelFile::AgeGender) {
            true => Some(AgeGenderNet::new(load(ModelFile::AgeGender)?)?),
            false => None,
        };
        Ok(Self {
            config,
            clock: pool.clock().clone(),
            detector,
            landmarks,
            expression,
            age_gender,
            motion: MotionEstimator::new(pool.budget_us())?,
            budget_us: pool.budget_us(),
            tracker: Tracker::new(config.tracker),
            baseline: NeutralBaseline::default(),
            last_frame_us: None,
            governor: match (config.governor, config.detector) {
                (Some(governor), DetectorChoice::Tiny(options)) => {
                    Some(Governor::new(governor, options.input_size_px)?)
                }
                (Some(_), DetectorChoice::Ssd(_)) => {
                    return Err(VisionError::InvalidOption(
                        "the compute governor adapts the tiny detector; SSD has one input size".into(),
                    ));
                }
                (None, _) => None,
            },
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
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

    fn check_budget(&self, lease: &Lease, stage: &'static str) -> Result<(), VisionError> {
        if self.clock.now_us() >= lease.deadline_us() {
            return Err(VisionError::BudgetSpent { stage });
        }
        Ok(())
    }

    /// What the compute governor has chosen, when there is one.
    pub fn governor_state(&self) -> Option<GovernorState> {
        self.governor.as_ref().map(Governor::state)
    }

    /// Runs the chain on a leased frame.
    pub fn analyze_lease(&mut self, lease: &Lease) -> Result<Observation, VisionError> {
        let started_us = self.clock.now_us();
        let result = self.run_chain(lease);
        if let (Some(governor), Ok(observation)) = (&mut self.governor, &result) {
            let cost_us = self.clock.now_us().saturating_sub(started_us);
            governor.record(started_us, cost_us, !observation.unchanged);
        }
        result
    }

    fn run_chain(&mut self, lease: &Lease) -> Result<Observation, VisionError> {
        let mut timer = StageTimer::new(self.clock.clone());
        self.check_budget(lease, "detect")?;
        let now_us = self.clock.now_us();
        let layout = lease.layout();
        let (width_px, height_px) = (layout.width_px, layout.height_px);
        let detector = &self.detector;
        let tiny_options = match self.config.detector {
            DetectorChoice::Tiny(options) => Some(TinyOptions {
                input_size_px: self
                    .governor
                    .as_ref()
                    .map_or(options.input_size_px, Governor::input_size_px),
                ..options
            }),
            DetectorChoice::Ssd(_) => None,
        };
        let (motion, governor) = (&mut self.motion, &mut self.governor);
        let (input, frame_motion) = read_stage(lease, "detect", |view| {
            let frame_motion = motion.update(&view, lease.written_at_us(), lease.deadline_us(), now_us);
            if governor.as_mut().is_some_and(|g| g.may_skip(frame_motion, now_us)) {
                return Ok((None, frame_motion));
            }
            let input = match (detector, tiny_options) {
                (Detector::Tiny(_), Some(options)) => TinyFaceDetector::input(&view, options.input_size_px)?,
                _ => SsdMobilenetV1::input(&view)?,
            };
            Ok((Some(input), frame_motion))
        })?;
        let Some(input) = input else {
            timer.lap("motion");
            return Ok(Observation {
                faces: Vec::new(),
                motion: frame_motion,
                stages: timer.finish(),
                unchanged: true,
            });
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
        let analyzed = detections.len().min(self.config.max_faces);
        let boxes_px: Vec<BoxPx> = detections.iter().map(|d| d.box_px).collect();
        let assignments = self.tracker.update(now_us, &boxes_px);
        let mut faces: Vec<RawFace> = detections
            .iter()
            .map(|&detection| RawFace {
                detection: Some(detection),
                ..RawFace::default()
            })
            .collect();

        if let Some(net) = &self.landmarks {
            self.check_budget(lease, "landmarks")?;
            let inputs = read_stage(lease, "landmarks", |view| {
                faces[..analyzed]
                    .iter()
                    .map(|face| landmark_input(&view, face))
                    .collect::<Result<Vec<_>, VisionError>>()
            })?;
            for (face, input) in faces.iter_mut().zip(inputs) {
                if let (Some((input, crop)), Some(detection)) = (input, face.detection) {
                    face.landmarks_px = net.landmarks_from_input(&input, crop, &detection.box_px)?;
                }
            }
            timer.lap("landmarks");
        }

        self.check_budget(lease, "classify")?;
        let traits = self.config.traits;
        let wants_crop = self.expression.is_some() || self.age_gender.is_some();
        let crops = read_stage(lease, "classify", |view| {
            let mut crops = Vec::with_capacity(analyzed);
            for face in faces[..analyzed].iter_mut() {
                let aligned = aligned_box(&face.landmarks_px);
                crops.push(match (wants_crop, aligned) {
                    (true, Some(aligned)) => optional_face(face_input(&view, &aligned))?,
                    _ => None,
                });
                if let Some(detection) = face.detection {
                    face.quality = optional_face(quality::face_quality(&view, &detection.box_px))?;
                }
                if !face.landmarks_px.is_empty() {
                    if traits.glasses {
                        face.glasses = optional_face(appearance::glasses_probability(&view, &face.landmarks_px))?;
                    }
                    if traits.beard {
                        face.beard = optional_face(appearance::beard_probability(&view, &face.landmarks_px))?;
                    }
                }
            }
            Ok(crops)
        })?;
        timer.lap("appearance");
        let every_us = self.config.slow_traits_every_ms * 1_000;
        for ((face, crop), assignment) in faces.iter_mut().zip(&crops).zip(&assignments) {
            let Some(crop) = crop else { continue };
            if let Some(net) = &self.expression {
                face.expression = Some(net.expression_from_input(crop)?);
            }
            let Some(net) = &self.age_gender else { continue };
            let Some(state) = self.tracker.state_mut(assignment.track_id) else {
                continue;
            };
            if state
                .slow_traits_at_us
                .is_none_or(|at_us| now_us.saturating_sub(at_us) >= every_us)
            {
                face.age_gender = Some(net.age_gender_from_input(crop)?);
                state.slow_traits_at_us = Some(now_us);
            }
        }
        drop(crops);
        timer.lap("classify");

        let observation = self.derive(faces, &assignments, frame_motion, now_us, width_px, height_px)?;
        timer.lap("derive");
        Ok(Observation {
            stages: timer.finish(),
            ..observation
        })
    }

    /// Pose, shape, attention, tracking, smoothing and the neutral baseline:
    /// no pixels from here on.
    fn derive(
        &mut self,
        faces: Vec<RawFace>,
        assignments: &[Assignment],
        frame_motion: f32,
        now_us: u64,
        width_px: u32,
        height_px: u32,
    ) -> Result<Observation, VisionError> {
        let (fast_ms, slow_ms) = (self.config.smoothing.fast_ms, self.config.smoothing.slow_ms);
        let traits = self.config.traits;
        let mut observed = Vec::with_capacity(faces.len());
        let mut primary_face_motion = None;
        for (index, (face, assignment)) in faces.into_iter().zip(assignments).enumerate() {
            let Some(detection) = face.detection else { continue };
            let elapsed_us = assignment.elapsed_us;
            if index == 0 {
                primary_face_motion = assignment
                    .previous_box_px
                    .map(|previous| face_motion(&previous, &detection.box_px));
            }
            let shape = match (self.config.needs_pose(), face.landmarks_px.len()) {
                (true, crate::landmarks::LANDMARKS) => {
                    let pose = optional_face(head_pose(&face.landmarks_px, width_px, height_px))?;
                    let shape = optional_face(FaceShape::measure(&face.landmarks_px))?;
                    pose.zip(shape)
                }
                _ => None,
            };
            let Some(state) = self.tracker.state_mut(assignment.track_id) else {
                continue;
            };
            let pose = state
                .pose_deg
                .update_option(
                    shape.map(|(pose, _)| [pose.yaw_deg, pose.pitch_deg, pose.roll_deg]),
                    elapsed_us,
                    fast_ms,
                )
                .map(|[yaw_deg, pitch_deg, roll_deg]| HeadPose {
                    yaw_deg,
                    pitch_deg,
                    roll_deg,
                });
            let eyes_open = one(state
                .eyes_open
                .update_option(shape.map(|(_, s)| [s.eyes_open]), elapsed_us, fast_ms));
            let mouth_open =
                one(state
                    .mouth_open
                    .update_option(shape.map(|(_, s)| [s.mouth_open]), elapsed_us, fast_ms));
            let smile = one(state
                .smile
                .update_option(shape.map(|(_, s)| [s.smile]), elapsed_us, fast_ms));
            let instant_attention = shape.map(|(pose, s)| [attention(&pose, s.eyes_open, &self.config.attention)]);
            let attention_now = one(state.attention.update_option(instant_attention, elapsed_us, fast_ms));
            let expression_raw = state
                .expression
                .update_option(face.expression.map(|e| e.probabilities()), elapsed_us, fast_ms)
                .map(Expression::from_probabilities);
            let age_years =
                one(state
                    .age_years
                    .update_option(face.age_gender.map(|(age, _)| [age]), elapsed_us, slow_ms));
            let gender_female = one(state.gender_female.update_option(
                face.age_gender.map(|(_, female)| [female]),
                elapsed_us,
                slow_ms,
            ));
            let glasses = one(state
                .glasses
                .update_option(face.glasses.map(|g| [g]), elapsed_us, slow_ms));
            let beard = one(state.beard.update_option(face.beard.map(|b| [b]), elapsed_us, slow_ms));
            let quality = one(state
                .quality
                .update_option(face.quality.map(|q| [q]), elapsed_us, fast_ms));
            observed.push(FaceObservation {
                box_px: Some(detection.box_px),
                score: detection.score,
                landmarks_px: face.landmarks_px,
                expression: expression_raw,
                age_years: age_years.filter(|_| traits.age),
                gender_female: gender_female.filter(|_| traits.gender),
                glasses,
                beard,
                head_pose: pose.filter(|_| traits.head_pose),
                attention: attention_now.filter(|_| traits.attention),
                quality,
                expression_raw,
                eyes_open,
                mouth_open,
                smile,
                track_id: Some(assignment.track_id),
            });
        }
        // The viewer's own neutral: learnt from, and applied to, the largest
        // face (the one the traits describe).
        let elapsed_us = self.last_frame_us.map_or(0, |last| now_us.saturating_sub(last));
        self.last_frame_us = Some(now_us);
        if let Some(primary) = observed.first_mut()
            && let Some(raw) = primary.expression_raw
        {
            self.baseline.update(&raw, elapsed_us);
            primary.expression = Some(self.baseline.relative(&raw));
        }
        Ok(Observation {
            faces: observed,
            motion: combine(frame_motion, primary_face_motion),
            stages: Vec::new(),
            unchanged: false,
        })
    }
}

impl Analyzer for FaceAnalyzer {
    type Error = VisionError;

    fn analyze(&mut self, lease: &Lease) -> Result<Observation, VisionError> {
        self.analyze_lease(lease)
    }

    /// Wipes ahead by a tenth of the budget (30 ms at 300 ms), like the
    /// pool's watchdog, since the caller sweeps only now and then.
    fn wipe_expired(&mut self) {
        self.motion.wipe_due(self.clock.now_us(), self.budget_us / 10);
    }

    /// Also forgets the session: tracks and the neutral baseline.
    fn budget_spent(error: &VisionError) -> bool {
        matches!(
            error,
            VisionError::BudgetSpent { .. } | VisionError::Frame(CoreError::Expired)
        )
    }

    fn next_start_us(&self) -> u64 {
        self.governor.as_ref().map_or(0, Governor::next_start_us)
    }

    fn settings(&self) -> Option<String> {
        let detector = match self.config.detector {
            DetectorChoice::Tiny(options) => format!(
                "tiny@{}",
                self.governor
                    .as_ref()
                    .map_or(options.input_size_px, Governor::input_size_px)
            ),
            DetectorChoice::Ssd(_) => "ssd@512".to_owned(),
        };
        Some(match self.governor_state() {
            Some(state) => format!(
                "{detector}, cost {:.1} ms, every {:.0} ms at most, {} unchanged frames skipped",
                state.cost_ms, state.interval_ms, state.skipped
            ),
            None => detector,
        })
    }

    fn derived_permanence(&self) -> Option<PermanenceReport> {
        Some(self.motion.report())
    }

    fn wipe_all(&mut self) {
        self.motion.wipe_all(self.clock.now_us());
        self.tracker.clear();
        self.baseline = NeutralBaseline::default();
        self.last_frame_us = None;
    }
}

/// Reads the frame for one stage; an expired frame means the budget ran out
/// before that stage.
fn read_stage<R>(
    lease: &Lease,
    stage: &'static str,
    read: impl FnOnce(FrameView<'_>) -> Result<R, VisionError>,
) -> Result<R, VisionError> {
    match lease.read(read) {
        Ok(result) => result,
        Err(CoreError::Expired) => Err(VisionError::BudgetSpent { stage }),
        Err(other) => Err(other.into()),
    }
}

/// A face whose box has no whole pixel in the frame is skipped for that
/// measure, not the whole frame.
fn optional_face<T>(result: Result<T, VisionError>) -> Result<Option<T>, VisionError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(VisionError::InvalidOption(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn landmark_input(
    view: &FrameView<'_>,
    face: &RawFace,
) -> Result<Option<(Tensor, crate::preprocess::CropPx)>, VisionError> {
    let Some(detection) = face.detection else {
        return Ok(None);
    };
    let layout = view.layout();
    let Some(crop) = optional_face(face_crop(&detection.box_px, layout.width_px, layout.height_px))? else {
        return Ok(None);
    };
    Ok(optional_face(LandmarkNet::input(view, &detection.box_px))?.map(|input| (input, crop)))
}

fn one(value: Option<[f32; 1]>) -> Option<f32> {
    value.map(|[v]| v)
}

/// Stage durations from the shared clock (never `Instant`, which panics in
/// the browser).
struct StageTimer {
    clock: Arc<dyn Clock>,
    last_us: u64,
    stages: Vec<StageTiming>,
}

impl StageTimer {
    fn new(clock: Arc<dyn Clock>) -> Self {
        let last_us = clock.now_us();
        Self {
            clock,
            last_us,
            stages: Vec::with_capacity(6),
        }
    }

    fn lap(&mut self, stage: &'static str) {
        let now_us = self.clock.now_us();
        self.stages.push(StageTiming {
            stage,
            duration_us: now_us.saturating_sub(self.last_us),
        });
        self.last_us = now_us;
    }

    fn finish(self) -> Vec<StageTiming> {
        self.stages
    }
}
