//! `parterre demo`: the frame pool on a synthetic camera, with the live
//! permanence report. The same runtime the camera command uses, with the
//! brightness probe standing in for the vision pipeline.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parterre_core::{Analyzer, Lease, Observation, PermanenceReport, PoolConfig};

use crate::error::NativeError;
use crate::probe::BrightnessProbe;
use crate::runtime::{Runtime, RuntimeConfig, RuntimeStats};
use crate::source::SyntheticCamera;

/// Options of `parterre demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// How long to run; Ctrl-C stops earlier.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Synthetic camera frame rate.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// Frame width in pixels.
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    /// Frame height in pixels.
    #[arg(long, default_value_t = 480)]
    pub height: u32,
    /// Permanence budget: no frame lives longer (1 to 300).
    #[arg(long, default_value_t = 300)]
    pub budget_ms: u64,
    /// Extra analysis time per frame, to watch the watchdog meet a slow analyzer.
    #[arg(long, default_value_t = 0)]
    pub work_ms: u64,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The probe, plus simulated work while the lease is held.
struct SlowProbe {
    probe: BrightnessProbe,
    work: Duration,
}

impl Analyzer for SlowProbe {
    type Error = parterre_core::CoreError;

    fn analyze(&mut self, lease: &Lease) -> Result<Observation, Self::Error> {
        let observation = self.probe.analyze(lease)?;
        thread::sleep(self.work);
        // Read once more at the end, as a later pipeline stage would: a frame
        // that expired meanwhile fails here.
        lease.read(|_| ())?;
        Ok(observation)
    }
}

/// Runs the demo until `seconds` pass or `stop` is set, writing to `out`.
pub fn run(args: &DemoArgs, stop: &AtomicBool, out: &mut dyn Write) -> Result<(), NativeError> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err(NativeError::InvalidArgument("--seconds must be positive".into()));
    }
    let camera = SyntheticCamera::new(args.width, args.height, args.fps, None)?;
    let config = RuntimeConfig {
        pool: PoolConfig {
            budget_ms: args.budget_ms,
            ..PoolConfig::default()
        },
        ..RuntimeConfig::default()
    };
    let analyzer = SlowProbe {
        probe: BrightnessProbe::default(),
        work: Duration::from_millis(args.work_ms),
    };
    let runtime = Runtime::start(camera, analyzer, config)?;
    let protection = runtime.pool().memory_protection();
    if args.json {
        writeln!(out, "{}", serde_json::json!({ "memory_protection": protection }))?;
    } else {
        writeln!(
            out,
            "parterre demo: synthetic camera {}x{} at {} fps, budget {} ms, {} slots",
            args.width,
            args.height,
            args.fps,
            args.budget_ms,
            runtime.pool().slots()
        )?;
        writeln!(
            out,
            "frame memory: locked in RAM {}, excluded from core dumps {}{}",
            yes_no(protection.locked_in_ram),
            yes_no(protection.excluded_from_core_dumps),
            protection.note.map(|note| format!(" ({note})")).unwrap_or_default()
        )?;
    }

    let started = Instant::now();
    let deadline = Duration::from_secs_f64(args.seconds);
    let mut next_print = Duration::from_secs(1);
    while !stop.load(Ordering::SeqCst) && started.elapsed() < deadline && !runtime.is_finished() {
        thread::sleep(Duration::from_millis(20));
        if started.elapsed() >= next_print {
            print_line(
                out,
                args.json,
                started.elapsed(),
                &runtime.stats(),
                &runtime.pool().report(),
            )?;
            next_print += Duration::from_secs(1);
        }
    }
    let summary = runtime.stop()?;
    if let Some(failure) = &summary.stats.failure {
        return Err(NativeError::Runtime(failure.clone()));
    }
    let verdict = if summary.audit.residue_bytes == 0 && summary.audit.frames_held == 0 {
        "all frame memory is zero"
    } else {
        "FRAME MEMORY NOT WIPED"
    };
    if args.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "final": summary.report,
                "residue_bytes": summary.audit.residue_bytes,
            })
        )?;
    } else {
        let report = &summary.report;
        writeln!(
            out,
            "stopped after {:.1} s: {} frames captured, {} analyzed, {} dropped; they lived {:.2} ms on average \
             (p50 {:.2}, p99 {:.2}, max {:.2}), {} over the {} ms budget; {verdict}",
            started.elapsed().as_secs_f64(),
            summary.stats.captured,
            summary.stats.analyzed,
            summary.stats.dropped,
            report.mean_ms,
            report.p50_ms,
            report.p99_ms,
            report.max_ms,
            report.over_budget,
            report.budget_ms
        )?;
    }
    if summary.audit.residue_bytes != 0 {
        return Err(NativeError::Runtime(format!(
            "{} bytes of frame memory were not wiped",
            summary.audit.residue_bytes
        )));
    }
    Ok(())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn print_line(
    out: &mut dyn Write,
    json: bool,
    elapsed: Duration,
    stats: &RuntimeStats,
    report: &PermanenceReport,
) -> Result<(), NativeError> {
    if json {
        let line = serde_json::json!({
            "t_s": elapsed.as_secs_f64(),
            "captured": stats.captured,
            "dropped": stats.dropped,
            "analyzed": stats.analyzed,
            "expired": stats.expired,
            "traits": stats.last_traits,
            "permanence": report,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "{:>5.1} s  captured {:>5}  analyzed {:>5}  expired {:>3}  | permanence p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  over budget {}",
            elapsed.as_secs_f64(),
            stats.captured,
            stats.analyzed,
            stats.expired,
            report.p50_ms,
            report.p99_ms,
            report.max_ms,
            report.over_budget
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(work_ms: u64, budget_ms: u64, json: bool) -> DemoArgs {
        DemoArgs {
            seconds: 1.2,
            fps: 60.0,
            width: 160,
            height: 120,
            budget_ms,
            work_ms,
            json,
        }
    }

    #[test]
    fn demo_prints_live_lines_and_a_clean_verdict() {
        let mut out = Vec::new();
        run(&args(0, 300, false), &AtomicBool::new(false), &mut out).expect("demo");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("permanence p50"), "{text}");
        assert!(text.contains("all frame memory is zero"), "{text}");
    }

    #[test]
    fn a_slow_analyzer_meets_the_watchdog_and_the_json_says_so() {
        let mut out = Vec::new();
        run(&args(40, 20, true), &AtomicBool::new(false), &mut out).expect("demo");
        let text = String::from_utf8(out).expect("utf-8");
        let last: serde_json::Value = serde_json::from_str(text.lines().last().expect("lines")).expect("json");
        assert_eq!(last["residue_bytes"], 0);
        assert!(last["final"]["ended"]["expired"].as_u64().expect("count") > 0, "{text}");
        let live: serde_json::Value = serde_json::from_str(text.lines().nth(1).expect("a live line")).expect("json");
        assert!(live["expired"].as_u64().expect("count") > 0, "{text}");
    }

    #[test]
    fn a_stop_request_ends_the_demo_at_once() {
        let mut out = Vec::new();
        let started = Instant::now();
        run(
            &DemoArgs {
                seconds: 60.0,
                ..args(0, 300, false)
            },
            &AtomicBool::new(true),
            &mut out,
        )
        .expect("demo");
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let mut out = Vec::new();
        let error = run(
            &DemoArgs {
                budget_ms: 500,
                ..args(0, 300, false)
            },
            &AtomicBool::new(false),
            &mut out,
        )
        .expect_err("refused");
        assert!(error.to_string().contains("budget_ms"), "{error}");
    }
}
