//! parterre-wasm: the browser adapter. In a Web Worker, camera `VideoFrame`s are
//! copied straight into core's frame pool inside WebAssembly memory, analyzed by
//! the vision crate, and only the anonymous traits are posted to the server.
//!
//! Must never depend on: threads or blocking waits (the worker has one thread),
//! `std::time::Instant` (it panics on wasm32: time comes from `performance.now()`
//! through core's clock), the server or the native frontend.
