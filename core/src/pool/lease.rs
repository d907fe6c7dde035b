//! A lease: the analysis' claim on one frame, for as long as its budget allows.

use std::fmt;
use std::sync::Arc;

use super::{FrameMeta, Shared, lock};
use crate::error::CoreError;
use crate::frame::{FrameLayout, FrameView};
use crate::telemetry::LifeEnd;

/// The analysis' hold on one frame. Dropping or releasing it wipes the frame.
/// Not `Clone`: one frame, one reader.
pub struct Lease {
    shared: Arc<Shared>,
    slot: usize,
    meta: FrameMeta,
    layout: FrameLayout,
}

impl Lease {
    pub(super) fn new(shared: Arc<Shared>, slot: usize, meta: FrameMeta, layout: FrameLayout) -> Self {
        Self {
            shared,
            slot,
            meta,
            layout,
        }
    }

    /// The frame's number in its pool.
    pub fn generation(&self) -> u64 {
        self.meta.generation
    }

    /// When the frame's pixels started being written.
    pub fn written_at_us(&self) -> u64 {
        self.meta.written_at_us
    }

    /// When the frame is wiped whether or not it was released.
    pub fn deadline_us(&self) -> u64 {
        self.meta.deadline_us
    }

    /// Format and size of the frame (metadata, readable after expiry too).
    pub fn layout(&self) -> FrameLayout {
        self.layout
    }

    /// Runs `read` on the pixels, unless the frame has expired or been wiped.
    ///
    /// The frame cannot be wiped while `read` runs, so keep it short: convert
    /// the pixels into what the analysis needs and return. A read past the
    /// deadline wipes the frame on the spot and returns `Expired`.
    pub fn read<R>(&self, read: impl FnOnce(FrameView<'_>) -> R) -> Result<R, CoreError> {
        let mut state = lock(&self.shared.slots[self.slot]);
        let ours = state.frame.is_some_and(|meta| meta.generation == self.meta.generation);
        if !ours {
            return Err(CoreError::Expired);
        }
        if self.shared.expire_if_due(&mut state, self.shared.clock.now_us()) {
            return Err(CoreError::Expired);
        }
        state.buffer.view().map(read).ok_or(CoreError::Expired)
    }

    /// Ends the analysis of this frame and wipes it now.
    pub fn release(self) {
        drop(self);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.slots[self.slot]);
        if state.frame.is_some_and(|meta| meta.generation == self.meta.generation) {
            self.shared.end_life(&mut state, LifeEnd::Released);
        }
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("generation", &self.meta.generation)
            .field("deadline_us", &self.meta.deadline_us)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}
