//! Parterre against the reference: criterion's medians next to the reference's (face-api 1.7.15 on TensorFlow.js,
//! WASM backend) for the same work on the same input, as a Markdown table for the README.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::Value;

/// Each criterion benchmark with a reference counterpart, and the call of `xtask/parity/reference.mjs --timing-only`
/// that does the same work on the same input. The one place where the two sides' names meet.
pub const STAGES: [(&str, &str); 16] = [
    ("tiny_face_detector_640x480/detect_416", "tinyDetector416"),
    ("tiny_face_detector_640x480/detect_320", "tinyDetector320"),
    ("tiny_face_detector_640x480/preprocess_416", "tinyPreprocess416"),
    ("tiny_face_detector_640x480/network_416", "tinyNetwork416"),
    ("ssd_mobilenetv1_640x480/detect", "ssdMobilenetv1"),
    ("ssd_mobilenetv1_640x480/network_512", "ssdNetwork512"),
    ("landmarks_640x480/full_landmarks_box200", "landmarks68"),
    ("landmarks_640x480/full_network_112", "landmarks68Network"),
    ("landmarks_640x480/tiny_landmarks_box200", "landmarks68Tiny"),
    ("landmarks_640x480/tiny_network_112", "landmarks68TinyNetwork"),
    ("classifiers_112/expression_box200", "expression"),
    ("classifiers_112/age_gender_box200", "ageGender"),
    (
        "analyzer_640x480/one_face_as_reference",
        "chainTiny416Landmarks68TinyOneFace",
    ),
    (
        "analyzer_640x480/four_faces_as_reference",
        "chainTiny416Landmarks68TinyFourFaces",
    ),
    ("analyzer_640x480/one_face_default", "chainTiny320Landmarks68OneFace"),
    (
        "analyzer_640x480/four_faces_default",
        "chainTiny320Landmarks68FourFaces",
    ),
];

/// One criterion benchmark's median and the 95% confidence interval around it, in µs.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The benchmark id, `group/function`.
    pub name: String,
    pub median_us: f64,
    pub low_us: f64,
    pub high_us: f64,
}

/// Reads the median out of the text of criterion's `estimates.json` (nanoseconds).
pub fn parse_estimate(name: String, text: &str) -> Result<Estimate> {
    let json: Value = serde_json::from_str(text).context("estimates.json is not JSON")?;
    let median = &json["median"];
    let us = |value: &Value| {
        value
            .as_f64()
            .map(|ns| ns / 1_000.0)
            .context("median estimate is not a number")
    };
    Ok(Estimate {
        name,
        median_us: us(&median["point_estimate"])?,
        low_us: us(&median["confidence_interval"]["lower_bound"])?,
        high_us: us(&median["confidence_interval"]["upper_bound"])?,
    })
}

/// One run of the reference's timing: the backend it ran on and the median of each call, in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceTiming {
    pub backend: String,
    pub medians_ms: BTreeMap<String, f64>,
}

/// Reads what `reference.mjs --timing-only --timing-out FILE` wrote.
pub fn parse_reference(text: &str) -> Result<ReferenceTiming> {
    let json: Value = serde_json::from_str(text).context("the reference timing is not JSON")?;
    let backend = &json["backend"];
    let flag = |key: &str| backend[key].as_bool().map_or("?", |on| if on { "yes" } else { "no" });
    let backend = format!(
        "{}, SIMD {}, multithread {}",
        backend["name"].as_str().unwrap_or("?"),
        flag("simd"),
        flag("multithread")
    );
    let medians_ms = json["calls"]
        .as_object()
        .context("the reference timing has no `calls`")?
        .iter()
        .map(|(name, call)| {
            let ms = call["medianMs"]
                .as_f64()
                .with_context(|| format!("reference call {name} has no medianMs"))?;
            Ok((name.clone(), ms))
        })
        .collect::<Result<_>>()?;
    Ok(ReferenceTiming { backend, medians_ms })
}

