//! The CI-sized load test: 200 viewers, 2 messages a second each, 10 s, on
//! loopback. Every message must reach the panel; latency must stay bounded.
//! The full run (2 000 viewers, 60 s) is `parterre-server loadtest`.

use parterre_server::loadtest::{LoadOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_viewers_lose_nothing() {
    let report = run(LoadOptions {
        viewers: 200,
        seconds: 10,
        rate_hz: 2,
    })
    .await
    .expect("load test runs");
    assert_eq!(report.failed_viewers, 0, "{report:?}");
    assert_eq!(report.sent, 200 * 10 * 2, "{report:?}");
    assert_eq!(report.ingested, report.sent, "messages lost: {report:?}");
    assert_eq!(report.rejected, 0, "{report:?}");
    assert!(report.latency_p99_ms < 1_000.0, "{report:?}");
    assert!(report.latency_p50_ms <= report.latency_p99_ms, "{report:?}");
}
