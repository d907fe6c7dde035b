//! `cargo xtask bench-web`: the browser's per-frame analysis against native on the same work, the check of the
//! browser frontend's speed target (within 2.5x of native).
//!
//! Both sides analyze every frame of the zoom test video at 640x480, one after another, with the tiny detector at
//! a fixed size and the governor off: natively `parterre bench --input-size N` (release build), in the browser
//! `browser-tests/bench/worker.mjs` in headless Chromium (the product wasm build), in the same run by the speed
//! test. A timed unit test would flake on a shared machine; this is a benchmark one runs, comparing medians
//! measured minutes apart on the same machine, and it fails when the target is missed.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::run::{cargo, target_dir};
use crate::{browser, fixtures, models, web};

/// The target: the browser's median frame within this factor of native's.
const TARGET_RATIO: f64 = 2.5;
/// The test file that measures both sides.
const SPEED_TEST: &str = "browser-tests/viewer.speed.test.mjs";
/// Its frame-by-frame figures, in the browser tests' output folder.
const FIGURES: &str = "speed-frame-by-frame.json";

#[derive(Debug, Deserialize)]
struct Figures {
    video: String,
    browser: String,
    sizes: Vec<SizeFigures>,
}

#[derive(Debug, Deserialize)]
struct SizeFigures {
    ours: Side,
    native: Option<Side>,
}

#[derive(Debug, Deserialize)]
struct Side {
    input_size_px: u32,
    whole_frame_median_ms: f64,
    stage_median_ms: BTreeMap<String, f64>,
}

/// Builds what both sides need, runs the speed test with the native binary, prints the comparison and fails if a
/// detector size misses the target.
pub fn run() -> Result<()> {
    models::run()?;
    fixtures::run()?;
    web::build_web(false)?;
    cargo(&[
        "build",
        "--release",
        "--package",
        "parterre-native",
        "--bin",
        "parterre",
    ])?;
    let native = std::path::absolute(target_dir()?.join("release").join("parterre"))?;
    browser::run_tests(SPEED_TEST, &[("PARTERRE_NATIVE_BIN", &native)])?;
    let path = browser::output_dir()?.join(FIGURES);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let figures: Figures = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let ratios = report(&figures)?;
    let worst = ratios.iter().copied().fold(0.0, f64::max);
    if worst > TARGET_RATIO {
        bail!("the browser takes {worst:.2}x native's time per frame: the target is {TARGET_RATIO}x");
    }
    eprintln!(
        "bench-web: the browser within {worst:.2}x of native at every size (target {TARGET_RATIO}x); figures in {}",
        path.display()
    );
    Ok(())
}

/// Prints one row per detector size and returns the ratios.
fn report(figures: &Figures) -> Result<Vec<f64>> {
    eprintln!(
        "\n{}, every frame, one thread; {} against `parterre bench` (medians, ms):\n",
        figures.video, figures.browser
    );
    eprintln!("| detector | browser | native | ratio | per stage, browser / native |");
    eprintln!("|---:|---:|---:|---:|---|");
    let mut ratios = Vec::new();
    for size in &figures.sizes {
        let native = size
            .native
            .as_ref()
            .context("the speed test measured no native figure: was PARTERRE_NATIVE_BIN passed?")?;
        let ratio = size.ours.whole_frame_median_ms / native.whole_frame_median_ms;
        let stages: Vec<String> = size
            .ours
            .stage_median_ms
            .iter()
            .filter_map(|(stage, ours_ms)| {
                let native_ms = native.stage_median_ms.get(stage)?;
                (*native_ms >= 0.5).then(|| format!("{stage} {ours_ms:.1} / {native_ms:.1}"))
            })
            .collect();
        eprintln!(
            "| {} px | {:.1} | {:.1} | {ratio:.2}x | {} |",
            size.ours.input_size_px,
            size.ours.whole_frame_median_ms,
            native.whole_frame_median_ms,
            stages.join(", ")
        );
        ratios.push(ratio);
    }
    Ok(ratios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_the_speed_tests_figures_and_gives_each_ratio() {
        let figures: Figures = serde_json::from_str(
            r#"{"video": "zoom_640x480", "browser": "156", "sizes": [
                {"ours": {"input_size_px": 224, "whole_frame_median_ms": 20.0, "stage_median_ms": {"detect": 7.0}},
                 "native": {"input_size_px": 224, "whole_frame_median_ms": 12.5, "stage_median_ms": {"detect": 4.0}},
                 "ratio_to_native": 1.6}]}"#,
        )
        .expect("figures");
        assert_eq!(report(&figures).expect("report"), vec![1.6]);
        let no_native: Figures = serde_json::from_str(
            r#"{"video": "v", "browser": "b", "sizes": [
                {"ours": {"input_size_px": 224, "whole_frame_median_ms": 20.0, "stage_median_ms": {}}}]}"#,
        )
        .expect("figures");
        assert!(
            report(&no_native).is_err(),
            "a run without native is an error, not a pass"
        );
    }
}
