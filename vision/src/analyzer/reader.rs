//! The chain's second half: for each found face, the landmarks, the
//! classifiers and the appearance measures on the frame, then pose, shape,
//! attention, tracking, smoothing and the viewer's neutral baseline. Kept apart
//! from [`super::FaceFinder`] so the two halves can run on two cores.

use std::fmt;
use std::sync::Arc;

use candle_core::Tensor;
use candle_nn::VarBuilder;
use parterre_core::traits::{Expression, HeadPose};
use parterre_core::{BoxPx, Clock, FaceObservation, FrameView, Lease, Observation, PointPx};

use super::config::AnalyzerConfig;
use super::finder::Found;
use super::models::ModelFile;
use super::{SharedGovernor, StageTimer, check_budget, optional_face, read_stage};
use crate::attention::attention;
use crate::baseline::NeutralBaseline;
use crate::error::VisionError;
use crate::expression::face_input;
use crate::geometry::{FaceShape, head_pose};
use crate::landmarks::{LandmarkNet, aligned_box, face_crop};
use crate::motion::{combine, face_motion};
use crate::smoothing::Ema;
use crate::tracking::{Assignment, Tracker};
use crate::{AgeGenderNet, Detection, FaceExpressionNet, appearance, quality};

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

/// The chain's second half: what each found face shows, smoothed per track.
pub struct FaceReader {
    config: AnalyzerConfig,
    clock: Arc<dyn Clock>,
    landmarks: Option<LandmarkNet>,
    expression: Option<FaceExpressionNet>,
    age_gender: Option<AgeGenderNet>,
    tracker: Tracker<FaceState>,
    baseline: NeutralBaseline,
    last_frame_us: Option<u64>,
    governor: SharedGovernor,
}

impl fmt::Debug for FaceReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaceReader")
            .field("tracks", &self.tracker.len())
            .finish_non_exhaustive()
    }
}

impl FaceReader {
    /// Loads the per-face nets `config` needs; records each frame's cost in `governor`.
    pub(super) fn new(
        config: &AnalyzerConfig,
        clock: Arc<dyn Clock>,
        governor: SharedGovernor,
        load: &mut impl FnMut(ModelFile) -> Result<VarBuilder<'static>, VisionError>,
    ) -> Result<Self, VisionError> {
        let needed = ModelFile::needed_by(config);
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
            config: *config,
            clock,
            landmarks,
            expression,
            age_gender,
            tracker: Tracker::new(config.tracker),
            baseline: NeutralBaseline::default(),
            last_frame_us: None,
            governor,
        })
    }

    /// Reads the faces `found` in the same leased frame, and records the
    /// frame's cost (both halves' busy time) with the compute governor.
    pub fn read(&mut self, lease: &Lease, found: Found) -> Result<Observation, VisionError> {
        let started_us = found.started_us;
        let observation = self.read_faces(lease, found)?;
        let cost_us = observation.stages.iter().map(|s| s.duration_us).sum();
        self.governor
            .with(|g| g.record(started_us, cost_us, !observation.unchanged));
        Ok(observation)
    }

    /// Forgets the session: tracks and the neutral baseline.
    pub fn wipe_all(&mut self) {
        self.tracker.clear();
        self.baseline = NeutralBaseline::default();
        self.last_frame_us = None;
    }

    fn read_faces(&mut self, lease: &Lease, found: Found) -> Result<Observation, VisionError> {
        // Only this half's work counts from here: not the wait between halves.
        let mut timer = StageTimer::resume(self.clock.clone(), found.stages);
        if found.unchanged {
            return Ok(Observation {
                faces: Vec::new(),
                motion: found.frame_motion,
                stages: timer.finish(),
                unchanged: true,
            });
        }
        let (now_us, detections) = (found.now_us, found.detections);
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
            check_budget(self.clock.as_ref(), lease, "landmarks")?;
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

        check_budget(self.clock.as_ref(), lease, "classify")?;
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

        let observation = self.derive(
            faces,
            &assignments,
            found.frame_motion,
            now_us,
            found.width_px,
            found.height_px,
        )?;
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
