//! `parterre bench`: what the analysis costs on this machine, on the test
//! videos (`cargo xtask fixtures`) at 640x480 and 1280x720.
//!
//! 1. Per stage, one frame after another on one analysis thread: the median
//!    and p99 of each stage's time, from the analyzer's own stage timings.
//! 2. The real-time runtime (a capture thread, the analyzer's two halves on two
//!    analysis threads, or with `--analysis-threads 1` the whole chain on one;
//!    the compute governor allowed both cores) on the same video, looped, at
//!    its own 30 fps or at `--fps`: frames analyzed per second, the
//!    governor's settings, and the permanence report.
//! 3. The zeroizing allocator's cost: the bytes it wiped per analyzed frame,
//!    times the wipe speed measured in the same run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parterre_core::{Analyzer, FrameLayout, FramePool, MonotonicClock};
use parterre_vision::governor::GovernorConfig;

use crate::error::NativeError;
use crate::options::AnalyzerOptions;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::source::{FrameSource, open_source};
use parterre_core::zeroizing_alloc;

/// Options of `parterre bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Directory of the test videos (`cargo xtask fixtures` writes them).
    #[arg(long, default_value = "fixtures-video", value_name = "DIR")]
    pub videos: PathBuf,
    /// Scene to run (pan, zoom, enter_leave, still).
    #[arg(long, default_value = "pan")]
    pub scene: String,
    /// Length of each real-time run: the video is looped this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub seconds: f64,
    /// Rate the real-time runs play the video at, as a camera of that rate
    /// would deliver it [default: the video's own].
    #[arg(long, value_name = "FPS")]
    pub fps: Option<f64>,
    /// Analysis threads of the real-time runs: 2 runs the analyzer's two
    /// halves one frame apart, 1 the whole chain on one thread.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub analysis_threads: u8,
    /// The vision chain.
    #[command(flatten)]
    pub analyzer: AnalyzerOptions,
}

/// The sizes benchmarked.
const SIZES: [&str; 2] = ["640x480", "1280x720"];

/// Runs the three measurements and prints them as Markdown tables.
/// `wiped_bytes` reads the zeroizing global allocator's counter, when the
/// binary installs one.
pub fn run(
    args: &BenchArgs,
    stop: &AtomicBool,
    out: &mut impl Write,
    wiped_bytes: Option<fn() -> u64>,
) -> Result<(), NativeError> {
    let mut stages: BTreeMap<String, Vec<Vec<u64>>> = BTreeMap::new();
    let mut totals = Vec::new();
    let mut live = Vec::new();
    for (column, size) in SIZES.iter().enumerate() {
        let path = args.videos.join(format!("{}_{size}.y4m", args.scene));
        if !path.is_file() {
            return Err(NativeError::InvalidArgument(format!(
                "{} is missing: run `cargo xtask fixtures` first",
                path.display()
            )));
        }
        let spec = path.to_string_lossy().into_owned();
        eprintln!("bench: {spec}, stage by stage");
        let (frame_stages, frame_totals, wiped_per_frame) = per_stage(args, &spec, stop, wiped_bytes)?;
        for (stage, durations) in frame_stages {
            let columns = stages.entry(stage).or_insert_with(|| vec![Vec::new(); SIZES.len()]);
            columns[column] = durations;
        }
        totals.push((frame_totals, wiped_per_frame));
        eprintln!("bench: {spec}, real time");
        live.push(real_time(args, &spec, stop)?);
    }

    writeln!(out, "per stage, one analysis thread (ms):\n")?;
    writeln!(
        out,
        "| stage | {} |",
        SIZES.map(|s| format!("{s} median | {s} p99")).join(" | ")
    )?;
    writeln!(out, "|---|{}", "---:|---:|".repeat(SIZES.len()))?;
    for (stage, columns) in stages.iter_mut().chain([(
        &"whole frame".to_owned(),
        &mut totals.iter().map(|(t, _)| t.clone()).collect(),
    )]) {
        let cells: Vec<String> = columns.iter_mut().map(|durations| percentiles(durations)).collect();
        writeln!(out, "| {stage} | {} |", cells.join(" | "))?;
    }

    writeln!(
        out,
        "\nreal time, a capture and {} analysis thread(s), governor allowed 2 cores:\n",
        args.analysis_threads
    )?;
    writeln!(
        out,
        "| video | fps | frames | analyzed/s | skipped | expired | permanence p50 / p99 / max ms | over budget | settings |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---|---:|---|")?;
    for (size, line) in SIZES.iter().zip(&live) {
        writeln!(out, "| {size} | {line}")?;
    }

    let wipe_us_per_mib = wipe_cost_us_per_mib();
    writeln!(
        out,
        "\nzeroizing allocator: wipes at {wipe_us_per_mib:.0} µs per MiB on this machine"
    )?;
    for (size, (frame_totals, wiped_per_frame)) in SIZES.iter().zip(&totals) {
        match wiped_per_frame {
            Some(bytes) => {
                let mib = *bytes as f64 / f64::from(1u32 << 20);
                let cost_ms = mib * wipe_us_per_mib / 1_000.0;
                let median_ms = median_us(frame_totals) as f64 / 1_000.0;
                writeln!(
                    out,
                    "- {size}: {mib:.1} MiB freed and wiped per frame, about {cost_ms:.2} ms ({:.0} % of the {median_ms:.1} ms median frame)",
                    100.0 * cost_ms / median_ms.max(1e-9)
                )?;
            }
            None => writeln!(out, "- {size}: not measured (this build has no zeroizing allocator)")?,
        }
    }
    Ok(())
}

