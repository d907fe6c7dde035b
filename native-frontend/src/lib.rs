//! parterre-native: the native frontend. Frame sources (V4L2 cameras, JPEG and
//! PNG files and folders, Y4M and, through ffmpeg, other videos, a synthetic
//! camera), the threaded runtime that feeds core's frame pool and the
//! analyzer, and the commands behind the `parterre` CLI (`analyze`, `camera`,
//! `join`, `bench`, `demo`).
//!
//! Must never depend on: browsers (web-sys, js-sys) or the server crate; it
//! talks to a server only over the network, with the anonymous traits.
//! Frames never leave the frame pool: sources write straight into a slot.

pub mod analyze;
pub mod bench;
pub mod camera;
pub mod demo;
mod error;
pub mod join;
pub mod memscan;
pub mod models;
pub mod options;
pub mod probe;
pub mod runtime;
pub mod source;

pub use error::NativeError;
