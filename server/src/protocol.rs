//! The wire protocol between a viewer's page and the server, in one place.
//!
//! Viewer → server, one JSON object per WebSocket text message, at most
//! [`MAX_MESSAGE_BYTES`] (checked before any parsing), unknown fields refused:
//!
//! ```json
//! {"type":"traits","traits":{"v":1,"face_present":true,"motion":0.1,"attention":0.8}}
//! {"type":"permanence","v":1,"frames":120,"mean_ms":31.0,"p50_ms":30.0,"p99_ms":80.0,"max_ms":120.0,"over_budget":0}
//! ```
//!
//! `traits` is `parterre_core::AnonymousTraits` (versioned and range-checked
//! by core, restricted to the webinar's `TraitSet`); `permanence` is the
//! viewer's measured frame permanence, for the panel's privacy box, with its
//! own version [`PERMANENCE_VERSION`]. Binary messages are refused.
//!
//! Server → viewer: [`ServerMessage`], e.g.
//! `{"type":"decision","at_ms":61000,"origin":{"rule":"happy-moment"},"action":{"effect":"applause"},"card":null}`.
//!
//! Every refusal is a [`Rejection`]: a class with a WebSocket close code, and
//! a reason that says what was wrong (never echoing more than fits a close
//! frame).

use parterre_aggregate::{Action, Card, Origin};
use parterre_core::{AnonymousTraits, CoreError, EndCounts, PermanenceReport, TraitSet};
use serde::{Deserialize, Serialize};

// The viewer's side of the wire is core's: every viewer encodes it.
pub use parterre_core::wire::{PERMANENCE_VERSION, PermanenceMessage, ViewerMessage};

/// The largest viewer message accepted: the largest valid traits message
/// (`parterre_core::traits::MAX_TRAITS_JSON_BYTES`, 640) plus its envelope,
/// with room to spare.
pub const MAX_MESSAGE_BYTES: usize = 1_024;

/// No frame lives longer than a minute in any report we believe.
const MAX_PERMANENCE_MS: f64 = 60_000.0;

/// A report covers at most this many frames (a day at 10 000 fps).
const MAX_FRAMES: u64 = 1_000_000_000;

/// A close frame's reason holds at most 123 bytes.
const MAX_REASON_BYTES: usize = 123;

/// Why a message was refused; decides the close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectClass {
    /// Longer than [`MAX_MESSAGE_BYTES`] or the WebSocket limit.
    TooLarge,
    /// A binary message.
    Binary,
    /// Not JSON, or not the shape of any message.
    Malformed,
    /// A field this protocol does not have.
    UnknownField,
    /// A version this build does not speak.
    WrongVersion,
    /// A value outside its range.
    OutOfRange,
    /// A trait this webinar's context forbids (expression in a workplace).
    NotAllowed,
    /// More messages than the per-connection rate allows.
    RateLimit,
}

impl RejectClass {
    /// Every class, in the order the panel counts them.
    pub const ALL: [Self; 8] = [
        Self::TooLarge,
        Self::Binary,
        Self::Malformed,
        Self::UnknownField,
        Self::WrongVersion,
        Self::OutOfRange,
        Self::NotAllowed,
        Self::RateLimit,
    ];

    /// The class's name on the panel.
    pub fn name(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Binary => "binary",
            Self::Malformed => "malformed",
            Self::UnknownField => "unknown_field",
            Self::WrongVersion => "wrong_version",
            Self::OutOfRange => "out_of_range",
            Self::NotAllowed => "not_allowed",
            Self::RateLimit => "rate_limit",
        }
    }

    /// The WebSocket close code (RFC 6455 §7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            Self::TooLarge => 1009,
            Self::Binary => 1003,
            Self::Malformed | Self::UnknownField | Self::WrongVersion | Self::OutOfRange => 1007,
            Self::NotAllowed | Self::RateLimit => 1008,
        }
    }
}

/// A refused message: the connection is closed with this code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What kind of refusal.
    pub class: RejectClass,
    /// What was wrong, for the close frame.
    pub detail: String,
}

impl Rejection {
    /// A rejection of `class` saying `detail`.
    pub fn new(class: RejectClass, detail: impl Into<String>) -> Self {
        Self {
            class,
            detail: detail.into(),
        }
    }

