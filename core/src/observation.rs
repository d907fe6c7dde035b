//! The pipeline interface: an analyzer turns a leased frame into an
//! on-device observation, from which the anonymous traits are derived.
//!
//! An observation may hold boxes and landmarks; it never leaves the device.
//! It is neither `Serialize` nor `Clone`: the only way out is
//! [`Observation::traits`], which keeps nothing that locates or describes a face.

use crate::pool::Lease;
use crate::traits::{AnonymousTraits, Expression, HeadPose, TRAITS_VERSION, TraitSet};

/// A point in original image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointPx {
    /// Column.
    pub x: f32,
    /// Row.
    pub y: f32,
}

/// A rectangle in original image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxPx {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl BoxPx {
    /// Area in square pixels.
    pub fn area_px(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }
}

/// Everything the analysis found about one face. On the device only.
#[derive(Debug, Default)]
pub struct FaceObservation {
    /// Where the face is.
    pub box_px: Option<BoxPx>,
    /// Detector confidence, 0..1.
    pub score: f32,
    /// The 68 landmarks, when computed.
    pub landmarks_px: Vec<PointPx>,
    /// Expression probabilities, when enabled.
    pub expression: Option<Expression>,
    /// Apparent age in years.
    pub age_years: Option<f32>,
    /// Probability the face appears female.
    pub gender_female: Option<f32>,
    /// Probability of glasses.
    pub glasses: Option<f32>,
    /// Probability of a beard.
    pub beard: Option<f32>,
    /// Head orientation.
    pub head_pose: Option<HeadPose>,
    /// Attention to the screen, 0..1.
    pub attention: Option<f32>,
    /// How well the face is seen, 0..1.
    pub quality: Option<f32>,
    /// Expression as the net sees it (smoothed), before the viewer's own
    /// neutral baseline is taken out; `expression` is the relative one.
    pub expression_raw: Option<Expression>,
    /// How open the eyes are, 0..1.
    pub eyes_open: Option<f32>,
    /// How open the mouth is, 0..1.
    pub mouth_open: Option<f32>,
    /// Smile intensity, 0..1.
    pub smile: Option<f32>,
    /// Which face this is from frame to frame, within one session; never sent.
    pub track_id: Option<u32>,
}

/// What the analysis found in one frame. On the device only.
#[derive(Debug, Default)]
pub struct Observation {
    /// Faces found, in no particular order.
    pub faces: Vec<FaceObservation>,
    /// Apparent motion in the frame, 0..1.
    pub motion: f32,
    /// How long each stage of the analysis took, in order.
    pub stages: Vec<StageTiming>,
    /// The frame had not changed and the analysis was skipped: `faces` is
    /// empty and the previous traits still hold.
    pub unchanged: bool,
}

/// The time one stage of the analysis took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTiming {
    /// The stage's name, e.g. `detect` or `landmarks`.
    pub stage: &'static str,
    /// Its duration in microseconds.
    pub duration_us: u64,
}

impl Observation {
    /// The face the traits describe: the largest one in view (the viewer in
    /// front of the camera, not a face on a poster behind them).
    pub fn primary_face(&self) -> Option<&FaceObservation> {
        self.faces.iter().max_by(|a, b| {
            let area = |face: &FaceObservation| face.box_px.map_or(0.0, |b| b.area_px());
            area(a).total_cmp(&area(b))
        })
    }

    /// The anonymous traits of this observation, only those in `enabled`.
    pub fn traits(&self, enabled: TraitSet) -> AnonymousTraits {
        let motion = self.motion.clamp(0.0, 1.0);
        let Some(face) = self.primary_face() else {
            return AnonymousTraits::no_face(motion);
        };
        AnonymousTraits {
            v: TRAITS_VERSION,
            face_present: true,
            motion,
            expression: face.expression,
            age_years: face.age_years,
            gender_female: face.gender_female,
            glasses: face.glasses,
            beard: face.beard,
            head_pose: face.head_pose,
            attention: face.attention,
            quality: face.quality,
        }
        .restricted_to(enabled)
    }
}

