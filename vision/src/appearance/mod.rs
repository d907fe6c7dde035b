//! Glasses and beard: two anonymous appearance traits, each a probability
//! 0..1, estimated from the frame around the 68 landmarks.
//!
//! No registry package ships a model for either, so both are hand-made
//! features read on landmark-anchored regions (see `regions`) and turned into
//! a probability by a logistic function whose coefficients were fitted offline
//! on a small labeled set of face crops from package-shipped photos
//! (`vision/tests/fixtures/appearance/`: `build_fixture.py` builds the set and
//! fits the coefficients; `tests/appearance_accuracy.rs` measures them).
//! Figures, limits and the features themselves are in `glasses` and `beard`.

mod beard;
mod glasses;
mod regions;
#[cfg(test)]
mod synthetic;

pub use beard::{BeardFeatures, beard_features, beard_probability};
pub use glasses::{GlassesFeatures, glasses_features, glasses_probability};

/// A fitted logistic model: `1 / (1 + exp(-(bias + weights . features)))`.
#[derive(Debug, Clone, Copy)]
struct Logistic<const N: usize> {
    bias: f32,
    weights: [f32; N],
}

impl<const N: usize> Logistic<N> {
    fn probability(&self, features: [f32; N]) -> f32 {
        let z = self.bias + self.weights.iter().zip(features).map(|(w, f)| w * f).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::Logistic;

    #[test]
    fn logistic_is_the_sigmoid_of_the_score() {
        let model = Logistic {
            bias: -1.0,
            weights: [2.0, -0.5],
        };
        assert_eq!(model.probability([0.5, 0.0]), 0.5);
        let p = model.probability([1.0, 2.0]);
        assert!((p - 0.5).abs() < 1e-6, "z = -1 + 2 - 1 = 0: {p}");
        let high = model.probability([10.0, 0.0]);
        assert!((high - 1.0 / (1.0 + (-19.0f32).exp())).abs() < 1e-6);
    }
}
