//! Weighted moments: enough to merge partial results exactly and to give
//! every mean a standard error and a confidence band, which a bare mean
//! cannot.

use serde::{Deserialize, Serialize};

use crate::band::Band;

/// Sums over weighted values: Σw, Σw², Σwx, Σwx², and how many viewers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Viewers that contributed a value (the k-anonymity count).
    pub viewers: u64,
    /// Σw.
    pub weight: f64,
    /// Σw², for the effective sample size of a weighted mean.
    pub weight_sq: f64,
    /// Σw·x.
    pub sum: f64,
    /// Σw·x².
    pub sum_sq: f64,
}

/// A mean with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The (weighted) mean.
    pub mean: f64,
    /// Standard error of the mean, from the weighted variance and the
    /// effective sample size (Σw)²/Σw².
    pub std_error: f64,
    /// Viewers it was computed from.
    pub viewers: u64,
    /// The 95 % band: Student-t for a mean, Wilson for a share.
    pub band: Band,
}

impl Moments {
    /// Adds one viewer's value with its weight.
    pub fn add(&mut self, value: f64, weight: f64) {
        self.viewers += 1;
        self.weight += weight;
        self.weight_sq += weight * weight;
        self.sum += weight * value;
        self.sum_sq += weight * value * value;
    }

    /// Adds another partial result, as if its viewers had been added here.
    pub fn merge(&mut self, other: &Self) {
        self.viewers += other.viewers;
        self.weight += other.weight;
        self.weight_sq += other.weight_sq;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
    }

    /// The weighted mean, its standard error and a Student-t band; `None`
    /// without weight.
    pub fn estimate(&self) -> Option<Estimate> {
        self.estimate_with(|mean, variance, effective_n| {
            // The t band wants the sample (n − 1) variance, not the
            // population one the standard error above is based on.
            let bessel = if effective_n > 1.0 {
                effective_n / (effective_n - 1.0)
            } else {
                1.0
            };
            Band::student_t(mean, (variance * bessel).sqrt(), effective_n)
        })
    }

    /// As [`Moments::estimate`], for values that are shares (0/1 facts or
    /// probabilities): the band is a Wilson interval on the effective sample.
    pub fn share_estimate(&self) -> Option<Estimate> {
        self.estimate_with(|mean, _, effective_n| Band::wilson(mean, effective_n))
    }

    fn estimate_with(&self, band: impl FnOnce(f64, f64, f64) -> Band) -> Option<Estimate> {
        if self.weight <= 0.0 {
            return None;
        }
        let mean = self.sum / self.weight;
        // Rounding can push a zero variance slightly negative.
        let variance = (self.sum_sq / self.weight - mean * mean).max(0.0);
        // Kish's effective sample size: n for equal weights, less otherwise.
        let effective_n = self.weight * self.weight / self.weight_sq;
        Some(Estimate {
            mean,
            std_error: (variance / effective_n).sqrt(),
            viewers: self.viewers,
            band: band(mean, variance, effective_n),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unweighted_values_give_the_textbook_mean_and_error() {
        let mut m = Moments::default();
        for x in [1.0, 2.0, 3.0, 4.0] {
            m.add(x, 1.0);
        }
        let e = m.estimate().expect("has weight");
        assert_eq!(e.mean, 2.5);
        assert_eq!(e.viewers, 4);
        // Population variance 1.25, n = 4: standard error sqrt(1.25 / 4).
        assert!((e.std_error - (1.25f64 / 4.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn bands_use_the_sample_variance_and_the_effective_size() {
        let mut m = Moments::default();
        for x in [0.1, 0.2, 0.3, 0.4] {
            m.add(x, 1.0);
        }
        // Sample sd 0.129099 over 4, t(3) = 3.182446: 0.25 ± 0.205426.
        let band = m.estimate().expect("has weight").band;
        assert!(
            (band.low - 0.044_574).abs() < 1e-5 && (band.high - 0.455_426).abs() < 1e-5,
            "{band:?}"
        );
        // A share of 8 in 10 with equal weights: Wilson 0.490..0.943.
        let mut share = Moments::default();
        for i in 0..10 {
            share.add(if i < 8 { 1.0 } else { 0.0 }, 1.0);
        }
        let wilson = share.share_estimate().expect("has weight").band;
        assert!((wilson.low - 0.490_17).abs() < 1e-4 && (wilson.high - 0.943_32).abs() < 1e-4);
        // Still 80 % yes, but five viewers (four yes, one no) weigh 3:
        // Σw = 20, Σw² = 50, so Kish n = 400 / 50 = 8 and the band widens.
        let mut weighted = Moments::default();
        for i in 0..10 {
            weighted.add(if i < 8 { 1.0 } else { 0.0 }, if i < 4 || i == 8 { 3.0 } else { 1.0 });
        }
        let heavy = weighted.share_estimate().expect("has weight").band;
        let expected = Band::wilson(0.8, 8.0);
        assert!((heavy.low - expected.low).abs() < 1e-12 && (heavy.high - expected.high).abs() < 1e-12);
        assert!(
            heavy.high - heavy.low > wilson.high - wilson.low,
            "{heavy:?} vs {wilson:?}"
        );
    }

    #[test]
    fn weights_pull_the_mean_and_shrink_the_effective_sample() {
        let mut m = Moments::default();
        m.add(1.0, 3.0);
        m.add(0.0, 1.0);
        let e = m.estimate().expect("has weight");
        assert_eq!(e.mean, 0.75);
        // Variance 0.75 - 0.5625 = 0.1875; effective n = 16 / 10 = 1.6.
        assert!((e.std_error - (0.1875f64 / 1.6).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn no_weight_gives_no_estimate() {
        let mut m = Moments::default();
        assert_eq!(m.estimate(), None);
        m.add(0.5, 0.0);
        assert_eq!(m.viewers, 1);
        assert_eq!(m.estimate(), None);
    }
}
