//! Viewers' traits reach the panel only as k-anonymous aggregates, and
//! decisions reach the viewers.

mod common;

use common::*;
use futures_util::StreamExt;
use parterre_server::webinar::Context;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn traits_show_up_on_the_panel_once_k_viewers_send_them() {
    let server = server(Context::General).await;
    let mut panel = panel(&server).await;
    let mut viewers = Vec::new();
    // Four viewers: below k = 5.
    for _ in 0..4 {
        let mut socket = viewer(&server).await;
        send(&mut socket, &traits(0.5, 30.0)).await;
        viewers.push(socket);
    }
    let below = frame_where(&mut panel, |f| f["ten_seconds"]["viewers"] == 4).await;
    assert!(below["ten_seconds"]["attention"].is_null(), "{below}");
    assert!(below["minute"]["glasses_share"].is_null());
    assert!(
        below["minute"]["age_shares"]
            .as_array()
            .expect("ages")
            .iter()
            .all(|a| a.is_null())
    );
    // The fifth viewer, with attention 1.0: the mean is (4·0.5 + 1) / 5 = 0.6.
    let mut fifth = viewer(&server).await;
    send(&mut fifth, &traits(1.0, 30.0)).await;
    let at_k = frame_where(&mut panel, |f| f["ten_seconds"]["viewers"] == 5).await;
    let mean = at_k["ten_seconds"]["attention"]["mean"].as_f64().expect("shown at k");
    assert!((mean - 0.6).abs() < 1e-6, "{mean}");
    // Every age is 30: the 25–34 bucket holds them all, the rest stay hidden.
    let ages = at_k["minute"]["age_shares"].as_array().expect("ages").clone();
    assert_eq!(ages[2]["estimate"], 1.0);
    assert!(ages.iter().enumerate().all(|(i, a)| i == 2 || a.is_null()));
    // Glasses: all 5 on one side, none on the other: still hidden.
    assert!(at_k["minute"]["glasses_share"].is_null());
    assert_eq!(at_k["ingested_total"], 5);
    // The chart history (one point a second) shows the same, for a panel
    // opened late.
    let auth = format!("Bearer {}", server.token.as_str());
    let mut last = serde_json::Value::Null;
    for _ in 0..30 {
        let (status, body) = http(&server, "GET", "/panel/history", &[("Authorization", &auth)], "").await;
        assert_eq!(status, 200);
        let points: Vec<serde_json::Value> = serde_json::from_str(&body).expect("JSON");
        last = points.last().cloned().unwrap_or_default();
        if last["viewers"] == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["viewers"], 5, "{last}");
    assert!((last["attention"]["estimate"].as_f64().expect("shown") - 0.6).abs() < 1e-6);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_host_override_is_pushed_to_every_viewer() {
    let server = server(Context::General).await;
    let mut a = viewer(&server).await;
    let mut b = viewer(&server).await;
    let auth = format!("Bearer {}", server.token.as_str());
    let (status, body) = http(
        &server,
        "POST",
        "/panel/override",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        r#"{"pin":{"action":{"content":"faq"},"for_s":30}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for socket in [&mut a, &mut b] {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a decision within 5 s");
        let Some(Ok(Message::Text(text))) = message else {
            panic!("not a text message: {message:?}");
        };
        let decision: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
        assert_eq!(decision["type"], "decision");
        assert_eq!(decision["origin"], "host");
        assert_eq!(decision["action"]["content"], "faq");
        assert_eq!(decision["card"]["kind"], "faq");
    }
    // A block of a rule the policy does not have is refused.
    let (status, _) = http(
        &server,
        "POST",
        "/panel/override",
        &[("Authorization", &auth)],
        r#"{"block":{"rule":"no-such-rule","for_s":30}}"#,
    )
    .await;
    assert_eq!(status, 400);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_simulated_audience_fills_the_panel_through_the_real_ingest_path() {
    let mut config = parterre_server::config::Config::ephemeral(Context::Workplace).expect("config");
    config.simulate = 10;
    let server = parterre_server::server::start(config).await.expect("server");
    let mut panel = panel(&server).await;
    // The simulated viewers connect at once and start sending over 10 s.
    let frame = frame_where(&mut panel, |f| {
        f["connected"] == 10
            && f["ten_seconds"]["viewers"].as_u64() >= Some(5)
            && !f["ten_seconds"]["attention"].is_null()
    })
    .await;
    // At least k = 5 viewers with a face: attention is shown, near the
    // script's 0.85 at the start; a workplace audience sends no expression.
    let attention = frame["ten_seconds"]["attention"]["mean"].as_f64().expect("shown");
    assert!((attention - 0.85).abs() < 0.15, "{attention}");
    assert!(frame["ten_seconds"]["expression"].is_null());
    assert_eq!(frame["rejected"]["not_allowed"], 0);
    server.shutdown().await.expect("shutdown");
}
