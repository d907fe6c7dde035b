//! Time, as core sees it: a monotonic count of microseconds.
//!
//! Core never reads the system time directly (`core/clippy.toml` bans it outside
//! this module): every deadline and every permanence figure comes from a
//! [`Clock`], so tests drive time by hand and the browser supplies
//! `performance.now()`, where `std::time::Instant` would panic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonic clock in microseconds from an arbitrary origin.
pub trait Clock: Send + Sync {
    /// Microseconds since this clock's origin; never decreases.
    fn now_us(&self) -> u64;
}

/// The operating system's monotonic clock. Not on wasm32, where
/// `std::time::Instant` panics: the browser adapter brings its own clock.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: std::time::Instant,
}

#[cfg(not(target_arch = "wasm32"))]
impl MonotonicClock {
    /// A clock whose origin is now.
    #[allow(clippy::disallowed_methods)] // the one place core reads the OS clock
    pub fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Clock for MonotonicClock {
    fn now_us(&self) -> u64 {
        // u64 microseconds last 584,000 years: the truncation never happens.
        self.origin.elapsed().as_micros() as u64
    }
}

/// A clock that moves only when told to: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_us: AtomicU64,
}

impl ManualClock {
    /// A clock at `start_us`, shared so the test can advance it while a pool reads it.
    pub fn new(start_us: u64) -> Arc<Self> {
        Arc::new(Self {
            now_us: AtomicU64::new(start_us),
        })
    }

    /// Moves the clock forward by `step_us`.
    pub fn advance_us(&self, step_us: u64) {
        self.now_us.fetch_add(step_us, Ordering::SeqCst);
    }

    /// Moves the clock forward by `step_ms`.
    pub fn advance_ms(&self, step_ms: u64) {
        self.advance_us(step_ms.saturating_mul(1_000));
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> u64 {
        self.now_us.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(5);
        assert_eq!(clock.now_us(), 5);
        clock.advance_ms(2);
        assert_eq!(clock.now_us(), 2_005);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn monotonic_clock_never_goes_back() {
        let clock = MonotonicClock::new();
        let mut last_us = clock.now_us();
        for _ in 0..1_000 {
            let now_us = clock.now_us();
            assert!(now_us >= last_us);
            last_us = now_us;
        }
    }
}
