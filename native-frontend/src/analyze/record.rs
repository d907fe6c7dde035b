//! The JSON record of one analyzed frame: everything the analysis found, for
//! the person who ran it on their own files. It holds boxes and landmarks, so
//! it is a local report, never a wire message; the part that would be sent is
//! in `traits`, exactly as `Observation::traits` gives it.
//!
//! A trait switched off is absent everywhere: from the face objects as from
//! `traits`. The face's `expression` is the net's (smoothed) reading; the
//! baseline-relative one, which is what a viewer sends, is only in `traits`.

use std::collections::BTreeMap;

use parterre_core::traits::Expression;
use parterre_core::{AnonymousTraits, FaceObservation, Observation, TraitSet};
use parterre_vision::analyzer::AnalyzerConfig;
use serde::Serialize;

use super::session::{AnalyzedFrame, Outcome};

/// One frame, as `analyze --json` prints it.
#[derive(Debug, Serialize)]
pub struct FrameRecord {
    /// The file (for a folder, the picture).
    pub source: String,
    /// 0-based frame index in the source.
    pub frame: u64,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Why the frame was not analyzed; absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The faces found, largest first.
    pub faces: Vec<FaceRecord>,
    /// Apparent motion, 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion: Option<f32>,
    /// The anonymous traits, as they would be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traits: Option<AnonymousTraits>,
    /// Milliseconds per analysis stage.
    pub timing_ms: BTreeMap<&'static str, f64>,
    /// The frame's life in the pool, from its first pixel written to its wipe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permanence_ms: Option<f64>,
}

/// One face, in original image pixels.
#[derive(Debug, Serialize)]
pub struct FaceRecord {
    /// `[x, y, width, height]`.
    #[serde(rename = "box")]
    pub box_px: [f32; 4],
    /// Detector confidence, 0..1.
    pub score: f32,
    /// The 68 landmarks as `[x, y]`; absent when no trait needed them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub landmarks: Vec<[f32; 2]>,
    /// The net's expression probabilities (smoothed, not baseline-relative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<Expression>,
    /// Apparent age in years.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<f32>,
    /// Apparent gender probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Probability of glasses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glasses: Option<f32>,
    /// Probability of a beard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beard: Option<f32>,
    /// Head orientation in degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pose: Option<Pose>,
    /// How open the eyes are, 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eyes_open: Option<f32>,
    /// Attention to the screen, 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention: Option<f32>,
}

/// Apparent gender as two probabilities summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gender {
    /// Probability the face appears female.
    pub female: f32,
    /// Probability the face appears male.
    pub male: f32,
}

/// Head orientation in degrees (the JSON keeps the short names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pose {
    /// Turn, -90..90.
    #[serde(rename = "yaw")]
    pub yaw_deg: f32,
    /// Nod, -90..90.
    #[serde(rename = "pitch")]
    pub pitch_deg: f32,
    /// Tilt, -180..180.
    #[serde(rename = "roll")]
    pub roll_deg: f32,
}

impl FrameRecord {
    /// The record of `frame`, analyzed under `config`.
    pub fn new(frame: &AnalyzedFrame, config: &AnalyzerConfig) -> Self {
        let mut record = Self {
            source: frame.source.clone(),
            frame: frame.frame,
            width: frame.layout.width_px,
            height: frame.layout.height_px,
            skipped: None,
            faces: Vec::new(),
            motion: None,
            traits: None,
            timing_ms: BTreeMap::new(),
            permanence_ms: frame.permanence_ms,
        };
        match &frame.outcome {
            Outcome::Skipped(reason) => record.skipped = Some(reason.clone()),
            Outcome::Analyzed(observation) => record.fill(observation, config.traits),
        }
        record
    }

    fn fill(&mut self, observation: &Observation, enabled: TraitSet) {
        self.faces = observation
            .faces
            .iter()
            .map(|face| FaceRecord::new(face, enabled))
            .collect();
        self.motion = Some(observation.motion);
        self.traits = Some(observation.traits(enabled));
        self.timing_ms = observation
            .stages
            .iter()
            .map(|timing| (timing.stage, timing.duration_us as f64 / 1_000.0))
            .collect();
    }