type StageTimes = (BTreeMap<String, Vec<u64>>, Vec<u64>, Option<u64>);

/// Every frame of the video through the analyzer, one after another.
fn per_stage(
    args: &BenchArgs,
    spec: &str,
    stop: &AtomicBool,
    wiped_bytes: Option<fn() -> u64>,
) -> Result<StageTimes, NativeError> {
    let mut source = open_source(spec)?;
    let pool = FramePool::new(
        args.analyzer.pool_config(source.max_layout())?,
        std::sync::Arc::new(MonotonicClock::new()),
    )?;
    let mut analyzer = args.analyzer.analyzer(args.analyzer.config()?, &pool)?;
    let (mut stages, mut totals): (BTreeMap<String, Vec<u64>>, Vec<u64>) = (BTreeMap::new(), Vec::new());
    let wiped_before = wiped_bytes.map(|read| read());
    while !stop.load(Ordering::SeqCst) && source.has_next()? {
        let layout = source.layout();
        pool.capture_with(layout, |dst| source.write_next(dst))?;
        let Some(lease) = pool.lease_newest() else { continue };
        let started = Instant::now();
        let observation = analyzer.analyze(&lease);
        let total_us = started.elapsed().as_micros() as u64;
        lease.release();
        // A frame whose budget ran out is not a timing of the whole chain.
        let Ok(observation) = observation else { continue };
        totals.push(total_us);
        for timing in observation.stages {
            stages
                .entry(timing.stage.to_owned())
                .or_default()
                .push(timing.duration_us);
        }
    }
    analyzer.wipe_all();
    pool.wipe_all();
    let frames = totals.len().max(1) as u64;
    let wiped = wiped_bytes
        .zip(wiped_before)
        .map(|(read, before)| (read() - before) / frames);
    Ok((stages, totals, wiped))
}

/// The runtime on the video, looped, both cores allowed.
fn real_time(args: &BenchArgs, spec: &str, stop: &AtomicBool) -> Result<String, NativeError> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) || args.fps.is_some_and(|fps| !(fps > 0.0 && fps <= 240.0)) {
        return Err(NativeError::InvalidArgument(
            "--seconds must be positive and --fps between 0 and 240".into(),
        ));
    }
    let first = open_source(spec)?;
    let fps = args.fps.unwrap_or(first.fps());
    let source = Replay::new(vec![spec.to_owned()], first, (args.seconds * fps).ceil() as u64, fps);
    let mut config = args.analyzer.config()?;
    config.governor = Some(GovernorConfig {
        cpu_share: 2.0,
        target_fps: fps,
        ..GovernorConfig::default()
    });
    let runtime_config = RuntimeConfig {
        pool: args.analyzer.pool_config(source.max_layout())?,
        traits: config.traits,
        ..RuntimeConfig::default()
    };
    let options = args.analyzer.clone();
    let make = |pool: &FramePool| options.analyzer(config, pool);
    let runtime = match args.analysis_threads {
        1 => Runtime::start_with(source, make, runtime_config)?,
        _ => Runtime::start_pipelined(source, make, runtime_config)?,
    };
    let started = Instant::now();
    while !runtime.is_finished() && !stop.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = runtime.stop()?;
    let (stats, report) = (&summary.stats, &summary.report);
    if let Some(failure) = &stats.failure {
        return Err(NativeError::Runtime(failure.clone()));
    }
    Ok(format!(
        "{fps:.0} | {} | {:.1} | {} | {} | {:.1} / {:.1} / {:.1} | {} | {} |",
        stats.captured + stats.dropped,
        stats.analyzed as f64 / seconds,
        stats.skipped,
        stats.expired,
        report.p50_ms,
        report.p99_ms,
        report.max_ms,
        report.over_budget,
        stats.settings.as_deref().unwrap_or("")
    ))
}

