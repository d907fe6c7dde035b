//! parterre-core: the frame lifecycle and the anonymous trait types.
//!
//! A camera frame lives in one [`FrameBuffer`] of a [`FramePool`], in memory
//! allocated once, locked in RAM and excluded from core dumps where the OS
//! allows. The next frame overwrites it; a [`Lease`] lets the analysis read it
//! until its deadline (written + budget, at most 300 ms); releasing the lease,
//! the deadline or the [`Watchdog`] wipes it. Every frame's life is measured
//! into a [`PermanenceReport`]. Only [`AnonymousTraits`] (and the report) are
//! `Serialize`: nothing else here can be sent anywhere. Heap memory derived
//! from a frame (resized tensors, crops) is wiped when freed by the
//! [`zeroizing_alloc::ZeroizingAllocator`] each frontend installs.
//!
//! Must never depend on: candle or any vision code, cameras, browsers
//! (web-sys, wasm-bindgen), files, the network, or any other parterre crate.
//! It reads time only through its [`Clock`]. Builds for wasm32.

mod clock;
mod error;
mod frame;
mod memory;
mod observation;
mod pool;
mod telemetry;
mod thumbnail;
pub mod traits;
pub mod wire;
pub mod zeroizing_alloc;

#[cfg(not(target_arch = "wasm32"))]
pub use clock::MonotonicClock;
pub use clock::{Clock, ManualClock};
pub use error::CoreError;
pub use frame::{FrameBuffer, FrameLayout, FrameView, PixelFormat};
pub use memory::MemoryProtection;
pub use observation::{Analyzer, BoxPx, FaceObservation, Observation, PointPx, StageTiming};
#[cfg(not(target_arch = "wasm32"))]
pub use pool::Watchdog;
pub use pool::{
    Capture, FramePool, Lease, LifeObserver, MAX_BUDGET_MS, MAX_SLOTS, MemoryAudit, PoolConfig, Sweep, WriteSlot,
};
pub use telemetry::{EndCounts, FrameLife, LifeEnd, PermanenceRecorder, PermanenceReport};
pub use thumbnail::{Thumbnail, pixel_luma};
pub use traits::{AnonymousTraits, TraitSet};
