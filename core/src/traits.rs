//! The anonymous traits: the only data that may leave the device.
//!
//! Versioned, bounded in size, range-checked. No pixels, boxes, landmarks,
//! descriptors or identifiers of any kind, and never race or ethnicity: a
//! field that could single out a person has no place here.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// The message version this build writes and accepts.
pub const TRAITS_VERSION: u16 = 1;

/// No valid message encodes to more JSON than this (checked by a test on the
/// largest possible message); receivers may refuse anything longer.
pub const MAX_TRAITS_JSON_BYTES: usize = 640;

/// Oldest apparent age the classifiers report.
pub const MAX_AGE_YEARS: f32 = 120.0;

/// Probabilities of the seven expression classes; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expression {
    /// Neutral.
    pub neutral: f32,
    /// Happy.
    pub happy: f32,
    /// Sad.
    pub sad: f32,
    /// Angry.
    pub angry: f32,
    /// Fearful.
    pub fearful: f32,
    /// Disgusted.
    pub disgusted: f32,
    /// Surprised.
    pub surprised: f32,
}

impl Expression {
    /// The class names, in field order.
    pub const CLASSES: [&'static str; 7] = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"];

    /// The probabilities, in [`Expression::CLASSES`] order.
    pub fn probabilities(&self) -> [f32; 7] {
        [
            self.neutral,
            self.happy,
            self.sad,
            self.angry,
            self.fearful,
            self.disgusted,
            self.surprised,
        ]
    }

    /// The expression with these probabilities, in [`Expression::CLASSES`] order.
    pub fn from_probabilities(p: [f32; 7]) -> Self {
        let [neutral, happy, sad, angry, fearful, disgusted, surprised] = p;
        Self {
            neutral,
            happy,
            sad,
            angry,
            fearful,
            disgusted,
            surprised,
        }
    }
}

/// Head orientation relative to the camera, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadPose {
    /// Turn left (negative) or right (positive), -90..90.
    pub yaw_deg: f32,
    /// Nod down (negative) or up (positive), -90..90.
    pub pitch_deg: f32,
    /// Tilt, -180..180.
    pub roll_deg: f32,
}

/// Which traits a deployment computes and sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraitSet {
    /// Facial expression. Off in workplaces and education (EU AI Act, art. 5).
    pub expression: bool,
    /// Apparent age.
    pub age: bool,
    /// Apparent gender.
    pub gender: bool,
    /// Glasses.
    pub glasses: bool,
    /// Beard.
    pub beard: bool,
    /// Head pose.
    pub head_pose: bool,
    /// Attention.
    pub attention: bool,
}

impl TraitSet {
    /// Every trait.
    pub const ALL: Self = Self {
        expression: true,
        age: true,
        gender: true,
        glasses: true,
        beard: true,
        head_pose: true,
        attention: true,
    };

    /// No trait: only face presence and motion are sent.
    pub const NONE: Self = Self {
        expression: false,
        age: false,
        gender: false,
        glasses: false,
        beard: false,
        head_pose: false,
        attention: false,
    };

    /// Workplaces and education: emotion recognition is forbidden there.
    pub const WORKPLACE: Self = Self {
        expression: false,
        ..Self::ALL
    };
}

/// One viewer's anonymous traits at one moment: what the server receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousTraits {
    /// Message version, [`TRAITS_VERSION`].
    pub v: u16,
    /// A face is in view.
    pub face_present: bool,
    /// Apparent motion in the frame, 0..1 (defined with no face too).
    pub motion: f32,
    /// Expression probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<Expression>,
    /// Apparent age in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_years: Option<f32>,
    /// Probability that the face appears female, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender_female: Option<f32>,
    /// Probability of glasses, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glasses: Option<f32>,
    /// Probability of a beard, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beard: Option<f32>,
    /// Head orientation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_pose: Option<HeadPose>,
    /// Attention to the screen, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<f32>,
    /// How well the face was seen, 0..1, so aggregates can weight it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f32>,
}

fn unit(field: &'static str, value: f32) -> Result<(), CoreError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(CoreError::InvalidTraits {
            field,
            reason: "must be a number from 0 to 1",
        })
    }
}

fn within(field: &'static str, value: f32, limit: f32) -> Result<(), CoreError> {
    if (-limit..=limit).contains(&value) {
        Ok(())
    } else {
        Err(CoreError::InvalidTraits {
            field,
            reason: "is out of range",
        })
    }
}

impl AnonymousTraits {
    /// Traits of a frame with no face in it.
    pub fn no_face(motion: f32) -> Self {
        Self {
            v: TRAITS_VERSION,
            face_present: false,
            motion,
            expression: None,
            age_years: None,
            gender_female: None,
            glasses: None,
            beard: None,
            head_pose: None,
            attention: None,
            quality: None,
        }
    }

    /// The same traits with every field outside `enabled` removed.
    pub fn restricted_to(mut self, enabled: TraitSet) -> Self {
        fn keep<T>(field: &mut Option<T>, on: bool) {
            if !on {
                *field = None;
            }
        }
        keep(&mut self.expression, enabled.expression);
        keep(&mut self.age_years, enabled.age);
        keep(&mut self.gender_female, enabled.gender);
        keep(&mut self.glasses, enabled.glasses);
        keep(&mut self.beard, enabled.beard);
        keep(&mut self.head_pose, enabled.head_pose);
        keep(&mut self.attention, enabled.attention);
        self
    }