/// Videos of one size played one after another, over and over, for a number
/// of frames offered (stored or dropped), as a camera of a given rate: long,
/// steady real-time runs from short test videos.
pub struct Replay {
    specs: Vec<String>,
    current: Box<dyn FrameSource>,
    next_spec: usize,
    frames_left: u64,
    fps: f64,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("specs", &self.specs)
            .field("frames_left", &self.frames_left)
            .field("fps", &self.fps)
            .finish_non_exhaustive()
    }
}

impl Replay {
    /// Plays `specs` from `first`, already opened from `specs[0]`.
    pub fn new(specs: Vec<String>, first: Box<dyn FrameSource>, frames: u64, fps: f64) -> Self {
        Self {
            specs,
            current: first,
            next_spec: 1,
            frames_left: frames,
            fps,
        }
    }
}

impl FrameSource for Replay {
    fn layout(&self) -> FrameLayout {
        self.current.layout()
    }

    fn max_layout(&self) -> FrameLayout {
        self.current.max_layout()
    }

    fn fps(&self) -> f64 {
        self.fps
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        if self.frames_left == 0 {
            return Ok(false);
        }
        while !self.current.has_next()? {
            self.current = open_source(&self.specs[self.next_spec % self.specs.len()])?;
            self.next_spec += 1;
        }
        // Counted when offered: a frame the pool drops is one of them.
        self.frames_left -= 1;
        Ok(true)
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        self.current.write_next(dst)
    }

    fn name(&self) -> String {
        self.current.name()
    }

    fn frame_index(&self) -> Option<u64> {
        self.current.frame_index()
    }
}

/// The median of 9 wipes of 8 MiB, per MiB.
fn wipe_cost_us_per_mib() -> f64 {
    let mut buffer = vec![0xA5u8; 8 << 20];
    let times: Vec<u64> = (0..9)
        .map(|_| {
            buffer.fill(0xA5);
            let started = Instant::now();
            zeroizing_alloc::wipe(&mut buffer);
            started.elapsed().as_micros() as u64
        })
        .collect();
    median_us(&times) as f64 / 8.0
}

fn median_us(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// "median | p99" in ms, or dashes when the stage did not run.
fn percentiles(durations_us: &mut [u64]) -> String {
    if durations_us.is_empty() {
        return "– | –".to_owned();
    }
    durations_us.sort_unstable();
    let at = |q: f64| durations_us[((durations_us.len() - 1) as f64 * q).round() as usize] as f64 / 1_000.0;
    format!("{:.2} | {:.2}", at(0.5), at(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_read_the_sorted_durations() {
        let mut durations: Vec<u64> = (1..=100).rev().map(|ms| ms * 1_000).collect();
        assert_eq!(percentiles(&mut durations), "51.00 | 99.00");
        assert_eq!(percentiles(&mut []), "– | –");
        assert_eq!(median_us(&[3, 1, 2]), 2);
    }

    #[test]
    fn missing_videos_say_how_to_make_them() {
        let args = BenchArgs {
            videos: PathBuf::from("/nonexistent"),
            scene: "pan".to_owned(),
            seconds: 10.0,
            fps: None,
            analysis_threads: 2,
            analyzer: AnalyzerOptions::default(),
        };
        let error = run(&args, &AtomicBool::new(false), &mut Vec::new(), None).expect_err("no videos");
        assert!(error.to_string().contains("cargo xtask fixtures"), "{error}");
    }
}
