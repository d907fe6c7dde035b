//! Core's clock in the browser: `performance.now()`, where
//! `std::time::Instant` would panic. `performance` is a global of both the
//! window and the worker, on the same timeline as the worker's own
//! `performance.now()`, so `nextStartMs` needs no conversion in JavaScript.

use parterre_core::Clock;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// `performance.now()` in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerformanceClock;

impl Clock for PerformanceClock {
    fn now_us(&self) -> u64 {
        // Milliseconds since the worker started, as a float: never negative,
        // and far below u64's range in microseconds.
        (performance_now() * 1_000.0) as u64
    }
}
