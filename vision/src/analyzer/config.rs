//! What the analyzer computes and how: the detector, the landmark net, the
//! feature policy (which traits are on), attention, smoothing and tracking.

use parterre_core::TraitSet;

use crate::attention::AttentionConfig;
use crate::error::VisionError;
use crate::governor::GovernorConfig;
use crate::landmarks::LandmarkModel;
use crate::smoothing::SmoothingConfig;
use crate::tracking::TrackerConfig;
use crate::{SsdOptions, TinyOptions};

/// Which face detector runs, with its options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DetectorChoice {
    /// TinyFaceDetector: fast, the default for live video.
    Tiny(TinyOptions),
    /// SSD MobileNet v1: slower, finds smaller and turned faces.
    Ssd(SsdOptions),
}

/// Where the analyzer is deployed, which decides what it may compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Everything the host enabled.
    General,
    /// Workplaces and education: no emotion recognition (EU AI Act,
    /// Article 5(1)(f)), so the expression model is never even loaded.
    Workplace,
}

/// The analyzer's whole configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzerConfig {
    /// The face detector.
    pub detector: DetectorChoice,
    /// The landmark net.
    pub landmarks: LandmarkModel,
    /// The feature policy: a trait switched off here is not computed, its
    /// model is not loaded, and its field is absent from the traits.
    pub traits: TraitSet,
    /// At most this many faces, the largest first, get landmarks and
    /// classifiers; the rest are only counted. Bounds the cost of a crowd in
    /// the background.
    pub max_faces: usize,
    /// What counts as looking at the screen.
    pub attention: AttentionConfig,
    /// How fast smoothed traits follow the raw ones.
    pub smoothing: SmoothingConfig,
    /// How faces are followed from frame to frame.
    pub tracker: TrackerConfig,
    /// Apparent age and gender are re-estimated for a face at most this
    /// often (0: every frame). They belong to the face, not the moment, and
    /// are smoothed over seconds anyway, while their net is the chain's most
    /// expensive per-face stage.
    pub slow_traits_every_ms: u64,
    /// Live use: keep the analysis inside a CPU budget (the tiny detector's
    /// input size adapts, unchanged frames are skipped). `None` analyzes
    /// every frame as configured, as batch analysis of files wants.
    pub governor: Option<GovernorConfig>,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self::preset(Preset::General)
    }
}

impl AnalyzerConfig {
    /// The configuration of a deployment context.
    pub fn preset(preset: Preset) -> Self {
        Self {
            detector: DetectorChoice::Tiny(TinyOptions {
                // 320 finds a viewer in front of a webcam at a third of the
                // cost of 416.
                input_size_px: 320,
                score_threshold: 0.5,
            }),
            // face-api's default: the expression and age/gender nets were
            // run on boxes aligned to the full net's landmarks.
            landmarks: LandmarkModel::Full,
            traits: match preset {
                Preset::General => TraitSet::ALL,
                Preset::Workplace => TraitSet::WORKPLACE,
            },
            max_faces: 4,
            attention: AttentionConfig::default(),
            smoothing: SmoothingConfig::default(),
            tracker: TrackerConfig::default(),
            slow_traits_every_ms: 500,
            governor: None,
        }
    }

    /// Checks the values the type cannot.
    pub fn validate(&self) -> Result<(), VisionError> {
        if self.max_faces == 0 {
            return Err(VisionError::InvalidOption("max_faces must be at least 1".into()));
        }
        let attention = &self.attention;
        let angles = [attention.yaw_deg, attention.pitch_deg, attention.falloff_deg];
        if !angles.iter().all(|a| a.is_finite() && (0.0..=90.0).contains(a)) {
            return Err(VisionError::InvalidOption(format!(
                "attention cone angles must be 0 to 90 degrees, not {attention:?}"
            )));
        }
        if let DetectorChoice::Tiny(options) = &self.detector {
            options.validate()?;
        }
        if let Some(governor) = &self.governor {
            governor.validate()?;
        }
        let taus_ms = [self.smoothing.fast_ms, self.smoothing.slow_ms];
        if !taus_ms.iter().all(|t| t.is_finite() && *t >= 0.0) {
            return Err(VisionError::InvalidOption(format!(
                "smoothing time constants must be finite and >= 0, not {:?}",
                self.smoothing
            )));
        }
        Ok(())
    }

    /// Whether landmarks are needed: every trait but motion and presence
    /// starts from them.
    pub(crate) fn needs_landmarks(&self) -> bool {
        let t = &self.traits;
        t.expression || t.age || t.gender || t.glasses || t.beard || t.head_pose || t.attention
    }

    /// Whether the head pose and face shape are needed.
    pub(crate) fn needs_pose(&self) -> bool {
        self.traits.head_pose || self.traits.attention
    }
}