    /// The close frame's reason: `rate limit` or `invalid message: <why>`,
    /// cut to the 123 bytes a close frame holds.
    pub fn reason(&self) -> String {
        let full = match self.class {
            RejectClass::RateLimit => "rate limit".to_owned(),
            _ => format!("invalid message: {}", self.detail),
        };
        truncate_utf8(full, MAX_REASON_BYTES)
    }
}

fn truncate_utf8(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let mut cut = max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// A viewer message that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Traits, valid for the webinar's trait set.
    Traits(AnonymousTraits),
    /// A permanence report, in core's form.
    Permanence(PermanenceReport),
}

/// Decodes and validates one text message for a webinar that accepts
/// `enabled` traits. The size is checked before the text is parsed.
pub fn decode(text: &str, enabled: TraitSet) -> Result<Inbound, Rejection> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(Rejection::new(
            RejectClass::TooLarge,
            format!("{} bytes, the limit is {MAX_MESSAGE_BYTES}", text.len()),
        ));
    }
    let message: ViewerMessage = serde_json::from_str(text).map_err(|e| parse_rejection(&e))?;
    match message {
        ViewerMessage::Traits { traits } => {
            traits.validate(enabled).map_err(|e| traits_rejection(&e))?;
            Ok(Inbound::Traits(traits))
        }
        ViewerMessage::Permanence(report) => Ok(Inbound::Permanence(validate_permanence(report)?)),
    }
}

fn parse_rejection(error: &serde_json::Error) -> Rejection {
    let text = error.to_string();
    let class = if text.starts_with("unknown field") {
        RejectClass::UnknownField
    } else {
        RejectClass::Malformed
    };
    Rejection::new(class, text)
}

fn traits_rejection(error: &CoreError) -> Rejection {
    let class = match error {
        CoreError::InvalidTraits { field: "v", .. } => RejectClass::WrongVersion,
        CoreError::InvalidTraits {
            reason: "is disabled for this webinar",
            ..
        } => RejectClass::NotAllowed,
        _ => RejectClass::OutOfRange,
    };
    // Core's message starts "invalid trait message: ": keep only the why.
    let text = error.to_string();
    let detail = text.strip_prefix("invalid trait message: ").unwrap_or(&text);
    Rejection::new(class, detail)
}

/// Checks a permanence message's version and ranges and converts it to
/// core's report. The wire form carries no p90: the p99 stands in for it (an
/// upper bound).
pub fn validate_permanence(message: PermanenceMessage) -> Result<PermanenceReport, Rejection> {
    if message.v != PERMANENCE_VERSION {
        return Err(Rejection::new(
            RejectClass::WrongVersion,
            "permanence v is not a supported version",
        ));
    }
    let durations = [message.mean_ms, message.p50_ms, message.p99_ms, message.max_ms];
    let ordered =
        message.p50_ms <= message.p99_ms && message.p99_ms <= message.max_ms && message.mean_ms <= message.max_ms;
    let in_range = durations.iter().all(|ms| (0.0..=MAX_PERMANENCE_MS).contains(ms));
    if !in_range || !ordered || message.frames > MAX_FRAMES || message.over_budget > message.frames {
        return Err(Rejection::new(
            RejectClass::OutOfRange,
            "permanence figures must be 0..60000 ms, ordered p50 <= p99 <= max, over_budget <= frames",
        ));
    }
    Ok(PermanenceReport {
        budget_ms: parterre_core::MAX_BUDGET_MS as f64,
        frames: message.frames,
        mean_ms: message.mean_ms,
        p50_ms: message.p50_ms,
        p90_ms: message.p99_ms,
        p99_ms: message.p99_ms,
        max_ms: message.max_ms,
        over_budget: message.over_budget,
        dropped_captures: 0,
        ended: EndCounts::default(),
    })
}

