//! `cargo xtask bench`: runs the criterion benchmarks single-threaded, then prints the median of every benchmark that
//! ran (criterion's own summary leads with the mean; on a shared, noisy machine the median is the figure to quote).
//!
//! Unless `--no-reference` is given, the reference (face-api on TensorFlow.js, WASM backend, in Node) is timed on the
//! benchmarks' input right before and right after criterion, through `xtask/parity/reference.mjs --timing-only`, and
//! a table puts both sides of each model stage next to each other (see `compare::STAGES`).

mod compare;

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};

use self::compare::{Estimate, ReferenceTiming};
use crate::{parity, run};

/// Candle's CPU backend (and rayon) read this: the benchmarks run on one thread, like the reference's WASM backend.
const SINGLE_THREAD: (&str, &str) = ("RAYON_NUM_THREADS", "1");
/// Timed calls per reference call, after the script's warm-ups.
const REFERENCE_RUNS: &str = "15";
/// Where the reference's timings go, under the project root.
const REFERENCE_OUT: &str = "target/xtask-bench";
const CRITERION_DIR: &str = "target/criterion";

/// Runs the benchmarks with criterion `args` (and the reference, unless `--no-reference`), then prints their medians.
pub fn run(args: &[String]) -> Result<()> {
    let with_reference = !args.iter().any(|arg| arg == "--no-reference");
    let criterion_args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|&arg| arg != "--no-reference")
        .collect();
    let mut reference = Vec::new();
    if with_reference {
        reference.push(time_reference("before")?);
    }

    let started = SystemTime::now();
    eprintln!(
        "bench: criterion, single-threaded ({}={})",
        SINGLE_THREAD.0, SINGLE_THREAD.1
    );
    let mut cmd = vec!["bench", "--package", "parterre-benches"];
    if !criterion_args.is_empty() {
        cmd.push("--");
        cmd.extend(criterion_args);
    }
    run::cargo_with_env(&cmd, &[SINGLE_THREAD])?;
    let mut estimates = Vec::new();
    collect(Path::new(CRITERION_DIR), started, &mut estimates)?;
    estimates.sort_by(|a, b| a.name.cmp(&b.name));

    if with_reference {
        reference.push(time_reference("after")?);
    }
    eprintln!("\nmedians of this run, one thread (95% confidence interval):");
    for Estimate {
        name,
        median_us,
        low_us,
        high_us,
    } in &estimates
    {
        eprintln!("  {name:<50} {median_us:>10.1} µs  [{low_us:.1} – {high_us:.1}]");
    }
    if let Some(first) = reference.first() {
        eprintln!(
            "\nparterre (criterion, one thread) against the reference (face-api 1.7.15 on TensorFlow.js, {}; \
             timed before and after criterion; speed-up over the faster of the two):\n{}",
            first.backend,
            compare::table(&estimates, &reference)
        );
    }
    Ok(())
}

/// Times the reference's calls on the benchmarks' input, in Node; `when` names the run (and its file).
fn time_reference(when: &str) -> Result<ReferenceTiming> {
    eprintln!("bench: timing the reference ({when} criterion; skip with --no-reference)");
    let out = std::env::current_dir()?
        .join(REFERENCE_OUT)
        .join(format!("reference-{when}.json"));
    let out_arg = out.to_str().context("the project path is not UTF-8")?;
    parity::run_reference(&[
        "--timing-only",
        "--timing-runs",
        REFERENCE_RUNS,
        "--timing-out",
        out_arg,
    ])
    .context("timing the reference (`cargo xtask bench --no-reference` skips it)")?;
    let text = std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    compare::parse_reference(&text).with_context(|| format!("reading {}", out.display()))
}

/// Finds `<benchmark>/new/estimates.json` files written since `since`.
fn collect(dir: &Path, since: SystemTime, estimates: &mut Vec<Estimate>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let file = path.join("new/estimates.json");
        if file.is_file() {
            if std::fs::metadata(&file)?.modified()? >= since {
                let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                let name = path
                    .strip_prefix(CRITERION_DIR)
                    .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
                estimates.push(compare::parse_estimate(name, &text).with_context(|| format!("in {}", file.display()))?);
            }
        } else if path.is_dir() && path.file_name().is_some_and(|n| n != "report") {
            collect(&path, since, estimates)?;
        }
    }
    Ok(())
}