    /// The analysis time, all stages together.
    pub fn total_ms(&self) -> f64 {
        self.timing_ms.values().sum()
    }

    /// The face the traits describe: the largest.
    pub fn primary_face(&self) -> Option<&FaceRecord> {
        self.faces
            .iter()
            .max_by(|a, b| (a.box_px[2] * a.box_px[3]).total_cmp(&(b.box_px[2] * b.box_px[3])))
    }
}

impl FaceRecord {
    /// The record of one face, keeping only the `enabled` traits.
    pub fn new(face: &FaceObservation, enabled: TraitSet) -> Self {
        let box_px = face.box_px.map_or([0.0; 4], |b| [b.x, b.y, b.width, b.height]);
        Self {
            box_px,
            score: face.score,
            landmarks: face.landmarks_px.iter().map(|p| [p.x, p.y]).collect(),
            expression: face.expression_raw.filter(|_| enabled.expression),
            age: face.age_years.filter(|_| enabled.age),
            gender: face.gender_female.filter(|_| enabled.gender).map(|female| Gender {
                female,
                male: 1.0 - female,
            }),
            glasses: face.glasses.filter(|_| enabled.glasses),
            beard: face.beard.filter(|_| enabled.beard),
            pose: face.head_pose.filter(|_| enabled.head_pose).map(|pose| Pose {
                yaw_deg: pose.yaw_deg,
                pitch_deg: pose.pitch_deg,
                roll_deg: pose.roll_deg,
            }),
            eyes_open: face.eyes_open,
            attention: face.attention.filter(|_| enabled.attention),
        }
    }

