//! The load test: a server on loopback, `viewers` simulated viewers sending
//! at `rate_hz` for `seconds`, and a panel client. It stops by itself and
//! reports whether every message arrived, the ingest-to-panel latency, the
//! memory per viewer and the CPU share.
//!
//! Latency is measured from outside: each traits message's send time, and
//! each panel frame's arrival time with the count of messages ingested so
//! far. With both in order, the n-th message sent is on the panel by the
//! first frame whose count reaches n (exact when messages are ingested in
//! the order sent; across connections the order can differ by a few
//! milliseconds). Memory and CPU are this process's, which holds the
//! clients too: the figures are an upper bound on the server's own.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use tokio::sync::{Mutex, watch};
use tokio_tungstenite::{connect_async, tungstenite::Message};

use crate::{
    ServerError,
    config::Config,
    server::start,
    simulate::{ViewerRun, run_viewer},
    webinar::Context,
};

/// How big a run.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Simulated viewers.
    pub viewers: u32,
    /// Seconds each viewer sends for.
    pub seconds: u32,
    /// Messages per second per viewer.
    pub rate_hz: u32,
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LoadReport {
    /// Traits messages the viewers sent.
    pub sent: u64,
    /// Of those, ingested by the server (as the panel last showed).
    pub ingested: u64,
    /// Messages the server refused.
    pub rejected: u64,
    /// Viewers whose connection failed.
    pub failed_viewers: u64,
    /// Median ingest-to-panel latency.
    pub latency_p50_ms: f64,
    /// 99th percentile.
    pub latency_p99_ms: f64,
    /// Worst.
    pub latency_max_ms: f64,
    /// Resident memory added per connected viewer (server and client).
    pub rss_per_viewer_kib: f64,
    /// CPU time over wall time while sending, in cores (1.0 = one core).
    pub cpu_cores: f64,
}

fn page_kib() -> f64 {
    // Linux pages are 4 KiB on every platform this runs on.
    4.0
}

/// Resident set size in KiB, from /proc/self/statm.
fn rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|n| n.parse::<f64>().ok()))
        .map_or(0.0, |pages| pages * page_kib())
}

/// User + system CPU seconds, from /proc/self/stat (clock ticks of 1/100 s).
fn cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start at ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// (arrival, messages ingested, messages refused) of each panel frame.
type Frames = Arc<Mutex<Vec<(Instant, u64, u64)>>>;

