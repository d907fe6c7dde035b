//! `parterre analyze`, run as a person would: the built binary on the demo
//! photos, its JSON lines checked against the reference library's outputs
//! (`vision/tests/fixtures/reference`), the feature policy checked in the
//! output, a corrupt file among good ones, and `--help`.
//!
//! The binary analyzes under the real permanence budget. A debug build on a
//! loaded machine may run out of it on the 3-face photo; such a frame is
//! recorded as skipped, and the test runs it again (a few times, pausing
//! longer each time) rather than compare nothing. The feature-policy tests
//! use `tests/fixtures/face_crop.png`, the 630x540 crop of sample2 at
//! (1230, 20) around its one face: cheaper, so within budget even when busy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

const PROBABILITY_TOLERANCE: f64 = 0.01;
const AGE_TOLERANCE_YEARS: f64 = 0.5;
const BOX_TOLERANCE_PX: f64 = 1.0;
const ATTEMPTS: usize = 6;
const EXPRESSIONS: [&str; 7] = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"];

/// The analyses run one at a time: in parallel they would only steal each
/// other's budget on 2 cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn image(name: &str) -> String {
    workspace()
        .join(format!("vision/tests/fixtures/images/{name}.png"))
        .display()
        .to_string()
}

fn fixture(name: &str) -> String {
    workspace()
        .join(format!("native-frontend/tests/fixtures/{name}"))
        .display()
        .to_string()
}

/// The one-face crop of sample2.
const FACE: &str = "face_crop.png";

