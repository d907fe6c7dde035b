//! parterre-wasm: the browser adapter. In a Web Worker, camera `VideoFrame`s are
//! copied straight into core's frame pool inside WebAssembly memory, analyzed by
//! the vision crate, and only the anonymous traits are posted to the server.
//!
//! The worker (`web/worker.js`) drives [`WorkerAnalyzer`]: `framePtr` opens the
//! frame slot and gives the address `VideoFrame.copyTo` writes to,
//! `commitFrame` closes it, `analyze` runs the chain and wipes the frame,
//! `sweep` (on a timer) wipes whatever outlives its budget. Memory is grown
//! once at construction (see `memory.rs`), so frames never move.
//!
//! Must never depend on: threads or blocking waits (the worker has one thread),
//! `std::time::Instant` (it panics on wasm32: time comes from `performance.now()`
//! through core's clock), the server or the native frontend.

mod clock;
mod error;
mod memory;
mod options;
mod session;

use std::sync::Arc;

use wasm_bindgen::prelude::{JsError, wasm_bindgen};

/// Every heap block is wiped when freed, as in the native binary: the
/// analysis derives heap data from each frame (resized input tensors, face
/// crops), and wasm memory keeps freed blocks, never shrinking, for the
/// life of the worker. Only on wasm32: on the host (this crate's tests) the
/// test harness keeps its own allocator.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: parterre_core::zeroizing_alloc::ZeroizingAllocator =
    parterre_core::zeroizing_alloc::ZeroizingAllocator::new();

pub use crate::clock::PerformanceClock;
pub use crate::error::WasmError;
pub use crate::options::{PresetOption, WebOptions};
pub use crate::session::{AnalysisReport, Session};

/// The model stems `options_json` needs, in the order the constructor takes
/// their weights; the worker fetches `/models/<stem>.safetensors` for each.
#[wasm_bindgen(js_name = requiredModels)]
pub fn required_models(options_json: &str) -> Result<Vec<String>, JsError> {
    let options = WebOptions::parse(options_json)?;
    Ok(options
        .required_models()?
        .into_iter()
        .map(|model| model.stem().to_owned())
        .collect())
}

/// One viewer's analysis, as the worker sees it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WorkerAnalyzer {
    session: Session,
}

#[wasm_bindgen]
impl WorkerAnalyzer {
    /// Loads the models from `weights` (in `requiredModels` order), then
    /// reserves the memory the analysis will ever need.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str, weights: Vec<js_sys::Uint8Array>) -> Result<WorkerAnalyzer, JsError> {
        let options = WebOptions::parse(options_json)?;
        let weights = weights.iter().map(js_sys::Uint8Array::to_vec).collect();
        let mut session = Session::new(&options, Arc::new(PerformanceClock), weights)?;
        session.warm_up(&options)?;
        memory::reserve_headroom();
        Ok(Self { session })
    }

    /// Opens the frame slot for a packed RGBA frame; returns the byte offset
    /// in wasm memory where exactly `width_px * height_px * 4` bytes go.
    #[wasm_bindgen(js_name = framePtr)]
    pub fn frame_ptr(&mut self, width_px: u32, height_px: u32) -> Result<usize, JsError> {
        Ok(self.session.open_frame(width_px, height_px)?)
    }

    /// The copy is complete; false if the frame's budget ran out meanwhile
    /// (it was wiped).
    #[wasm_bindgen(js_name = commitFrame)]
    pub fn commit_frame(&mut self) -> Result<bool, JsError> {
        Ok(self.session.commit_frame()?)
    }

    /// The copy failed: wipes the open slot.
    #[wasm_bindgen(js_name = abortFrame)]
    pub fn abort_frame(&mut self) {
        self.session.abort_frame();
    }

    /// Analyzes the committed frame and wipes it; the result as JSON, or
    /// `undefined` when there was no frame to analyze.
    pub fn analyze(&mut self) -> Result<Option<String>, JsError> {
        match self.session.analyze()? {
            Some(report) => Ok(Some(serde_json::to_string(&report)?)),
            None => Ok(None),
        }
    }

    /// When the compute governor allows the next analysis, in `performance.now()` milliseconds.
    #[wasm_bindgen(js_name = nextStartMs)]
    pub fn next_start_ms(&self) -> f64 {
        self.session.next_start_us() as f64 / 1_000.0
    }

    /// Wipes whatever is past its deadline (the worker calls it every 30 ms).
    pub fn sweep(&mut self) {
        self.session.sweep();
    }

    /// The wire permanence message of the frame pool, ready to send.
    #[wasm_bindgen(js_name = permanenceJson)]
    pub fn permanence_json(&self) -> Result<String, JsError> {
        Ok(self.session.permanence_json()?)
    }

    /// Wipes everything now: stop, page hide.
    #[wasm_bindgen(js_name = wipeAll)]
    pub fn wipe_all(&mut self) {
        self.session.wipe_all();
    }

    /// Current wasm memory size; constant after construction.
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> usize {
        memory::memory_bytes()
    }
}
