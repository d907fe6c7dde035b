//! With `ZeroizingAllocator` as this test binary's global allocator, heap
//! blocks full of a marker leave no copy in process memory once freed.
//! `zeroizing_global_control.rs` runs the same code on the system allocator
//! and finds them, so this test can fail.
#![cfg(target_os = "linux")]

mod freed_marker;

use parterre_core::zeroizing_alloc::ZeroizingAllocator;

#[global_allocator]
static ALLOC: ZeroizingAllocator = ZeroizingAllocator::new();

#[test]
fn freed_blocks_leave_no_marker_in_process_memory() {
    let wiped_before = ALLOC.wiped_bytes();
    let (live, freed) = freed_marker::free_marked_blocks();
    assert_eq!(live, freed_marker::PLANTED, "the scan must see the live blocks");
    assert_eq!(freed, 0);
    assert!(ALLOC.wiped_bytes() - wiped_before >= (freed_marker::PLANTED * freed_marker::MARKER_BYTES) as u64);
}
