//! Each class of bad input closes its own connection with a clear code and
//! reason, and a well-behaved viewer on another connection keeps being
//! served and counted throughout.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use parterre_server::webinar::Context;
use tokio_tungstenite::tungstenite::Message;

const GOOD_MESSAGES: u64 = 12;

/// (name, messages to send, expected close code, expected reason prefix).
fn cases() -> Vec<(&'static str, Vec<Message>, u16, &'static str)> {
    let text = |s: &str| Message::Text(s.to_owned().into());
    let padded = |n: usize| {
        text(&format!(
            r#"{{"type":"traits","traits":{{"v":1,"face_present":false,"motion":0.1}}{}}}"#,
            " ".repeat(n)
        ))
    };
    vec![
        (
            "over the WebSocket limit",
            vec![padded(10_000)],
            1009,
            "invalid message: over the 4096-byte",
        ),
        (
            "over the protocol limit",
            vec![padded(2_000)],
            1009,
            "invalid message: 2",
        ),
        ("not JSON", vec![text("hello")], 1007, "invalid message: expected value"),
        (
            "unknown field",
            vec![text(
                r#"{"type":"traits","traits":{"v":1,"face_present":false,"motion":0.1,"ip":"10.1.2.3"}}"#,
            )],
            1007,
            "invalid message: unknown field `ip`",
        ),
        (
            "out of range",
            vec![text(
                r#"{"type":"traits","traits":{"v":1,"face_present":false,"motion":3}}"#,
            )],
            1007,
            "invalid message: motion must be a number from 0 to 1",
        ),
        (
            "wrong version",
            vec![text(
                r#"{"type":"traits","traits":{"v":7,"face_present":false,"motion":0.1}}"#,
            )],
            1007,
            "invalid message: v is not a supported version",
        ),
        (
            "binary",
            vec![Message::Binary(vec![1u8, 2, 3].into())],
            1003,
            "invalid message: binary",
        ),
        (
            "flood",
            (0..200).map(|_| text(&traits(0.5, 40.0))).collect(),
            1008,
            "rate limit",
        ),
    ]
}

#[tokio::test]
async fn each_bad_input_gets_its_rejection_and_others_are_unaffected() {
    let server = server(Context::General).await;
    let mut panel = panel(&server).await;
    let mut good = viewer(&server).await;
    let mut sent_good = 0;
    let mut flood_accepted_at_most = 0;
    for (name, messages, code, reason) in cases() {
        // The good viewer sends before and after every attack.
        send(&mut good, &traits(0.8, 30.0)).await;
        sent_good += 1;
        let mut bad = viewer(&server).await;
        let count = messages.len() as u64;
        for message in messages {
            // The server may close mid-flood: later sends may fail.
            if bad.send(message).await.is_err() {
                break;
            }
        }
        if name == "flood" {
            flood_accepted_at_most = count;
        }
        let frame = close_frame(&mut bad)
            .await
            .unwrap_or_else(|| panic!("{name}: no close frame"));
        assert_eq!(u16::from(frame.code), code, "{name}: {frame:?}");
        assert!(
            frame.reason.as_str().starts_with(reason),
            "{name}: {:?}",
            frame.reason.as_str()
        );
        send(&mut good, &traits(0.8, 30.0)).await;
        sent_good += 1;
    }
    while sent_good < GOOD_MESSAGES + 16 {
        send(&mut good, &traits(0.8, 30.0)).await;
        sent_good += 1;
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    // Every one of the good viewer's messages was counted, plus the
    // flood's first burst (20 and what refilled meanwhile), nothing else.
    let frame = frame_where(&mut panel, |f| f["ingested_total"].as_u64() >= Some(sent_good + 20)).await;
    let ingested = frame["ingested_total"].as_u64().expect("count");
    assert!(
        ingested <= sent_good + 25 && ingested < sent_good + flood_accepted_at_most,
        "{ingested}"
    );
    let rejected = &frame["rejected"];
    for class in [
        "too_large",
        "malformed",
        "unknown_field",
        "out_of_range",
        "wrong_version",
        "binary",
        "rate_limit",
    ] {
        let expected = if class == "too_large" { 2 } else { 1 };
        assert_eq!(rejected[class], expected, "{class}: {rejected}");
    }
    // The good viewer is still connected and served: its next message counts.
    send(&mut good, &traits(0.8, 30.0)).await;
    frame_where(&mut panel, |f| f["ingested_total"].as_u64() == Some(ingested + 1)).await;
    assert_eq!(frame["connected"], 1);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_workplace_refuses_expression_and_takes_the_rest() {
    let server = server(Context::Workplace).await;
    let mut panel = panel(&server).await;
    let expression = r#"{"type":"traits","traits":{"v":1,"face_present":true,"motion":0.1,"expression":{"neutral":0.5,"happy":0.5,"sad":0,"angry":0,"fearful":0,"disgusted":0,"surprised":0}}}"#;
    let mut socket = viewer(&server).await;
    send(&mut socket, expression).await;
    let frame = close_frame(&mut socket).await.expect("closed");
    assert_eq!(u16::from(frame.code), 1008);
    assert_eq!(
        frame.reason.as_str(),
        "invalid message: expression is disabled for this webinar"
    );
    // Negative control: the same viewer's traits without expression pass.
    let mut plain = viewer(&server).await;
    send(&mut plain, &traits(0.7, 30.0)).await;
    let seen = frame_where(&mut panel, |f| f["ingested_total"] == 1).await;
    assert_eq!(seen["webinar"]["context"], "workplace");
    assert_eq!(seen["rejected"]["not_allowed"], 1);
    // And a general webinar takes the expression message.
    let general = common::server(Context::General).await;
    let mut panel = common::panel(&general).await;
    let mut socket = viewer(&general).await;
    send(&mut socket, expression).await;
    frame_where(&mut panel, |f| f["ingested_total"] == 1).await;
    server.shutdown().await.expect("shutdown");
    general.shutdown().await.expect("shutdown");
}
