//! The model files the analyzer may need, and which ones a configuration
//! actually needs: a switched-off trait's model is never loaded (nor, in the
//! browser, downloaded).

use super::config::{AnalyzerConfig, DetectorChoice};
use crate::landmarks::LandmarkModel;

/// One converted weights file (`models/<stem>.safetensors`, made by `cargo xtask models`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFile {
    /// The tiny face detector.
    TinyFaceDetector,
    /// The SSD MobileNet v1 face detector.
    SsdMobilenetV1,
    /// The full 68-point landmark net.
    FaceLandmark68,
    /// The tiny 68-point landmark net.
    FaceLandmark68Tiny,
    /// The expression net.
    FaceExpression,
    /// The age and gender net.
    AgeGender,
}

impl ModelFile {
    /// The file's stem, as xtask names it after the package's model.
    pub fn stem(self) -> &'static str {
        match self {
            Self::TinyFaceDetector => "tiny_face_detector",
            Self::SsdMobilenetV1 => "ssd_mobilenetv1",
            Self::FaceLandmark68 => "face_landmark_68",
            Self::FaceLandmark68Tiny => "face_landmark_68_tiny",
            Self::FaceExpression => "face_expression",
            Self::AgeGender => "age_gender",
        }
    }

    /// The models `config` needs, detector first.
    pub fn needed_by(config: &AnalyzerConfig) -> Vec<Self> {
        let mut files = vec![match config.detector {
            DetectorChoice::Tiny(_) => Self::TinyFaceDetector,
            DetectorChoice::Ssd(_) => Self::SsdMobilenetV1,
        }];
        if config.needs_landmarks() {
            files.push(match config.landmarks {
                LandmarkModel::Full => Self::FaceLandmark68,
                LandmarkModel::Tiny => Self::FaceLandmark68Tiny,
            });
        }
        if config.traits.expression {
            files.push(Self::FaceExpression);
        }
        if config.traits.age || config.traits.gender {
            files.push(Self::AgeGender);
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::config::Preset;
    use parterre_core::TraitSet;

    #[test]
    fn each_switch_decides_its_model() {
        use ModelFile::*;
        let all = AnalyzerConfig::default();
        assert_eq!(
            ModelFile::needed_by(&all),
            [TinyFaceDetector, FaceLandmark68, FaceExpression, AgeGender]
        );
        let workplace = AnalyzerConfig::preset(Preset::Workplace);
        assert_eq!(
            ModelFile::needed_by(&workplace),
            [TinyFaceDetector, FaceLandmark68, AgeGender]
        );
        let only_age = AnalyzerConfig {
            traits: TraitSet {
                expression: false,
                gender: false,
                glasses: false,
                beard: false,
                head_pose: false,
                attention: false,
                ..TraitSet::ALL
            },
            landmarks: LandmarkModel::Tiny,
            ..AnalyzerConfig::default()
        };
        assert_eq!(
            ModelFile::needed_by(&only_age),
            [TinyFaceDetector, FaceLandmark68Tiny, AgeGender]
        );
        let nothing = AnalyzerConfig {
            traits: TraitSet::NONE,
            ..AnalyzerConfig::default()
        };
        assert_eq!(ModelFile::needed_by(&nothing), [TinyFaceDetector]);
    }
}