/// The Markdown table of every stage this run benchmarked: parterre's median, the reference's median in each of its
/// runs, and the speed-up over the fastest of those runs (so noise on the reference's side never inflates it).
pub fn table(parterre: &[Estimate], reference: &[ReferenceTiming]) -> String {
    let mut lines = vec![
        "| stage | parterre median ms | reference median ms | speed-up × |".to_owned(),
        "|---|---:|---:|---:|".to_owned(),
    ];
    for (bench, call) in STAGES {
        let Some(ours) = parterre.iter().find(|estimate| estimate.name == bench) else {
            continue;
        };
        let ours_ms = ours.median_us / 1_000.0;
        let theirs: Vec<f64> = reference
            .iter()
            .filter_map(|run| run.medians_ms.get(call).copied())
            .collect();
        let theirs_text = if theirs.is_empty() {
            "–".to_owned()
        } else {
            theirs.iter().map(|&ms| ms_text(ms)).collect::<Vec<_>>().join(" / ")
        };
        let fastest = theirs.iter().copied().reduce(f64::min);
        let speed_up = fastest.map_or_else(|| "–".to_owned(), |ms| format!("{:.1}", ms / ours_ms));
        lines.push(format!(
            "| {bench} | {} | {theirs_text} | {speed_up} |",
            ms_text(ours_ms)
        ));
    }
    lines.join("\n")
}

/// Three significant digits or so, without a pointless tail.
fn ms_text(ms: f64) -> String {
    match ms {
        ms if ms >= 100.0 => format!("{ms:.0}"),
        ms if ms >= 10.0 => format!("{ms:.1}"),
        ms => format!("{ms:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},
        "point_estimate":1.5,"standard_error":0.1},
        "median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":24500000.0,"upper_bound":25600000.0},
        "point_estimate":25000000.0,"standard_error":100000.0}}"#;

    fn reference(tiny: f64, backend: &str) -> String {
        format!(
            r#"{{"backend": {{"name": "{backend}", "simd": true, "multithread": false}},
                "calls": {{"tinyDetector416": {{"call": "locateFaces", "medianMs": {tiny}, "minMs": 1, "runs": 15}},
                           "landmarks68": {{"medianMs": 20.26}}}}}}"#
        )
    }

    #[test]
    fn reads_criterion_median_in_microseconds() {
        let estimate = parse_estimate("a/b".to_owned(), ESTIMATES).expect("estimate");
        assert_eq!(
            estimate,
            Estimate {
                name: "a/b".to_owned(),
                median_us: 25_000.0,
                low_us: 24_500.0,
                high_us: 25_600.0
            }
        );
        assert!(parse_estimate("a/b".to_owned(), r#"{"median": {}}"#).is_err());
    }

    #[test]
    fn reads_reference_medians_and_backend() {
        let timing = parse_reference(&reference(100.5, "wasm")).expect("reference");
        assert_eq!(timing.backend, "wasm, SIMD yes, multithread no");
        assert_eq!(timing.medians_ms["tinyDetector416"], 100.5);
        assert_eq!(timing.medians_ms["landmarks68"], 20.26);
        assert!(parse_reference(r#"{"calls": {"x": {"minMs": 1}}}"#).is_err());
        assert!(parse_reference("{}").is_err());
    }

    #[test]
    fn table_divides_the_fastest_reference_run_by_ours() {
        let ours = |name: &str, median_us: f64| Estimate {
            name: name.to_owned(),
            median_us,
            low_us: median_us,
            high_us: median_us,
        };
        let parterre = [
            ours("tiny_face_detector_640x480/detect_416", 25_000.0),
            ours("landmarks_640x480/full_landmarks_box200", 5_062.5),
            ours("ssd_mobilenetv1_640x480/detect", 200_000.0),
            ours("frame_pool_720p/write_frame_into_slot", 465.0),
        ];
        let runs = [
            parse_reference(&reference(100.0, "wasm")).expect("before"),
            parse_reference(&reference(110.0, "wasm")).expect("after"),
        ];
        let table = table(&parterre, &runs);
        let lines: Vec<&str> = table.lines().collect();
        // Rows follow STAGES; a stage criterion did not run is left out, a bench with no counterpart too.
        assert_eq!(
            lines[2..],
            [
                "| tiny_face_detector_640x480/detect_416 | 25.0 | 100 / 110 | 4.0 |",
                "| ssd_mobilenetv1_640x480/detect | 200 | – | – |",
                "| landmarks_640x480/full_landmarks_box200 | 5.06 | 20.3 / 20.3 | 4.0 |",
            ]
        );
    }
}