async fn watch_panel(url: String, frames: Frames, mut stop: watch::Receiver<bool>) -> Result<(), ServerError> {
    let (mut socket, _) = connect_async(url.as_str())
        .await
        .map_err(|e| ServerError::Client(e.to_string()))?;
    loop {
        tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let now = Instant::now();
                    let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    let refused = frame["rejected"].as_object().map_or(0, |by_class| {
                        by_class.values().filter_map(serde_json::Value::as_u64).sum()
                    });
                    if let Some(n) = frame["ingested_total"].as_u64() {
                        frames.lock().await.push((now, n, refused));
                    }
                }
                Some(Ok(_)) => {}
                _ => return Ok(()),
            },
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Latencies in ms: the n-th send against the first frame counting n.
fn latencies_ms(mut sent: Vec<Instant>, frames: &[(Instant, u64, u64)]) -> Vec<f64> {
    sent.sort_unstable();
    let mut latencies = Vec::with_capacity(sent.len());
    let mut frame = 0;
    for (i, at) in sent.iter().enumerate() {
        let n = i as u64 + 1;
        while frame < frames.len() && frames[frame].1 < n {
            frame += 1;
        }
        let Some((seen, _, _)) = frames.get(frame) else { break };
        latencies.push(seen.saturating_duration_since(*at).as_secs_f64() * 1_000.0);
    }
    latencies.sort_unstable_by(f64::total_cmp);
    latencies
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the load test on the current runtime.
pub async fn run(options: LoadOptions) -> Result<LoadReport, ServerError> {
    let mut config = Config::ephemeral(Context::General)?;
    // A load test measures ingest, not the limit: allow the test's rate.
    config.rate_per_s = config
        .rate_per_s
        .max(std::num::NonZeroU32::new(options.rate_hz).unwrap_or(config.rate_per_s));
    let server = start(config).await?;
    let (stop_tx, stop) = watch::channel(false);
    let frames: Frames = Arc::default();
    let panel_url = format!("ws://{}/panel/live?token={}", server.addr, server.token.as_str());
    let panel = tokio::spawn(watch_panel(panel_url, Arc::clone(&frames), stop.clone()));

    let rss_before = rss_kib();
    let cpu_before = cpu_s();
    let started = Instant::now();
    let url = format!("ws://{}/ws/viewer?webinar={}", server.addr, server.webinar.id);
    let per_viewer = u64::from(options.seconds) * u64::from(options.rate_hz);
    let period = Duration::from_secs_f64(1.0 / f64::from(options.rate_hz.max(1)));
    let mut tasks = Vec::with_capacity(options.viewers as usize);
    for seed in 0..u64::from(options.viewers) {
        let run = ViewerRun {
            url: url.clone(),
            context: Context::General,
            period,
            start_after: Duration::ZERO,
            messages: Some(per_viewer),
            record: true,
            seed,
            epoch: started,
        };
        tasks.push(tokio::spawn(run_viewer(run, stop.clone())));
        // Connect in waves so the listen backlog never overflows.
        if seed % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Memory with everyone connected and sending.
    tokio::time::sleep(Duration::from_secs(u64::from(options.seconds) / 2 + 1)).await;
    let rss_during = rss_kib();
    let mut sent = Vec::new();
    let mut failed_viewers = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(times)) => sent.extend(times),
            _ => failed_viewers += 1,
        }
    }
    let cpu_cores = (cpu_s() - cpu_before) / started.elapsed().as_secs_f64();
    let sent_total = sent.len() as u64;
    // Give the panel a moment to show the last messages.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && frames.lock().await.last().is_none_or(|(_, n, _)| *n < sent_total) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    let _ = panel.await;
    let frames = frames.lock().await.clone();
    let (ingested, rejected) = frames.last().map_or((0, 0), |(_, n, refused)| (*n, *refused));
    let latencies = latencies_ms(sent, &frames);
    server.shutdown().await?;
    Ok(LoadReport {
        sent: sent_total,
        ingested,
        rejected,
        failed_viewers,
        latency_p50_ms: quantile(&latencies, 0.5),
        latency_p99_ms: quantile(&latencies, 0.99),
        latency_max_ms: quantile(&latencies, 1.0),
        rss_per_viewer_kib: (rss_during - rss_before) / f64::from(options.viewers.max(1)),
        cpu_cores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_pairs_the_nth_send_with_the_first_frame_counting_n() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let sent = vec![ms(10), ms(0), ms(20)];
        let frames = [(ms(5), 1, 0), (ms(30), 2, 0), (ms(100), 3, 0)];
        assert_eq!(latencies_ms(sent, &frames), vec![5.0, 20.0, 80.0]);
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }

    #[test]
    fn cpu_and_memory_readings_follow_real_work() {
        // Busy work until the reading has grown by 0.2 s of CPU: on a shared
        // machine how long that takes varies, so only a generous wall-clock
        // limit is checked (a reading that never moves would hit it).
        let cpu_before = cpu_s();
        let spin = Instant::now();
        let mut x = 0u64;
        while cpu_s() - cpu_before < 0.2 && spin.elapsed() < Duration::from_secs(60) {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
        }
        assert!(cpu_s() - cpu_before >= 0.2, "{}", cpu_s() - cpu_before);
        let rss_before = rss_kib();
        let touched = vec![1u8; 64 << 20];
        let grown_kib = rss_kib() - rss_before;
        assert!(grown_kib > 60_000.0, "{grown_kib}");
        drop(std::hint::black_box(touched));
    }
}
