//! Merging is associative and commutative, and aggregating samples split
//! across nodes then merged equals aggregating them on one node.

use parterre_aggregate::Aggregate;
use parterre_core::{
    AnonymousTraits, EndCounts, PermanenceReport,
    traits::{Expression, TRAITS_VERSION},
};
use proptest::prelude::*;
use serde_json::Value;

fn unit() -> impl Strategy<Value = f32> {
    0.0f32..=1.0
}

fn expression() -> impl Strategy<Value = Expression> {
    prop::array::uniform7(0.01f32..1.0).prop_map(|raw| {
        let sum: f32 = raw.iter().sum();
        let p = raw.map(|x| x / sum);
        Expression {
            neutral: p[0],
            happy: p[1],
            sad: p[2],
            angry: p[3],
            fearful: p[4],
            disgusted: p[5],
            surprised: p[6],
        }
    })
}

fn traits() -> impl Strategy<Value = AnonymousTraits> {
    let face = (
        unit(),
        prop::option::of(expression()),
        prop::option::of(0.0f32..=120.0),
        prop::option::of(unit()),
        prop::option::of(unit()),
        prop::option::of(unit()),
        prop::option::of(unit()),
        prop::option::of(unit()),
    )
        .prop_map(
            |(motion, expression, age_years, gender_female, glasses, beard, attention, quality)| AnonymousTraits {
                v: TRAITS_VERSION,
                face_present: true,
                motion,
                expression,
                age_years,
                gender_female,
                glasses,
                beard,
                head_pose: None,
                attention,
                quality,
            },
        );
    prop_oneof![unit().prop_map(AnonymousTraits::no_face), face]
}

fn report() -> impl Strategy<Value = PermanenceReport> {
    (0.0f64..300.0, 0.0f64..300.0, 0.0f64..400.0, 0u64..1_000, 0u64..10).prop_map(
        |(mean_ms, p99_ms, max_ms, frames, over_budget)| PermanenceReport {
            budget_ms: 300.0,
            frames,
            mean_ms,
            p50_ms: mean_ms,
            p90_ms: p99_ms,
            p99_ms,
            max_ms,
            over_budget,
            dropped_captures: 0,
            ended: EndCounts::default(),
        },
    )
}

fn sample() -> impl Strategy<Value = (AnonymousTraits, Option<PermanenceReport>)> {
    (traits(), prop::option::of(report()))
}

fn aggregate_of(samples: &[(AnonymousTraits, Option<PermanenceReport>)]) -> Aggregate {
    let mut aggregate = Aggregate::default();
    for (traits, report) in samples {
        aggregate.add(traits, report.as_ref());
    }
    aggregate
}

/// Field-by-field equality with a relative float tolerance: sums merged in a
/// different order round differently. Integers must match exactly.
fn assert_close(a: &Aggregate, b: &Aggregate) -> Result<(), TestCaseError> {
    fn walk(path: &str, a: &Value, b: &Value) -> Result<(), TestCaseError> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (key, value) in x {
                    walk(&format!("{path}.{key}"), value, &y[key])?;
                }
                Ok(())
            }
            (Value::Array(x), Value::Array(y)) => {
                prop_assert_eq!(x.len(), y.len());
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}[{i}]"), p, q)?;
                }
                Ok(())
            }
            (Value::Number(x), Value::Number(y)) if x.is_u64() && y.is_u64() => {
                prop_assert_eq!(x, y, "{}", path);
                Ok(())
            }
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                prop_assert!(
                    (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs())),
                    "{}: {} vs {}",
                    path,
                    x,
                    y
                );
                Ok(())
            }
            _ => {
                prop_assert_eq!(a, b, "{}", path);
                Ok(())
            }
        }
    }
    let a = serde_json::to_value(a).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let b = serde_json::to_value(b).map_err(|e| TestCaseError::fail(e.to_string()))?;
    walk("aggregate", &a, &b)
}

proptest! {
    #[test]
    fn merge_is_commutative(a in prop::collection::vec(sample(), 0..20), b in prop::collection::vec(sample(), 0..20)) {
        let (a, b) = (aggregate_of(&a), aggregate_of(&b));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_close(&ab, &ba)?;
    }

    #[test]
    fn merge_is_associative(
        a in prop::collection::vec(sample(), 0..15),
        b in prop::collection::vec(sample(), 0..15),
        c in prop::collection::vec(sample(), 0..15),
    ) {
        let (a, b, c) = (aggregate_of(&a), aggregate_of(&b), aggregate_of(&c));
        let mut left = a.clone();
        left.merge(&b);
        left.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut right = a.clone();
        right.merge(&bc);
        assert_close(&left, &right)?;
    }

    #[test]
    fn nodes_merged_equal_one_node(
        samples in prop::collection::vec(sample(), 0..60),
        nodes in 1usize..6,
        assignment in prop::collection::vec(any::<u8>(), 60),
    ) {
        // Each sample goes to a random node; the nodes' aggregates are merged.
        let mut parts = vec![Aggregate::default(); nodes];
        for (i, (traits, report)) in samples.iter().enumerate() {
            parts[usize::from(assignment[i]) % nodes].add(traits, report.as_ref());
        }
        let mut merged = Aggregate::default();
        for part in &parts {
            merged.merge(part);
        }
        let single = aggregate_of(&samples);
        prop_assert_eq!(merged.viewers, samples.len() as u64);
        assert_close(&merged, &single)?;
    }
}