/// Turns a leased frame into an observation.
pub trait Analyzer {
    /// What can go wrong in this analyzer.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Analyzes the leased frame. Reads its pixels through [`Lease::read`];
    /// the caller releases the lease afterwards.
    fn analyze(&mut self, lease: &Lease) -> Result<Observation, Self::Error>;

    /// Wipes image-derived data kept between frames (such as a motion
    /// thumbnail) whose source frame's deadline has passed. The runtime calls
    /// it whenever it waits for a frame, so nothing outlives the budget.
    fn wipe_expired(&mut self) {}

    /// Wipes everything image-derived the analyzer keeps: end of session.
    fn wipe_all(&mut self) {}

    /// Whether `error` means the frame's budget ran out during the analysis
    /// (the frame was wiped unanalyzed), rather than a failure.
    fn budget_spent(error: &Self::Error) -> bool {
        let _ = error;
        false
    }

    /// When the next analysis may start (the analyzer's own compute budget),
    /// on the pool's clock; 0 for at once.
    fn next_start_us(&self) -> u64 {
        0
    }

    /// The settings the analyzer has chosen for itself, for display.
    fn settings(&self) -> Option<String> {
        None
    }

    /// The permanence of image-derived data it keeps between frames (such
    /// as a motion thumbnail), if it keeps any.
    fn derived_permanence(&self) -> Option<crate::PermanenceReport> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(side_px: f32, age_years: f32) -> FaceObservation {
        FaceObservation {
            box_px: Some(BoxPx {
                x: 10.0,
                y: 10.0,
                width: side_px,
                height: side_px,
            }),
            score: 0.9,
            landmarks_px: vec![PointPx { x: 1.0, y: 2.0 }; 68],
            expression: Some(Expression {
                neutral: 0.5,
                happy: 0.5,
                sad: 0.0,
                angry: 0.0,
                fearful: 0.0,
                disgusted: 0.0,
                surprised: 0.0,
            }),
            age_years: Some(age_years),
            attention: Some(0.75),
            ..FaceObservation::default()
        }
    }

    #[test]
    fn traits_describe_the_largest_face_and_nothing_locating_it() {
        let observation = Observation {
            faces: vec![face(40.0, 70.0), face(200.0, 30.0), face(90.0, 50.0)],
            motion: 0.25,
            stages: Vec::new(),
            unchanged: false,
        };
        let traits = observation.traits(TraitSet::ALL);
        assert!(traits.face_present);
        assert_eq!(traits.age_years, Some(30.0));
        assert_eq!(traits.attention, Some(0.75));
        assert_eq!(traits.motion, 0.25);
        traits.validate(TraitSet::ALL).expect("valid");
        let json = serde_json::to_string(&traits).expect("serialize");
        assert!(
            !json.contains("box") && !json.contains("landmark") && !json.contains("200"),
            "{json}"
        );
    }

    #[test]
    fn workplace_traits_carry_no_expression() {
        let observation = Observation {
            faces: vec![face(50.0, 40.0)],
            motion: 0.0,
            stages: Vec::new(),
            unchanged: false,
        };
        assert!(observation.traits(TraitSet::ALL).expression.is_some());
        assert!(observation.traits(TraitSet::WORKPLACE).expression.is_none());
    }

    #[test]
    fn no_face_gives_motion_only() {
        let observation = Observation {
            faces: vec![],
            motion: 3.0,
            stages: Vec::new(),
            unchanged: false,
        };
        let traits = observation.traits(TraitSet::ALL);
        assert!(!traits.face_present);
        assert_eq!(traits.motion, 1.0);
        traits.validate(TraitSet::ALL).expect("valid");
    }

    static_assertions::assert_not_impl_any!(Observation: Clone, serde::Serialize);
    static_assertions::assert_not_impl_any!(FaceObservation: Clone, serde::Serialize);
    static_assertions::assert_not_impl_any!(Lease: Clone, serde::Serialize);
}
