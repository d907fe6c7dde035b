//! What a viewer sends a Web Parterre server, as it travels: one JSON object
//! per WebSocket text message.
//!
//! ```json
//! {"type":"traits","traits":{"v":1,"face_present":true,"motion":0.1,"attention":0.8}}
//! {"type":"permanence","v":1,"frames":120,"mean_ms":31.0,"p50_ms":30.0,"p99_ms":80.0,"max_ms":120.0,"over_budget":0}
//! ```
//!
//! It lives in core, beside the traits it carries, because both ends speak it:
//! the server decodes it, and every viewer (the browser worker, the native
//! `parterre join`) encodes it. The server keeps the checks on top (sizes,
//! rates, ranges, close codes). Only anonymous numbers fit in these types.

use serde::{Deserialize, Serialize};

use crate::telemetry::PermanenceReport;
use crate::traits::AnonymousTraits;

/// The permanence message version this build speaks.
pub const PERMANENCE_VERSION: u16 = 1;

/// One message from a viewer, as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ViewerMessage {
    /// The viewer's anonymous traits at one moment.
    Traits {
        /// The traits.
        traits: AnonymousTraits,
    },
    /// The viewer's frame permanence so far.
    Permanence(PermanenceMessage),
}

/// A viewer's permanence report on the wire: durations and counts only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermanenceMessage {
    /// [`PERMANENCE_VERSION`].
    pub v: u16,
    /// Frames whose life has ended.
    pub frames: u64,
    /// Mean frame life.
    pub mean_ms: f64,
    /// Median frame life.
    pub p50_ms: f64,
    /// 99th percentile of frame life.
    pub p99_ms: f64,
    /// Longest frame life.
    pub max_ms: f64,
    /// Frames that outlived the budget.
    pub over_budget: u64,
}

impl PermanenceMessage {
    /// The wire form of a pool's report. The wire carries fewer figures than
    /// the report (no p90, budget or end counts): the panel's privacy box
    /// needs no more.
    pub fn from_report(report: &PermanenceReport) -> Self {
        Self {
            v: PERMANENCE_VERSION,
            frames: report.frames,
            mean_ms: report.mean_ms,
            p50_ms: report.p50_ms,
            p99_ms: report.p99_ms,
            max_ms: report.max_ms,
            over_budget: report.over_budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::EndCounts;

    #[test]
    fn a_report_travels_as_its_anonymous_figures() {
        let report = PermanenceReport {
            budget_ms: 300.0,
            frames: 12,
            mean_ms: 21.5,
            p50_ms: 20.0,
            p90_ms: 33.0,
            p99_ms: 40.0,
            max_ms: 41.0,
            over_budget: 1,
            dropped_captures: 7,
            ended: EndCounts::default(),
        };
        let json = serde_json::to_string(&ViewerMessage::Permanence(PermanenceMessage::from_report(&report)))
            .expect("serialize");
        assert_eq!(
            json,
            r#"{"type":"permanence","v":1,"frames":12,"mean_ms":21.5,"p50_ms":20.0,"p99_ms":40.0,"max_ms":41.0,"over_budget":1}"#
        );
    }

    #[test]
    fn traits_messages_round_trip_and_strangers_are_refused() {
        let text = r#"{"type":"traits","traits":{"v":1,"face_present":true,"motion":0.1,"attention":0.8}}"#;
        let message: ViewerMessage = serde_json::from_str(text).expect("valid message");
        let ViewerMessage::Traits { traits } = &message else {
            panic!("not traits: {message:?}");
        };
        assert_eq!((traits.face_present, traits.attention), (true, Some(0.8)));
        assert_eq!(serde_json::to_string(&message).expect("serialize"), text);
        // Negative controls: an extra field in the envelope, an unknown type.
        let extra = text.replace(r#""type":"traits","#, r#""type":"traits","name":"Ann","#);
        assert!(serde_json::from_str::<ViewerMessage>(&extra).is_err());
        assert!(serde_json::from_str::<ViewerMessage>(r#"{"type":"selfie"}"#).is_err());
    }
}