fn parterre(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parterre"))
        .args(args)
        .output()
        .expect("the parterre binary runs")
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// The JSON record of the picture at `path`, analyzed (not skipped) with `options`.
fn analyzed(path: &str, options: &[&str]) -> Value {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let mut reasons = Vec::new();
    for attempt in 0..ATTEMPTS {
        // Let a burst of other work on the machine pass.
        std::thread::sleep(Duration::from_secs(attempt as u64));
        let args: Vec<&str> = ["analyze", "--json"]
            .iter()
            .chain(options)
            .chain([&path])
            .copied()
            .collect();
        let output = parterre(&args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut records = lines(&output);
        assert_eq!(records.len(), 1, "one picture, one frame");
        let record = records.remove(0);
        match record["skipped"].as_str() {
            None => return record,
            Some(reason) => reasons.push(reason.to_owned()),
        }
    }
    panic!("{path}: skipped {ATTEMPTS} times, the machine is too loaded for the budget: {reasons:?}");
}

fn reference(name: &str) -> Value {
    let path = workspace().join(format!("vision/tests/fixtures/reference/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("reference")).expect("reference JSON")
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

#[test]
fn faces_match_the_reference_chain() {
    let options = ["--detector", "tiny", "--input-size", "416", "--landmarks", "full"];
    let mut compared = 0;
    for name in ["sample1", "sample2"] {
        let record = analyzed(&image(name), &options);
        let theirs = reference(name)["detectors"]["tiny"]["faces"]
            .as_array()
            .expect("faces")
            .clone();
        let ours = record["faces"].as_array().expect("faces");
        assert_eq!(ours.len(), theirs.len(), "{name}: faces found");
        assert_eq!(
            (record["width"].as_u64(), record["height"].as_u64()),
            (reference(name)["width"].as_u64(), reference(name)["height"].as_u64())
        );
        for their_face in &theirs {
            let their_box = numbers(&their_face["box"]);
            let distance = |face: &Value| {
                numbers(&face["box"])
                    .iter()
                    .zip(&their_box)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            };
            let face = ours
                .iter()
                .min_by(|a, b| distance(a).total_cmp(&distance(b)))
                .expect("a face");
            let label = format!("{name} face at {their_box:?}");
            assert!(distance(face) <= BOX_TOLERANCE_PX, "{label}: box {}", face["box"]);
            assert_eq!(face["landmarks"].as_array().map(Vec::len), Some(68), "{label}");
            let aligned = &their_face["aligned"]["full"];
            for class in EXPRESSIONS {
                let diff = (face["expression"][class].as_f64().expect("p")
                    - aligned["expressions"][class].as_f64().expect("p"))
                .abs();
                assert!(diff <= PROBABILITY_TOLERANCE, "{label}: {class} differs by {diff}");
            }
            let age_diff = (face["age"].as_f64().expect("age") - aligned["age"].as_f64().expect("age")).abs();
            assert!(age_diff <= AGE_TOLERANCE_YEARS, "{label}: age differs by {age_diff}");
            let gender = &face["gender"];
            let sum = gender["female"].as_f64().expect("female") + gender["male"].as_f64().expect("male");
            assert!((sum - 1.0).abs() < 1e-6, "{label}: {gender}");
            compared += 1;
        }
        let permanence_ms = record["permanence_ms"].as_f64().expect("permanence");
        assert!(
            permanence_ms > 0.0 && permanence_ms <= 300.0,
            "{name}: {permanence_ms} ms"
        );
        assert!(
            record["timing_ms"]["detect"].as_f64().is_some_and(|ms| ms > 0.0),
            "{}",
            record["timing_ms"]
        );
        assert_eq!(record["traits"]["face_present"], Value::Bool(true));
    }
    assert_eq!(compared, 4, "3 faces in sample1, 1 in sample2");
}

#[test]
fn a_workplace_output_has_no_expression_anywhere() {
    let workplace = analyzed(&fixture(FACE), &["--preset", "workplace"]).to_string();
    assert!(
        !workplace.contains("expression") && !workplace.contains("happy"),
        "{workplace}"
    );
    // Negative control: the same picture under the general preset.
    let general = analyzed(&fixture(FACE), &[]).to_string();
    assert!(
        general.contains("\"expression\"") && general.contains("\"happy\""),
        "{general}"
    );
}

#[test]
fn disabled_traits_are_absent_from_faces_and_traits() {
    let record = analyzed(&fixture(FACE), &["--disable", "glasses,beard"]);
    let face = &record["faces"][0];
    for key in ["glasses", "beard"] {
        assert!(
            face.get(key).is_none() && record["traits"].get(key).is_none(),
            "{key}: {record}"
        );
    }
    assert!(
        face.get("age").is_some() && face.get("expression").is_some(),
        "the rest stays: {face}"
    );
    // Negative control: without --disable, both are there.
    let all = analyzed(&fixture(FACE), &[]);
    assert!(
        all["faces"][0].get("glasses").is_some() && all["traits"].get("beard").is_some(),
        "{all}"
    );
}

#[test]
fn a_corrupt_file_is_named_and_the_others_still_run() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let corrupt = fixture("truncated.png");
    let good = fixture(FACE);
    let output = parterre(&["analyze", "--json", &corrupt, &good]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("truncated.png") && stderr.contains("1 of 2 inputs"),
        "{stderr}"
    );
    let records = lines(&output);
    assert_eq!(records.len(), 1, "the good picture's line");
    assert_eq!(records[0]["source"].as_str(), Some(good.as_str()));
}

#[test]
fn usage_errors_exit_with_2_and_help_lists_every_option() {
    assert_eq!(parterre(&["analyze"]).status.code(), Some(2), "no PATH");
    assert_eq!(
        parterre(&["analyze", "--detector", "huge", "x.png"]).status.code(),
        Some(2)
    );
    let help = String::from_utf8_lossy(&parterre(&["analyze", "--help"]).stdout).into_owned();
    for option in [
        "--json",
        "--detector",
        "--input-size",
        "--min-score",
        "--landmarks",
        "--budget-ms",
        "--disable",
        "--preset",
        "--models",
        "workplace",
        "head-pose",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    let join = String::from_utf8_lossy(&parterre(&["join", "--help"]).stdout).into_owned();
    for option in ["URL", "--source", "--seconds", "--preset", "--disable"] {
        assert!(join.contains(option), "{option} missing from:\n{join}");
    }
}
