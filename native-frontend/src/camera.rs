//! `parterre camera`: the live analysis in the terminal. A camera (or any
//! source `open_source` reads, so a video file can stand in for one) feeds
//! the threaded runtime; once a second one line shows the faces, the traits
//! that would be sent, analyses per second, the frame permanence (p50, p99,
//! max) and the compute governor's choices. Ctrl-C stops it and wipes
//! everything.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parterre_core::AnonymousTraits;
use parterre_vision::governor::GovernorConfig;

use crate::error::NativeError;
use crate::options::AnalyzerOptions;
use crate::runtime::{Runtime, RuntimeConfig, RuntimeSummary};
use crate::source::open_source;

/// Options of `parterre camera`.
#[derive(Debug, Clone, clap::Args)]
pub struct CameraArgs {
    /// The camera, or any source `parterre analyze` reads (a video file
    /// stands in for a camera).
    #[arg(long, default_value = "/dev/video0", value_name = "DEVICE")]
    pub device: String,
    /// Share of one core the analysis may use, in percent (200 = both cores of two).
    #[arg(long, value_name = "PERCENT", default_value_t = 50.0)]
    pub cpu_percent: f64,
    /// Analyses per second worth having.
    #[arg(long, value_name = "FPS", default_value_t = 15.0)]
    pub target_fps: f64,
    /// Stop after this many seconds [default: until Ctrl-C or the source ends].
    #[arg(long)]
    pub seconds: Option<f64>,
    /// The vision chain.
    #[command(flatten)]
    pub analyzer: AnalyzerOptions,
}

/// Runs the live view until Ctrl-C (`stop`), the time limit or the end of
/// the source, writing one status line a second to `out`.
pub fn run(args: &CameraArgs, stop: &AtomicBool, out: &mut impl Write) -> Result<RuntimeSummary, NativeError> {
    let source = open_source(&args.device)?;
    let mut config = args.analyzer.config()?;
    config.governor = Some(GovernorConfig {
        cpu_share: args.cpu_percent / 100.0,
        target_fps: args.target_fps,
        ..GovernorConfig::default()
    });
    config.validate()?;
    let runtime_config = RuntimeConfig {
        pool: args.analyzer.pool_config(source.max_layout())?,
        traits: config.traits,
        ..RuntimeConfig::default()
    };
    writeln!(
        out,
        "parterre camera: {} at {:.0} fps, budget {} ms, CPU {}% of a core; Ctrl-C to stop",
        source.name(),
        source.fps(),
        runtime_config.pool.budget_ms,
        args.cpu_percent
    )?;
    let options = args.analyzer.clone();
    let runtime = Runtime::start_pipelined(source, |pool| options.analyzer(config, pool), runtime_config)?;
    let started = Instant::now();
    let limit = args.seconds.map(Duration::from_secs_f64);
    let mut last_analyzed = 0;
    let mut next_line = Duration::from_secs(1);
    while !stop.load(Ordering::SeqCst) && !runtime.is_finished() && limit.is_none_or(|limit| started.elapsed() < limit)
    {
        thread::sleep(Duration::from_millis(50));
        if started.elapsed() < next_line {
            continue;
        }
        next_line += Duration::from_secs(1);
        let stats = runtime.stats();
        let report = runtime.pool().report();
        writeln!(
            out,
            "{:5.1} s  {:>2} faces  {:4.1} fps  | {} | permanence p50 {:.1} p99 {:.1} max {:.1} ms | {}",
            started.elapsed().as_secs_f64(),
            stats.last_faces,
            (stats.analyzed - last_analyzed) as f64,
            stats
                .last_traits
                .as_ref()
                .map_or_else(|| "no traits yet".to_owned(), describe),
            report.p50_ms,
            report.p99_ms,
            report.max_ms,
            stats.settings.as_deref().unwrap_or("")
        )?;
        last_analyzed = stats.analyzed;
    }
    let summary = runtime.stop()?;
    let (stats, report) = (&summary.stats, &summary.report);
    writeln!(
        out,
        "stopped after {:.1} s: {} frames captured, {} analyzed, {} unchanged and skipped, {} dropped; \
         permanence p50 {:.1}, p99 {:.1}, max {:.1} ms, {} over the budget; frame memory zero: {}",
        started.elapsed().as_secs_f64(),
        stats.captured,
        stats.analyzed,
        stats.skipped,
        stats.dropped,
        report.p50_ms,
        report.p99_ms,
        report.max_ms,
        report.over_budget,
        if summary.audit.residue_bytes == 0 && summary.audit.frames_held == 0 {
            "yes"
        } else {
            "NO"
        }
    )?;
    if let Some(failure) = &stats.failure {
        return Err(NativeError::Runtime(failure.clone()));
    }
    Ok(summary)
}

/// The traits that would be sent, briefly.
fn describe(traits: &AnonymousTraits) -> String {
    if !traits.face_present {
        return format!("no face, motion {:.2}", traits.motion);
    }
    let mut parts = vec![format!("motion {:.2}", traits.motion)];
    if let Some(attention) = traits.attention {
        parts.push(format!("attention {attention:.2}"));
    }
    if let Some(expression) = traits.expression {
        let p = expression.probabilities();
        let (top, share) = p
            .iter()
            .enumerate()
            .fold((0, 0.0), |best, (i, &v)| if v > best.1 { (i, v) } else { best });
        parts.push(format!(
            "{} {share:.2}",
            parterre_core::traits::Expression::CLASSES[top]
        ));
    }
    if let Some(age) = traits.age_years {
        parts.push(format!("age {age:.0}"));
    }
    if let Some(pose) = traits.head_pose {
        parts.push(format!("yaw {:.0}° pitch {:.0}°", pose.yaw_deg, pose.pitch_deg));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_stands_in_for_the_camera_and_everything_is_wiped() {
        let video = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny420.y4m");
        let args = CameraArgs {
            device: video.to_owned(),
            cpu_percent: 100.0,
            target_fps: 30.0,
            seconds: Some(20.0),
            analyzer: AnalyzerOptions::default(),
        };
        let mut out = Vec::new();
        let summary = run(&args, &AtomicBool::new(false), &mut out).expect("camera");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("parterre camera: "), "{text}");
        assert!(text.contains("frame memory zero: yes"), "{text}");
        assert_eq!((summary.audit.frames_held, summary.audit.residue_bytes), (0, 0));
        assert!(
            summary.stats.captured > 0 && summary.stats.analyzed > 0,
            "{:?}",
            summary.stats
        );
        assert_eq!(summary.report.over_budget, 0);
        let thumbnails = summary.stats.derived_report.expect("thumbnail report");
        assert_eq!(thumbnails.over_budget, 0, "{thumbnails:?}");
    }

    #[test]
    fn a_missing_camera_is_a_clear_error() {
        let args = CameraArgs {
            device: "/dev/video99".to_owned(),
            cpu_percent: 50.0,
            target_fps: 15.0,
            seconds: Some(1.0),
            analyzer: AnalyzerOptions::default(),
        };
        let error = run(&args, &AtomicBool::new(false), &mut Vec::new()).expect_err("no camera");
        assert!(error.to_string().contains("/dev/video99"), "{error}");
    }
}
