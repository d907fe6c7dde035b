//! The message decoder under random input: it never panics, refuses every
//! non-message, and accepts a generated traits message exactly when an
//! independent statement of the rules says it is valid.

use parterre_core::TraitSet;
use parterre_server::protocol::{Inbound, MAX_MESSAGE_BYTES, decode};
use proptest::prelude::*;

/// Committed cases from core, wrapped in the envelope: same verdicts.
#[test]
fn committed_trait_messages_keep_their_verdicts() {
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        workplace: bool,
        valid: bool,
        message: serde_json::Value,
    }
    let cases: Vec<Case> =
        serde_json::from_str(include_str!("../../core/fixtures/trait-messages.json")).expect("fixture");
    assert!(cases.len() >= 10);
    for case in cases {
        let set = if case.workplace {
            TraitSet::WORKPLACE
        } else {
            TraitSet::ALL
        };
        let text = serde_json::json!({"type": "traits", "traits": case.message}).to_string();
        assert_eq!(decode(&text, set).is_ok(), case.valid, "{}", case.name);
    }
}

/// A random traits message: each field present or not, in range or not.
#[derive(Debug, Clone)]
struct Generated {
    v: u16,
    face: bool,
    motion: f32,
    attention: Option<f32>,
    age_years: Option<f32>,
    yaw_deg: Option<f32>,
    extra_field: bool,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop_oneof![Just(1u16), 0u16..4],
        any::<bool>(),
        -0.5f32..1.5,
        proptest::option::of(-0.5f32..1.5),
        proptest::option::of(-10f32..150.0),
        proptest::option::of(-120f32..120.0),
        proptest::bool::weighted(0.1),
    )
        .prop_map(
            |(v, face, motion, attention, age_years, yaw_deg, extra_field)| Generated {
                v,
                face,
                motion,
                attention,
                age_years,
                yaw_deg,
                extra_field,
            },
        )
}

impl Generated {
    fn json(&self) -> String {
        let mut traits = serde_json::json!({"v": self.v, "face_present": self.face, "motion": self.motion});
        if let Some(a) = self.attention {
            traits["attention"] = a.into();
        }
        if let Some(a) = self.age_years {
            traits["age_years"] = a.into();
        }
        if let Some(y) = self.yaw_deg {
            traits["head_pose"] = serde_json::json!({"yaw_deg": y, "pitch_deg": 0.0, "roll_deg": 0.0});
        }
        if self.extra_field {
            traits["descriptor"] = serde_json::json!([0.1, 0.2]);
        }
        serde_json::json!({"type": "traits", "traits": traits}).to_string()
    }

    /// The rules, stated independently of core's code.
    fn valid(&self) -> bool {
        let unit = |x: f32| (0.0..=1.0).contains(&x);
        let face_fields = self.attention.is_some() || self.age_years.is_some() || self.yaw_deg.is_some();
        self.v == 1
            && !self.extra_field
            && unit(self.motion)
            && (self.face || !face_fields)
            && self.attention.is_none_or(unit)
            && self.age_years.is_none_or(|a| (0.0..=120.0).contains(&a))
            && self.yaw_deg.is_none_or(|y| (-90.0..=90.0).contains(&y))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_bytes_never_panic_and_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..3_000)) {
        let text = String::from_utf8_lossy(&bytes);
        // Random bytes that happen to be a valid message are vanishingly rare.
        prop_assert!(decode(&text, TraitSet::ALL).is_err());
    }

    #[test]
    fn generated_messages_are_accepted_exactly_when_valid(message in generated()) {
        let text = message.json();
        prop_assume!(text.len() <= MAX_MESSAGE_BYTES);
        let verdict = decode(&text, TraitSet::ALL);
        prop_assert_eq!(verdict.is_ok(), message.valid(), "{} -> {:?}", text, verdict);
        if let Ok(inbound) = verdict {
            prop_assert!(matches!(inbound, Inbound::Traits(ref t) if t.v == 1));
        }
    }

    #[test]
    fn any_json_value_never_panics(value in json_value()) {
        let _ = decode(&serde_json::json!({"type": "traits", "traits": value}).to_string(), TraitSet::ALL);
        let _ = decode(&value.to_string(), TraitSet::WORKPLACE);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(serde_json::Value::from),
        "[a-z_]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