    /// The most probable expression and its probability.
    pub fn top_expression(&self) -> Option<(&'static str, f32)> {
        let expression = self.expression?;
        Expression::CLASSES
            .into_iter()
            .zip(expression.probabilities())
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

#[cfg(test)]
mod tests {
    use parterre_core::traits::HeadPose;
    use parterre_core::{BoxPx, FrameLayout, PixelFormat, PointPx, StageTiming};
    use parterre_vision::analyzer::Preset;
    use serde_json::{Value, json};

    use super::*;

    const HAPPY: Expression = Expression {
        neutral: 0.25,
        happy: 0.75,
        sad: 0.0,
        angry: 0.0,
        fearful: 0.0,
        disgusted: 0.0,
        surprised: 0.0,
    };

    fn face(side_px: f32) -> FaceObservation {
        FaceObservation {
            box_px: Some(BoxPx {
                x: 10.0,
                y: 20.0,
                width: side_px,
                height: side_px,
            }),
            score: 0.875,
            landmarks_px: (0..68).map(|i| PointPx { x: i as f32, y: 2.0 }).collect(),
            // The baseline-relative reading differs from the raw one, so the
            // test can tell which went where.
            expression: Some(Expression {
                neutral: 0.5,
                happy: 0.5,
                ..HAPPY
            }),
            expression_raw: Some(HAPPY),
            age_years: Some(31.5),
            gender_female: Some(0.25),
            glasses: Some(0.125),
            beard: Some(0.5),
            head_pose: Some(HeadPose {
                yaw_deg: 10.0,
                pitch_deg: -5.0,
                roll_deg: 2.0,
            }),
            attention: Some(0.75),
            eyes_open: Some(0.625),
            quality: Some(0.5),
            ..FaceObservation::default()
        }
    }

    fn frame(faces: Vec<FaceObservation>) -> AnalyzedFrame {
        AnalyzedFrame {
            source: "a.png".into(),
            frame: 3,
            layout: FrameLayout::packed(PixelFormat::Rgb8, 640, 480).expect("layout"),
            outcome: Outcome::Analyzed(Observation {
                faces,
                motion: 0.25,
                stages: vec![
                    StageTiming {
                        stage: "detect",
                        duration_us: 12_500,
                    },
                    StageTiming {
                        stage: "landmarks",
                        duration_us: 4_000,
                    },
                ],
                ..Observation::default()
            }),
            permanence_ms: Some(20.5),
        }
    }

    fn json_of(frame: &AnalyzedFrame, config: &AnalyzerConfig) -> Value {
        serde_json::to_value(FrameRecord::new(frame, config)).expect("serialize")
    }

    #[test]
    fn the_record_has_the_documented_shape() {
        let config = AnalyzerConfig::default();
        let frame = frame(vec![face(100.0), face(40.0)]);
        let json = json_of(&frame, &config);
        let Outcome::Analyzed(observation) = &frame.outcome else {
            panic!("analyzed")
        };
        let traits = serde_json::to_value(observation.traits(config.traits)).expect("traits");
        let first = &json["faces"][0];
        assert_eq!(first["box"], json!([10.0, 20.0, 100.0, 100.0]));
        assert_eq!(first["landmarks"].as_array().map(Vec::len), Some(68));
        assert_eq!(first["landmarks"][5], json!([5.0, 2.0]));
        assert_eq!(first["expression"]["happy"], json!(0.75), "the raw expression");
        assert_eq!(first["gender"], json!({"female": 0.25, "male": 0.75}));
        assert_eq!(first["pose"], json!({"yaw": 10.0, "pitch": -5.0, "roll": 2.0}));
        let expected = json!({
            "source": "a.png", "frame": 3, "width": 640, "height": 480,
            "faces": json["faces"].clone(),
            "motion": 0.25,
            "traits": traits,
            "timing_ms": {"detect": 12.5, "landmarks": 4.0},
            "permanence_ms": 20.5,
        });
        assert_eq!(json, expected);
        let mut face_keys: Vec<&str> = first.as_object().expect("object").keys().map(String::as_str).collect();
        face_keys.sort_unstable();
        let mut documented = [
            "box",
            "score",
            "landmarks",
            "expression",
            "age",
            "gender",
            "glasses",
            "beard",
            "pose",
            "eyes_open",
            "attention",
        ];
        documented.sort_unstable();
        assert_eq!(face_keys, documented);
        // The relative expression is what travels: it is in traits, not in the face.
        assert_eq!(json["traits"]["expression"]["happy"], json!(0.5));
    }

    #[test]
    fn switched_off_traits_are_absent_everywhere() {
        let workplace = AnalyzerConfig::preset(Preset::Workplace);
        let text = serde_json::to_string(&FrameRecord::new(&frame(vec![face(80.0)]), &workplace)).expect("json");
        assert!(!text.contains("expression") && !text.contains("happy"), "{text}");
        // Negative control: the general preset prints it.
        let general = serde_json::to_string(&FrameRecord::new(&frame(vec![face(80.0)]), &AnalyzerConfig::default()))
            .expect("json");
        assert!(general.contains("\"expression\""), "{general}");
        let mut config = AnalyzerConfig::default();
        config.traits.glasses = false;
        config.traits.beard = false;
        let json = json_of(&frame(vec![face(80.0)]), &config);
        for key in ["glasses", "beard"] {
            assert!(json["faces"][0].get(key).is_none(), "{key} in the face");
            assert!(json["traits"].get(key).is_none(), "{key} in the traits");
        }
        assert!(json["faces"][0].get("age").is_some());
    }

    #[test]
    fn a_skipped_frame_says_why_and_has_no_analysis() {
        let skipped = AnalyzedFrame {
            outcome: Outcome::Skipped("budget spent".into()),
            permanence_ms: Some(300.5),
            ..frame(Vec::new())
        };
        let json = json_of(&skipped, &AnalyzerConfig::default());
        assert_eq!(json["skipped"], json!("budget spent"));
        assert_eq!(json["faces"], json!([]));
        assert!(json.get("traits").is_none() && json.get("motion").is_none());
        assert_eq!(json["permanence_ms"], json!(300.5));
    }

    #[test]
    fn the_primary_face_is_the_largest_and_its_top_expression_is_read() {
        let record = FrameRecord::new(&frame(vec![face(40.0), face(90.0)]), &AnalyzerConfig::default());
        let primary = record.primary_face().expect("a face");
        assert_eq!(primary.box_px[2], 90.0);
        assert_eq!(primary.top_expression(), Some(("happy", 0.75)));
        assert_eq!(record.total_ms(), 16.5);
    }
}
