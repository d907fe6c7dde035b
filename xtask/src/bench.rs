//! `cargo xtask bench`: runs the criterion benchmarks, then prints the median
//! of every benchmark that ran (criterion's own summary leads with the mean;
//! on a shared, noisy machine the median is the figure to quote).

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::run::cargo;

/// Runs the benchmarks with criterion `args` and prints their medians.
pub fn run(args: &[String]) -> Result<()> {
    let started = SystemTime::now();
    let mut cmd = vec!["bench", "--package", "parterre-benches"];
    if !args.is_empty() {
        cmd.push("--");
        cmd.extend(args.iter().map(String::as_str));
    }
    cargo(&cmd)?;
    let mut rows = Vec::new();
    collect(Path::new("target/criterion"), started, &mut rows)?;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    eprintln!("\nmedians of this run (95% confidence interval):");
    for (name, median_us, low_us, high_us) in rows {
        eprintln!("  {name:<50} {median_us:>10.1} µs  [{low_us:.1} – {high_us:.1}]");
    }
    Ok(())
}

type Row = (String, f64, f64, f64);

/// Finds `<benchmark>/new/estimates.json` files written since `since`.
fn collect(dir: &Path, since: SystemTime, rows: &mut Vec<Row>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let estimates = path.join("new/estimates.json");
        if estimates.is_file() {
            let fresh = std::fs::metadata(&estimates)?.modified()? >= since;
            if fresh {
                rows.push(read_median(&estimates)?);
            }
        } else if path.is_dir() && path.file_name().is_some_and(|n| n != "report") {
            collect(&path, since, rows)?;
        }
    }
    Ok(())
}

fn read_median(estimates: &Path) -> Result<Row> {
    let text = std::fs::read_to_string(estimates).with_context(|| format!("reading {}", estimates.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let median = &json["median"];
    let ns = |value: &serde_json::Value| value.as_f64().context("estimate is not a number");
    let name = estimates
        .parent()
        .and_then(Path::parent)
        .and_then(|bench| bench.strip_prefix("target/criterion").ok())
        .map_or_else(|| estimates.display().to_string(), |p| p.display().to_string());
    Ok((
        name,
        ns(&median["point_estimate"])? / 1_000.0,
        ns(&median["confidence_interval"]["lower_bound"])? / 1_000.0,
        ns(&median["confidence_interval"]["upper_bound"])? / 1_000.0,
    ))
}
