//! Only the host token opens the panel; viewers reach nothing but their own
//! WebSocket.

mod common;

use common::*;
use parterre_server::webinar::Context;
use tokio_tungstenite::{connect_async, tungstenite::Error};

#[tokio::test]
async fn the_panel_needs_the_exact_host_token() {
    let server = server(Context::General).await;
    let token = server.token.as_str().to_owned();
    let wrong = format!("{}x", &token[..token.len() - 1]);
    for path in ["/panel", "/panel/export.csv", "/panel/history"] {
        assert_eq!(
            http(&server, "GET", path, &[], "").await.0,
            401,
            "{path} without a token"
        );
        let query = format!("{path}?token={wrong}");
        assert_eq!(
            http(&server, "GET", &query, &[], "").await.0,
            401,
            "{path} with a wrong token"
        );
        let bearer = format!("Bearer {wrong}");
        assert_eq!(
            http(&server, "GET", path, &[("Authorization", &bearer)], "").await.0,
            401
        );
        // Negative control: the right token opens it, in the query or the header.
        let query = format!("{path}?token={token}");
        assert_eq!(
            http(&server, "GET", &query, &[], "").await.0,
            200,
            "{path} with the token"
        );
        let bearer = format!("Bearer {token}");
        assert_eq!(
            http(&server, "GET", path, &[("Authorization", &bearer)], "").await.0,
            200
        );
    }
    let (status, _) = http(
        &server,
        "POST",
        "/panel/override",
        &[],
        r#"{"block":{"rule":"x","for_s":1}}"#,
    )
    .await;
    assert_eq!(status, 401);
    let (_, page) = http(&server, "GET", &format!("/panel?token={token}"), &[], "").await;
    for id in [
        "audience-chart",
        "attention-chart",
        "expression-chart",
        "demographics",
        "decision-log",
        "override-form",
        "privacy-box",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "the panel lacks #{id}");
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_viewer_cannot_open_the_live_panel_feed() {
    let server = server(Context::General).await;
    for url in [
        format!("ws://{}/panel/live", server.addr),
        format!("ws://{}/panel/live?token=guess", server.addr),
        format!("ws://{}/panel/live?webinar={}", server.addr, server.webinar.id),
    ] {
        match connect_async(url.as_str()).await {
            Err(Error::Http(response)) => assert_eq!(response.status(), 401, "{url}"),
            other => panic!("{url}: expected a 401, got {:?}", other.map(|_| "a connection")),
        }
    }
    // A wrong webinar id is not found.
    match connect_async(format!("ws://{}/ws/viewer?webinar=0000", server.addr)).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404, got {:?}", other.map(|_| "a connection")),
    }
    // Negative control: the token opens the feed.
    let _panel = panel(&server).await;
    server.shutdown().await.expect("shutdown");
}