    /// Checks version, ranges, and that only `enabled` traits are present.
    pub fn validate(&self, enabled: TraitSet) -> Result<(), CoreError> {
        if self.v != TRAITS_VERSION {
            return Err(CoreError::InvalidTraits {
                field: "v",
                reason: "is not a supported version",
            });
        }
        unit("motion", self.motion)?;
        let present = [
            ("expression", self.expression.is_some(), enabled.expression),
            ("age_years", self.age_years.is_some(), enabled.age),
            ("gender_female", self.gender_female.is_some(), enabled.gender),
            ("glasses", self.glasses.is_some(), enabled.glasses),
            ("beard", self.beard.is_some(), enabled.beard),
            ("head_pose", self.head_pose.is_some(), enabled.head_pose),
            ("attention", self.attention.is_some(), enabled.attention),
        ];
        for (field, is_present, is_enabled) in present {
            if is_present && !is_enabled {
                return Err(CoreError::InvalidTraits {
                    field,
                    reason: "is disabled for this webinar",
                });
            }
            if is_present && !self.face_present {
                return Err(CoreError::InvalidTraits {
                    field,
                    reason: "is present without a face",
                });
            }
        }
        if let Some(expression) = &self.expression {
            let probabilities = expression.probabilities();
            for (name, p) in Expression::CLASSES.iter().zip(probabilities) {
                unit(name, p)?;
            }
            let sum: f32 = probabilities.iter().sum();
            if (sum - 1.0).abs() > 0.02 {
                return Err(CoreError::InvalidTraits {
                    field: "expression",
                    reason: "probabilities must sum to 1",
                });
            }
        }
        if let Some(age) = self.age_years {
            if !(0.0..=MAX_AGE_YEARS).contains(&age) {
                return Err(CoreError::InvalidTraits {
                    field: "age_years",
                    reason: "must be from 0 to 120",
                });
            }
        }
        for (field, value) in [
            ("gender_female", self.gender_female),
            ("glasses", self.glasses),
            ("beard", self.beard),
            ("attention", self.attention),
            ("quality", self.quality),
        ] {
            if let Some(value) = value {
                unit(field, value)?;
            }
        }
        if let Some(pose) = &self.head_pose {
            within("head_pose.yaw_deg", pose.yaw_deg, 90.0)?;
            within("head_pose.pitch_deg", pose.pitch_deg, 90.0)?;
            within("head_pose.roll_deg", pose.roll_deg, 180.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Committed cases: each message, whether it must pass, and for which set.
    #[derive(Deserialize)]
    struct Case {
        name: String,
        workplace: bool,
        valid: bool,
        message: serde_json::Value,
    }

    fn cases() -> Vec<Case> {
        serde_json::from_str(include_str!("../fixtures/trait-messages.json")).expect("fixture parses")
    }

    #[test]
    fn committed_messages_are_judged_as_labelled() {
        let cases = cases();
        assert!(cases.len() >= 10);
        for case in cases {
            let set = if case.workplace {
                TraitSet::WORKPLACE
            } else {
                TraitSet::ALL
            };
            let verdict = serde_json::from_value::<AnonymousTraits>(case.message)
                .map_err(|e| e.to_string())
                .and_then(|traits| traits.validate(set).map_err(|e| e.to_string()));
            assert_eq!(verdict.is_ok(), case.valid, "{}: {verdict:?}", case.name);
        }
    }

    fn largest_message() -> AnonymousTraits {
        // Every field present, each number at its longest f32 rendering.
        let long = 0.123_456_79_f32;
        AnonymousTraits {
            v: TRAITS_VERSION,
            face_present: true,
            motion: long,
            expression: Some(Expression {
                neutral: long,
                happy: long,
                sad: long,
                angry: long,
                fearful: long,
                disgusted: long,
                surprised: 1.0 - 6.0 * long,
            }),
            age_years: Some(-0.000_012_345_678_f32 + 100.0),
            gender_female: Some(long),
            glasses: Some(long),
            beard: Some(long),
            head_pose: Some(HeadPose {
                yaw_deg: -89.123_46,
                pitch_deg: -89.123_46,
                roll_deg: -179.123_46,
            }),
            attention: Some(long),
            quality: Some(long),
        }
    }

    #[test]
    fn largest_message_is_valid_and_within_the_bound() {
        let traits = largest_message();
        traits.validate(TraitSet::ALL).expect("valid");
        let json = serde_json::to_string(&traits).expect("serialize");
        assert!(json.len() <= MAX_TRAITS_JSON_BYTES, "{} bytes: {json}", json.len());
        let back: AnonymousTraits = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, traits);
    }

    #[test]
    fn restricting_removes_exactly_the_disabled_fields() {
        let workplace = largest_message().restricted_to(TraitSet::WORKPLACE);
        assert!(workplace.expression.is_none());
        assert!(workplace.age_years.is_some() && workplace.head_pose.is_some());
        workplace.validate(TraitSet::WORKPLACE).expect("valid for workplace");
        // Negative control: the unrestricted message is refused in a workplace.
        assert!(largest_message().validate(TraitSet::WORKPLACE).is_err());
        let json = serde_json::to_string(&workplace).expect("serialize");
        assert!(!json.contains("happy") && !json.contains("expression"), "{json}");
    }
}
