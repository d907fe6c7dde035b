//! parterre-vision: face detection, 68-point landmarks and the face classifiers,
//! in pure Rust on candle, turning a leased frame into an on-device observation.
//!
//! Must never depend on: cameras, browsers or files (no web-sys, no V4L2, no
//! `std::fs`: the frontend picks the weight source and hands bytes or a path to
//! candle's VarBuilder), the network, or the aggregate and server crates.
//! It must never compute an identity: no face descriptors, no recognition.
//!
//! The detectors and classifiers land with the vision issues; for now the crate
//! only fixes its place in the layering (vision → core).
