//! The expression and age/gender nets against the reference (face-api 1.7.15
//! on tfjs-wasm): for every face both reference detectors found on the six
//! demo photos, on the boxes the library chain aligned to the full and to the
//! tiny landmarks (`aligned.full`, `aligned.tiny`), the expression
//! probabilities, the top expression, the apparent age and the gender
//! probability. The reference's aligned boxes are the input, so these tests
//! judge the classifiers alone. Fixtures: `cargo xtask parity`; weights:
//! `cargo xtask models`.

mod common;

use common::{IMAGES, box_px, max_abs_diff, photo, reference, weights};
use parterre_core::BoxPx;
use parterre_core::traits::Expression;
use parterre_vision::{AgeGenderNet, FaceExpressionNet, VisionError};

/// The limits.
const PROBABILITY_TOLERANCE: f32 = 0.01;
const AGE_TOLERANCE_YEARS: f32 = 0.5;

/// Index of the largest probability.
fn top(probabilities: &[f32]) -> usize {
    probabilities
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |best, (i, &p)| if p > best.1 { (i, p) } else { best })
        .0
}

#[test]
fn classifiers_match_the_reference_on_every_aligned_face() {
    let expression_net = FaceExpressionNet::new(weights("face_expression")).expect("expression model");
    let age_gender_net = AgeGenderNet::new(weights("age_gender")).expect("age/gender model");
    let mut failures = Vec::new();
    let (mut faces, mut max_probability, mut max_age_years, mut max_gender) = (0, 0f32, 0f32, 0f32);
    for image in IMAGES {
        let fixture = reference(&format!("{image}.json"));
        let frame = photo(image);
        let view = frame.view().expect("frame");
        for detector in ["tiny", "ssd"] {
            for (i, face) in fixture["detectors"][detector]["faces"]
                .as_array()
                .expect("faces")
                .iter()
                .enumerate()
            {
                for aligned_with in ["full", "tiny"] {
                    let theirs = &face["aligned"][aligned_with];
                    let label = format!("{image} {detector} face {i} aligned.{aligned_with}");
                    let aligned = box_px(&theirs["box"]);

                    let expression = expression_net.expression(&view, &aligned).expect("expression");
                    let ours = expression.probabilities();
                    let reference_probabilities: Vec<f32> = Expression::CLASSES
                        .iter()
                        .map(|name| theirs["expressions"][name].as_f64().expect("probability") as f32)
                        .collect();
                    let diff = max_abs_diff(&ours, &reference_probabilities);
                    max_probability = max_probability.max(diff);
                    if diff > PROBABILITY_TOLERANCE {
                        failures.push(format!("{label}: expression probabilities differ by {diff}"));
                    }
                    let (our_top, their_top) = (top(&ours), top(&reference_probabilities));
                    if our_top != their_top {
                        failures.push(format!(
                            "{label}: top expression {} vs {}",
                            Expression::CLASSES[our_top],
                            Expression::CLASSES[their_top]
                        ));
                    }

                    let (age_years, gender_female) = age_gender_net.age_gender(&view, &aligned).expect("age/gender");
                    let their_age_years = theirs["age"].as_f64().expect("age") as f32;
                    let age_diff_years = (age_years - their_age_years).abs();
                    max_age_years = max_age_years.max(age_diff_years);
                    if age_diff_years > AGE_TOLERANCE_YEARS {
                        failures.push(format!("{label}: age {age_years} vs {their_age_years} years"));
                    }
                    // genderProbability is the probability of the reported gender.
                    let reported = theirs["genderProbability"].as_f64().expect("genderProbability") as f32;
                    let their_female = match theirs["gender"].as_str().expect("gender") {
                        "female" => reported,
                        "male" => 1.0 - reported,
                        other => panic!("{label}: gender {other}"),
                    };
                    let gender_diff = (gender_female - their_female).abs();
                    max_gender = max_gender.max(gender_diff);
                    if gender_diff > PROBABILITY_TOLERANCE {
                        failures.push(format!("{label}: P(female) {gender_female} vs {their_female}"));
                    }
                    if (gender_female > 0.5) != (their_female > 0.5) {
                        failures.push(format!("{label}: gender flips ({gender_female} vs {their_female})"));
                    }
                    faces += 1;
                }
            }
        }
    }
    eprintln!(
        "{faces} aligned faces: expression probabilities max |diff| {max_probability:.2e}, \
         age max |diff| {max_age_years:.2e} years, P(female) max |diff| {max_gender:.2e}"
    );
    assert!(
        faces >= 2 * 36,
        "both detectors find 3 to 5 faces on each photo, two alignments each"
    );
    assert!(failures.is_empty(), "outside the issue's limits: {failures:#?}");
}

#[test]
fn boxes_without_a_pixel_in_the_frame_are_clear_errors() {
    let expression_net = FaceExpressionNet::new(weights("face_expression")).expect("expression model");
    let age_gender_net = AgeGenderNet::new(weights("age_gender")).expect("age/gender model");
    let frame = photo("sample1");
    let view = frame.view().expect("frame");
    let layout = view.layout();
    let (width, height) = (layout.width_px as f32, layout.height_px as f32);
    let bad = [
        BoxPx {
            x: width + 10.0,
            y: 0.0,
            width: 50.0,
            height: 50.0,
        },
        BoxPx {
            x: -100.0,
            y: -100.0,
            width: 50.0,
            height: 50.0,
        },
        BoxPx {
            x: 10.0,
            y: 10.0,
            width: 0.0,
            height: 50.0,
        },
        BoxPx {
            x: 10.0,
            y: 10.0,
            width: -5.0,
            height: 50.0,
        },
        BoxPx {
            x: f32::NAN,
            y: 10.0,
            width: 50.0,
            height: 50.0,
        },
        BoxPx {
            x: 10.0,
            y: height - 0.5,
            width: 50.0,
            height: 50.0,
        },
    ];
    for box_px in bad {
        for result in [
            expression_net.expression(&view, &box_px).map(|_| ()),
            age_gender_net.age_gender(&view, &box_px).map(|_| ()),
        ] {
            match result {
                Err(VisionError::InvalidOption(message)) => {
                    assert!(message.contains("face box"), "{box_px:?}: {message}")
                }
                other => panic!("{box_px:?}: expected an invalid-option error, got {other:?}"),
            }
        }
    }
    // A box sticking out of the frame is clipped, not refused.
    let edge = BoxPx {
        x: -20.0,
        y: -20.0,
        width: 80.0,
        height: 80.0,
    };
    expression_net.expression(&view, &edge).expect("clipped box");
    age_gender_net.age_gender(&view, &edge).expect("clipped box");
}
