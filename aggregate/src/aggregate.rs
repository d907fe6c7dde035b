//! The mergeable accumulator: one `add` per viewer sample, sums rather than
//! means, so partial aggregates from several buckets or servers combine into
//! exactly what one node would have computed.

use parterre_core::{AnonymousTraits, PermanenceReport, traits::Expression};
use serde::{Deserialize, Serialize};

use crate::moments::Moments;

/// Number of apparent-age buckets.
pub const AGE_BUCKETS: usize = 7;

/// Lower bound of each age bucket: <18, 18–24, 25–34, 35–44, 45–54, 55–64, 65+.
pub const AGE_BUCKET_LOWER_YEARS: [f32; AGE_BUCKETS] = [0.0, 18.0, 25.0, 35.0, 45.0, 55.0, 65.0];

const EXPRESSION_CLASSES: usize = Expression::CLASSES.len();

/// A yes/no trait: the mean probability, and how many viewers fall on each
/// side of 0.5, because a share is only as anonymous as its smaller side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Binary {
    /// The probability (or 0/1 fact) per viewer.
    pub probability: Moments,
    /// Viewers at or above 0.5.
    pub yes_viewers: u64,
    /// Viewers below 0.5.
    pub no_viewers: u64,
}

impl Binary {
    fn add(&mut self, probability: f32) {
        self.probability.add(f64::from(probability), 1.0);
        if probability >= 0.5 {
            self.yes_viewers += 1;
        } else {
            self.no_viewers += 1;
        }
    }

    fn merge(&mut self, other: &Self) {
        self.probability.merge(&other.probability);
        self.yes_viewers += other.yes_viewers;
        self.no_viewers += other.no_viewers;
    }
}

/// The viewers' frame permanence: how long their frames lived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PermanenceSummary {
    /// Viewers that sent a report.
    pub viewers: u64,
    /// Σ of the viewers' mean lives, for the mean of means.
    pub sum_mean_ms: f64,
    /// The worst viewer's p99.
    pub max_p99_ms: f64,
    /// The longest life any viewer's frame had.
    pub max_ms: f64,
    /// Frames counted in the reports.
    pub frames: u64,
    /// Of those, frames that outlived their budget.
    pub over_budget: u64,
}

impl PermanenceSummary {
    fn add(&mut self, report: &PermanenceReport) {
        self.viewers += 1;
        self.sum_mean_ms += report.mean_ms;
        self.max_p99_ms = self.max_p99_ms.max(report.p99_ms);
        self.max_ms = self.max_ms.max(report.max_ms);
        self.frames += report.frames;
        self.over_budget += report.over_budget;
    }

    fn merge(&mut self, other: &Self) {
        self.viewers += other.viewers;
        self.sum_mean_ms += other.sum_mean_ms;
        self.max_p99_ms = self.max_p99_ms.max(other.max_p99_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        self.frames += other.frames;
        self.over_budget += other.over_budget;
    }

    /// Mean over viewers of each viewer's mean frame life.
    pub fn mean_of_means_ms(&self) -> Option<f64> {
        (self.viewers > 0).then(|| self.sum_mean_ms / self.viewers as f64)
    }
}

/// Everything the panel shows, as mergeable sums over viewer samples.
///
/// Each [`Aggregate::add`] counts one viewer; the caller (a [`crate::Window`])
/// makes sure a viewer is added at most once per aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Viewer samples added.
    pub viewers: u64,
    /// A face in view (0 or 1 per viewer).
    pub face: Binary,
    /// Attention, weighted by face quality where the viewer sent one.
    pub attention: Moments,
    /// Motion, 0..1.
    pub motion: Moments,
    /// Expression probabilities, in [`Expression::CLASSES`] order.
    pub expression: [Moments; EXPRESSION_CLASSES],
    /// Viewers per age bucket (see [`AGE_BUCKET_LOWER_YEARS`]).
    pub age_viewers: [u64; AGE_BUCKETS],
    /// Probability that the face appears female.
    pub gender_female: Binary,
    /// Glasses.
    pub glasses: Binary,
    /// Beard.
    pub beard: Binary,
    /// The viewers' permanence reports.
    pub permanence: PermanenceSummary,
}

/// The bucket an apparent age falls in.
fn age_bucket(age_years: f32) -> usize {
    AGE_BUCKET_LOWER_YEARS
        .iter()
        .rposition(|&lower| age_years >= lower)
        .unwrap_or(0)
}

impl Aggregate {
    /// Adds one viewer's sample. `traits` must have passed
    /// [`AnonymousTraits::validate`]: values are taken as in range.
    pub fn add(&mut self, traits: &AnonymousTraits, permanence: Option<&PermanenceReport>) {
        self.viewers += 1;
        self.face.add(if traits.face_present { 1.0 } else { 0.0 });
        self.motion.add(f64::from(traits.motion), 1.0);
        if let Some(attention) = traits.attention {
            // A poorly seen face says less about attention: quality is the
            // weight. Without a quality the sample counts fully.
            let weight = traits.quality.map_or(1.0, f64::from);
            self.attention.add(f64::from(attention), weight);
        }
        if let Some(expression) = &traits.expression {
            for (moments, p) in self.expression.iter_mut().zip(expression.probabilities()) {
                moments.add(f64::from(p), 1.0);
            }
        }
        if let Some(age_years) = traits.age_years {
            self.age_viewers[age_bucket(age_years)] += 1;
        }
        for (binary, value) in [
            (&mut self.gender_female, traits.gender_female),
            (&mut self.glasses, traits.glasses),
            (&mut self.beard, traits.beard),
        ] {
            if let Some(value) = value {
                binary.add(value);
            }
        }
        if let Some(report) = permanence {
            self.permanence.add(report);
        }
    }

