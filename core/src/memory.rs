//! One page-aligned allocation, locked in RAM and left out of core dumps: the
//! only memory that ever holds a frame's pixels.
//!
//! Written by hand (rather than a `Vec` plus a crate) because the privacy
//! guarantee needs what no single crate gives together: page alignment so
//! `mlock` and `madvise(MADV_DONTDUMP)` cover exactly the buffer (crates such
//! as `region` lock but do not exclude from dumps), and a wipe before the
//! memory goes back to the allocator.
#![allow(unsafe_code)]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

use zeroize::Zeroize;

use crate::error::CoreError;

/// What the operating system agreed to do for the frame memory. Reported,
/// never fatal: a frame that may be swapped out is still wiped on time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemoryProtection {
    /// `mlock` succeeded: the pixels are never written to swap.
    pub locked_in_ram: bool,
    /// `madvise(MADV_DONTDUMP)` succeeded: a crash dump holds no pixels.
    pub excluded_from_core_dumps: bool,
    /// Why a protection is missing, when one is.
    pub note: Option<String>,
}

/// A zero-initialised, page-aligned block that is wiped before it is freed.
pub(crate) struct VolatileRegion {
    ptr: NonNull<u8>,
    layout: Layout,
    protection: MemoryProtection,
}

// SAFETY: the region owns its allocation exclusively, like a `Box<[u8]>`;
// shared access only reads through `&self`, writes need `&mut self`.
unsafe impl Send for VolatileRegion {}
// SAFETY: as above; `&VolatileRegion` gives out only `&[u8]`.
unsafe impl Sync for VolatileRegion {}

impl VolatileRegion {
    /// Allocates `len_bytes` (rounded up to whole pages) and protects them.
    pub(crate) fn new(len_bytes: usize) -> Result<Self, CoreError> {
        let page_bytes = page_size();
        let rounded = len_bytes
            .max(1)
            .checked_next_multiple_of(page_bytes)
            .ok_or(CoreError::OutOfMemory { bytes: len_bytes })?;
        let layout =
            Layout::from_size_align(rounded, page_bytes).map_err(|_| CoreError::OutOfMemory { bytes: len_bytes })?;
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(CoreError::OutOfMemory { bytes: rounded })?;
        let protection = protect(ptr, rounded);
        Ok(Self {
            ptr,
            layout,
            protection,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.layout.size()
    }

    pub(crate) fn protection(&self) -> &MemoryProtection {
        &self.protection
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes, initialised (zeroed at allocation)
        // and borrowed immutably with self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, borrowed mutably with self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
    }
}

impl Drop for VolatileRegion {
    fn drop(&mut self) {
        wipe(self.as_mut_slice());
        unprotect(self.ptr, self.len());
        // SAFETY: allocated in `new` with exactly this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// Overwrites `bytes` with zeros in a way the optimizer may not elide, even
/// right before the memory is freed. `zeroize` does it (volatile writes and a
/// fence) at memory bandwidth: about 0.15 ms for a 720p RGBA frame, the same
/// as a plain `memset` (see the `frame_pool` benchmark).
pub(crate) fn wipe(bytes: &mut [u8]) {
    bytes.zeroize();
}

#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> usize {
    4096
}

#[cfg(target_os = "linux")]
fn protect(ptr: NonNull<u8>, len: usize) -> MemoryProtection {
    let mut notes = Vec::new();
    // SAFETY: ptr..ptr+len is one live, page-aligned allocation of ours.
    let locked_in_ram = unsafe { libc::mlock(ptr.as_ptr().cast(), len) } == 0;
    if !locked_in_ram {
        notes.push(format!(
            "mlock failed ({}); raise RLIMIT_MEMLOCK (ulimit -l) to keep frames out of swap",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: as above.
    let excluded_from_core_dumps = unsafe { libc::madvise(ptr.as_ptr().cast(), len, libc::MADV_DONTDUMP) } == 0;
    if !excluded_from_core_dumps {
        notes.push(format!(
            "madvise(MADV_DONTDUMP) failed ({})",
            std::io::Error::last_os_error()
        ));
    }
    MemoryProtection {
        locked_in_ram,
        excluded_from_core_dumps,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

#[cfg(target_os = "linux")]
fn unprotect(ptr: NonNull<u8>, len: usize) {
    // SAFETY: as in protect. Failure only means it was never locked.
    unsafe { libc::munlock(ptr.as_ptr().cast(), len) };
}

#[cfg(not(target_os = "linux"))]
fn protect(_ptr: NonNull<u8>, _len: usize) -> MemoryProtection {
    MemoryProtection {
        locked_in_ram: false,
        excluded_from_core_dumps: false,
        note: Some(
            "memory locking and core-dump exclusion are implemented for Linux only; \
             in a browser, WebAssembly memory is never swapped to a file by the page"
                .to_owned(),
        ),
    }
}

#[cfg(not(target_os = "linux"))]
fn unprotect(_ptr: NonNull<u8>, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_page_aligned_zeroed_and_rounded() {
        let region = VolatileRegion::new(10).expect("alloc");
        assert!(region.len() >= 10);
        assert_eq!(region.len() % page_size(), 0);
        assert_eq!(region.as_slice().as_ptr() as usize % page_size(), 0);
        assert!(region.as_slice().iter().all(|&b| b == 0));
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let mut region = VolatileRegion::new(5000).expect("alloc");
        region.as_mut_slice().fill(0xA5);
        wipe(region.as_mut_slice());
        assert!(region.as_slice().iter().all(|&b| b == 0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn protection_is_reported_not_fatal() {
        let region = VolatileRegion::new(1 << 20).expect("alloc");
        let protection = region.protection();
        // Whatever the limits of the test machine, a missing protection says why.
        if !(protection.locked_in_ram && protection.excluded_from_core_dumps) {
            assert!(protection.note.is_some());
        }
    }
}
