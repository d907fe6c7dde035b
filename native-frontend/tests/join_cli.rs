//! `parterre join`, against a tiny WebSocket server inside the test (the
//! native frontend may not depend on the real server crate): every message
//! must decode as core's `ViewerMessage` and its traits pass core's checks;
//! the traits stay under 2 a second; the server's messages are printed; an
//! unreachable server is a clear error.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parterre_core::TraitSet;
use parterre_core::wire::{PERMANENCE_VERSION, ViewerMessage};
use tungstenite::Message;

const DECISION: &str =
    r#"{"type":"decision","at_ms":1000,"origin":{"rule":"test"},"action":{"effect":"applause"},"card":null}"#;

/// A one-connection viewer endpoint: answers the first message with a
/// decision and returns every text message received.
fn viewer_endpoint() -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "ws://{}/ws/viewer?webinar=test",
        listener.local_addr().expect("address")
    );
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a viewer connects");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let mut socket = tungstenite::accept(stream).expect("handshake");
        let mut texts = Vec::new();
        loop {
            match socket.read() {
                Ok(Message::Text(text)) => {
                    if texts.is_empty() {
                        socket.send(Message::text(DECISION)).expect("send the decision");
                    }
                    texts.push(text.as_str().to_owned());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        texts
    });
    (url, server)
}

fn join(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parterre"))
        .args(["join", url])
        .args(args)
        .output()
        .expect("the parterre binary runs")
}

/// Decodes every message, checking traits against `enabled`: (traits, permanence) counts.
fn check(texts: &[String], enabled: TraitSet) -> (usize, usize) {
    let (mut traits_count, mut permanence_count) = (0, 0);
    for text in texts {
        match serde_json::from_str::<ViewerMessage>(text).unwrap_or_else(|e| panic!("{e}: {text}")) {
            ViewerMessage::Traits { traits } => {
                traits.validate(enabled).unwrap_or_else(|e| panic!("{e}: {text}"));
                traits_count += 1;
            }
            ViewerMessage::Permanence(report) => {
                assert_eq!(report.v, PERMANENCE_VERSION);
                assert!(report.frames > 0 && report.max_ms <= 300.0, "{text}");
                permanence_count += 1;
            }
        }
    }
    (traits_count, permanence_count)
}

#[test]
fn join_sends_valid_traits_at_most_twice_a_second() {
    let (url, server) = viewer_endpoint();
    let output = join(&url, &["--source", "synthetic", "--seconds", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let texts = server.join().expect("server");
    let (traits, permanence) = check(&texts, TraitSet::ALL);
    // 2 s at one message per 500 ms: 4, plus one at the start, at the most.
    assert!((1..=5).contains(&traits), "{traits} traits messages: {texts:?}");
    assert!(permanence >= 1, "the final permanence report: {texts:?}");
    assert!(stderr.contains(DECISION), "the decision is printed: {stderr}");
}

/// The messages of `join` on the one-face crop of sample2 (see
/// analyze_cli.rs) under `preset`, from a run whose frame was analyzed: a
/// busy machine may spend the budget, then no traits are sent, and the run
/// is tried again.
fn join_picture(preset: &str, enabled: TraitSet) -> Vec<String> {
    let picture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face_crop.png");
    let picture = picture.display().to_string();
    for attempt in 0..4 {
        thread::sleep(Duration::from_secs(attempt));
        let (url, server) = viewer_endpoint();
        let output = join(&url, &["--source", &picture, "--preset", preset]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let texts = server.join().expect("server");
        // Validated against the preset's set: a forbidden trait is refused.
        let (traits, permanence) = check(&texts, enabled);
        assert!(traits <= 1 && permanence >= 1, "one picture, one frame: {texts:?}");
        if traits == 1 {
            return texts;
        }
    }
    panic!("the picture was never analyzed within the budget");
}

#[test]
fn a_workplace_viewer_sends_no_expression() {
    let texts = join_picture("workplace", TraitSet::WORKPLACE);
    assert!(texts.iter().all(|text| !text.contains("expression")), "{texts:?}");
    assert!(texts[0].contains(r#""face_present":true"#), "{}", texts[0]);
    // Negative control: the general preset sends it.
    let general = join_picture("general", TraitSet::ALL);
    assert!(general[0].contains(r#""expression":{"#), "{}", general[0]);
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}/ws/viewer?webinar=test");
    let output = join(&url, &["--source", "synthetic", "--seconds", "1"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&url) && stderr.contains("cannot connect") && stderr.contains("is the server running"),
        "{stderr}"
    );
}