    /// Adds another partial aggregate (of different viewers, or of the same
    /// viewers in a disjoint time bucket).
    pub fn merge(&mut self, other: &Self) {
        self.viewers += other.viewers;
        self.face.merge(&other.face);
        self.attention.merge(&other.attention);
        self.motion.merge(&other.motion);
        for (mine, theirs) in self.expression.iter_mut().zip(&other.expression) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.age_viewers.iter_mut().zip(other.age_viewers) {
            *mine += theirs;
        }
        self.gender_female.merge(&other.gender_female);
        self.glasses.merge(&other.glasses);
        self.beard.merge(&other.beard);
        self.permanence.merge(&other.permanence);
    }
}

#[cfg(test)]
mod tests {
    use parterre_core::traits::{Expression, TRAITS_VERSION};

    use super::*;

    fn face(attention: f32, quality: Option<f32>, age_years: f32, female: f32) -> AnonymousTraits {
        AnonymousTraits {
            v: TRAITS_VERSION,
            face_present: true,
            motion: 0.1,
            expression: Some(Expression {
                neutral: 0.5,
                happy: 0.5,
                sad: 0.0,
                angry: 0.0,
                fearful: 0.0,
                disgusted: 0.0,
                surprised: 0.0,
            }),
            age_years: Some(age_years),
            gender_female: Some(female),
            glasses: Some(0.9),
            beard: Some(0.0),
            head_pose: None,
            attention: Some(attention),
            quality,
        }
    }

    fn report(mean_ms: f64, p99_ms: f64, max_ms: f64) -> PermanenceReport {
        PermanenceReport {
            budget_ms: 300.0,
            frames: 10,
            mean_ms,
            p50_ms: mean_ms,
            p90_ms: p99_ms,
            p99_ms,
            max_ms,
            over_budget: 1,
            dropped_captures: 0,
            ended: parterre_core::EndCounts::default(),
        }
    }

    #[test]
    fn age_buckets_have_the_documented_edges() {
        let cases = [
            (0.0, 0),
            (17.9, 0),
            (18.0, 1),
            (24.9, 1),
            (25.0, 2),
            (44.0, 3),
            (45.0, 4),
            (64.9, 5),
            (65.0, 6),
            (120.0, 6),
        ];
        for (age_years, bucket) in cases {
            assert_eq!(age_bucket(age_years), bucket, "{age_years}");
        }
    }

    #[test]
    fn hand_computed_aggregate() {
        let mut agg = Aggregate::default();
        agg.add(&face(1.0, Some(0.75), 30.0, 0.8), Some(&report(2.0, 4.0, 5.0)));
        agg.add(&face(0.0, Some(0.25), 70.0, 0.2), Some(&report(4.0, 9.0, 8.0)));
        agg.add(&face(0.5, None, 31.0, 0.5), None);
        agg.add(&AnonymousTraits::no_face(0.7), None);

        assert_eq!(agg.viewers, 4);
        assert_eq!(agg.face.yes_viewers, 3);
        assert_eq!(agg.face.no_viewers, 1);
        assert_eq!(agg.face.probability.estimate().expect("face").mean, 0.75);
        // Attention weighted by quality: (0.75·1 + 0.25·0 + 1·0.5) / (0.75 + 0.25 + 1).
        let attention = agg.attention.estimate().expect("attention");
        assert!((attention.mean - 0.625).abs() < 1e-12, "{attention:?}");
        assert_eq!(attention.viewers, 3);
        // Motion: (0.1 · 3 + 0.7) / 4, in f32 inputs.
        let motion = agg.motion.estimate().expect("motion").mean;
        assert!((motion - 0.25).abs() < 1e-6, "{motion}");
        assert_eq!(agg.expression[1].estimate().expect("happy").mean, 0.5);
        assert_eq!(agg.expression[1].viewers, 3);
        assert_eq!(agg.age_viewers, [0, 0, 2, 0, 0, 0, 1]);
        // Female at 0.8 and 0.5 are on the yes side; 0.2 is not.
        assert_eq!((agg.gender_female.yes_viewers, agg.gender_female.no_viewers), (2, 1));
        assert!((agg.gender_female.probability.estimate().expect("gender").mean - 0.5).abs() < 1e-6);
        assert_eq!(agg.glasses.yes_viewers, 3);
        assert_eq!(agg.beard.no_viewers, 3);
        assert_eq!(agg.permanence.viewers, 2);
        assert_eq!(agg.permanence.mean_of_means_ms(), Some(3.0));
        assert_eq!(agg.permanence.max_p99_ms, 9.0);
        assert_eq!(agg.permanence.max_ms, 8.0);
        assert_eq!(agg.permanence.frames, 20);
        assert_eq!(agg.permanence.over_budget, 2);
    }

    #[test]
    fn merging_two_halves_equals_adding_all() {
        let samples = [face(0.9, Some(0.5), 20.0, 0.1), face(0.3, None, 50.0, 0.9)];
        let mut whole = Aggregate::default();
        let mut left = Aggregate::default();
        let mut right = Aggregate::default();
        whole.add(&samples[0], Some(&report(1.0, 2.0, 3.0)));
        whole.add(&samples[1], None);
        left.add(&samples[0], Some(&report(1.0, 2.0, 3.0)));
        right.add(&samples[1], None);
        left.merge(&right);
        // Two values per sum: exact in floating point.
        assert_eq!(left, whole);
    }
}