/// One message from the server to every viewer's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A decision for the stage: a content card, a layout or an effect.
    Decision {
        /// Milliseconds since the webinar's server started.
        at_ms: u64,
        /// The rule or the host.
        origin: Origin,
        /// What to do.
        action: Action,
        /// The card, for a content action.
        card: Option<Card>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traits_json(inner: &str) -> String {
        format!(r#"{{"type":"traits","traits":{inner}}}"#)
    }

    #[test]
    fn each_class_of_bad_input_gets_its_own_rejection() {
        let ok = r#"{"v":1,"face_present":true,"motion":0.1,"attention":0.8}"#;
        let happy = r#"{"v":1,"face_present":true,"motion":0.1,"expression":{"neutral":0.5,"happy":0.5,"sad":0,"angry":0,"fearful":0,"disgusted":0,"surprised":0}}"#;
        let cases: [(String, TraitSet, Option<RejectClass>); 10] = [
            (traits_json(ok), TraitSet::ALL, None),
            (traits_json(happy), TraitSet::ALL, None),
            (traits_json(happy), TraitSet::WORKPLACE, Some(RejectClass::NotAllowed)),
            ("not json".into(), TraitSet::ALL, Some(RejectClass::Malformed)),
            (
                r#"{"type":"selfie"}"#.into(),
                TraitSet::ALL,
                Some(RejectClass::Malformed),
            ),
            (
                traits_json(r#"{"v":1,"face_present":false,"motion":0.1,"ip":"10.0.0.1"}"#),
                TraitSet::ALL,
                Some(RejectClass::UnknownField),
            ),
            (
                traits_json(r#"{"v":9,"face_present":false,"motion":0.1}"#),
                TraitSet::ALL,
                Some(RejectClass::WrongVersion),
            ),
            (
                traits_json(r#"{"v":1,"face_present":false,"motion":7}"#),
                TraitSet::ALL,
                Some(RejectClass::OutOfRange),
            ),
            (
                format!(r#"{{"type":"traits","traits":{ok},"name":"Ann"}}"#),
                TraitSet::ALL,
                Some(RejectClass::UnknownField),
            ),
            (
                traits_json(&format!(
                    r#"{{"v":1,"face_present":false,"motion":0.1{}}}"#,
                    " ".repeat(2_000)
                )),
                TraitSet::ALL,
                Some(RejectClass::TooLarge),
            ),
        ];
        for (text, set, expected) in cases {
            let got = decode(&text, set).err().map(|r| r.class);
            assert_eq!(got, expected, "{text:.80}");
        }
    }

    #[test]
    fn permanence_is_checked_and_converted() {
        let good = r#"{"type":"permanence","v":1,"frames":10,"mean_ms":20,"p50_ms":18,"p99_ms":40,"max_ms":41,"over_budget":0}"#;
        let Ok(Inbound::Permanence(report)) = decode(good, TraitSet::ALL) else {
            panic!("valid permanence refused");
        };
        assert_eq!((report.frames, report.p99_ms, report.max_ms), (10, 40.0, 41.0));
        let unordered = good.replace(r#""max_ms":41"#, r#""max_ms":30"#);
        let future = good.replace(r#""v":1"#, r#""v":2"#);
        let extra = good.replace(r#""v":1"#, r#""v":1,"device":"x""#);
        assert_eq!(
            decode(&unordered, TraitSet::ALL).err().map(|r| r.class),
            Some(RejectClass::OutOfRange)
        );
        assert_eq!(
            decode(&future, TraitSet::ALL).err().map(|r| r.class),
            Some(RejectClass::WrongVersion)
        );
        assert_eq!(
            decode(&extra, TraitSet::ALL).err().map(|r| r.class),
            Some(RejectClass::UnknownField)
        );
    }

    #[test]
    fn reasons_fit_a_close_frame_and_name_the_problem() {
        let long = Rejection::new(RejectClass::Malformed, "é".repeat(200));
        assert!(long.reason().len() <= MAX_REASON_BYTES);
        assert!(long.reason().starts_with("invalid message: é"));
        assert_eq!(Rejection::new(RejectClass::RateLimit, "").reason(), "rate limit");
        let version = decode(
            &traits_json(r#"{"v":2,"face_present":false,"motion":0.1}"#),
            TraitSet::ALL,
        );
        assert_eq!(
            version.err().map(|r| r.reason()),
            Some("invalid message: v is not a supported version".to_owned())
        );
    }

    #[test]
    fn decisions_serialize_with_their_type() {
        let message = ServerMessage::Decision {
            at_ms: 61_000,
            origin: Origin::Rule("happy-moment".into()),
            action: Action::Effect(parterre_aggregate::Effect::Applause),
            card: None,
        };
        let json = serde_json::to_string(&message).expect("serialize");
        assert_eq!(
            json,
            r#"{"type":"decision","at_ms":61000,"origin":{"rule":"happy-moment"},"action":{"effect":"applause"},"card":null}"#
        );
    }
}
