//! The process-memory scanner's own tests: it finds every planted copy of a
//! marker (across its chunk borders), finds nothing once they are wiped,
//! never finds its own copy of the needles, and is fast enough to run after
//! every frame's budget; and the canary marks survive into the detector's
//! resized input, where no byte of the frame is left.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parterre_core::zeroizing_alloc::wipe;
use parterre_core::{FrameBuffer, FrameLayout, PixelFormat};
use parterre_native::memscan::{Needle, canary, scan_process_memory};
use parterre_vision::TinyFaceDetector;

const MARKER_BYTES: usize = 64;

/// A seed no other test in this binary shares.
fn fresh_seed(salt: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Byte `index` of the marker for `seed`, computed on demand so that no copy
/// of the whole marker is ever kept.
fn marker_byte(seed: u64, index: usize) -> u8 {
    let mut z = seed ^ (index as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 31)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 29)) as u8
}

fn needle(seed: u64) -> Needle {
    Needle::from_fn(MARKER_BYTES, |i| marker_byte(seed, i))
}

#[test]
fn every_planted_copy_is_found_once_and_none_after_a_wipe() {
    let seed = fresh_seed(1);
    // 3 MiB of back-to-back copies: the scanner's 1 MiB chunk borders fall
    // inside some of them (glibc's mmap blocks start 16 bytes into a page),
    // so a border bug miscounts. The allocation is made once, in place.
    let copies = 3 * (1 << 20) / MARKER_BYTES;
    let mut planted: Vec<u8> = (0..copies * MARKER_BYTES)
        .map(|i| marker_byte(seed, i % MARKER_BYTES))
        .collect();
    let found = scan_process_memory(&[needle(seed)]).expect("scan");
    assert_eq!(found.needles[0].hits, copies, "{found:?}");

    wipe(&mut planted);
    let after = scan_process_memory(&[needle(seed)]).expect("scan");
    assert_eq!(after.total_hits(), 0, "{after:?}");
    drop(planted);
}

#[test]
fn the_scanner_never_finds_its_own_needles() {
    let needles = [needle(fresh_seed(2)), needle(fresh_seed(3))];
    // Twice: the second scan must not find what the first left behind.
    for _ in 0..2 {
        let report = scan_process_memory(&needles).expect("scan");
        assert_eq!(report.total_hits(), 0, "{report:?}");
        assert_eq!(report.needles.len(), 2);
        assert!(report.regions_scanned > 0 && report.bytes_scanned > 0, "{report:?}");
    }
}

#[test]
fn a_quarter_gib_process_scans_in_under_a_second() {
    let ballast_bytes = 256 << 20;
    // Non-zero, so every page is really mapped and read.
    // `black_box`: an optimised build may otherwise never allocate a vector
    // nothing reads.
    let ballast = std::hint::black_box(vec![0x5Cu8; ballast_bytes]);
    let needles = [needle(fresh_seed(4)), needle(fresh_seed(5)), needle(fresh_seed(6))];
    let started = Instant::now();
    let report = scan_process_memory(&needles).expect("scan");
    let elapsed = started.elapsed();
    assert!(report.bytes_scanned >= ballast_bytes as u64, "{report:?}");
    assert_eq!(report.total_hits(), 0, "{report:?}");
    assert!(
        elapsed < Duration::from_secs(1),
        "{} MiB in {elapsed:?}",
        report.bytes_scanned >> 20
    );
    drop(std::hint::black_box(ballast));
}

#[test]
fn the_canary_marks_are_found_in_the_frame_and_in_the_resized_detector_input() {
    let (width_px, height_px) = (640, 480);
    let seed = fresh_seed(7);
    let layout = FrameLayout::packed(PixelFormat::Rgb8, width_px, height_px).expect("layout");
    let mut rgb = vec![90u8; layout.len_bytes()];
    canary::paint_canary(&mut rgb, width_px, height_px, seed).expect("paint");
    let mut frame = FrameBuffer::with_capacity(layout.len_bytes()).expect("frame");
    frame.write_from(layout, &rgb).expect("frame");
    wipe(&mut rgb);
    drop(rgb);
    // The tiny detector's green mean (vision's `tiny_face_detector.rs`).
    let needles = [
        canary::row_needle(seed),
        canary::block_needle(),
        canary::block_plane_needle(1, 114.697),
    ];
    let count = || -> Vec<usize> {
        let report = scan_process_memory(&needles).expect("scan");
        report.needles.iter().map(|n| n.hits).collect()
    };

    // The frame alone: the row once; three 32-pixel block needles in each of
    // the block's 96 rows; no f32 plane yet.
    assert_eq!(count(), [1, 3 * 96, 0]);
    let view = frame.view().expect("view");
    // 640 px pad to 640 and resize to 320: the block becomes 48 px square,
    // every output pixel sampling only block pixels, so 3 runs of 16 values
    // in each of its 48 rows.
    let input = TinyFaceDetector::input(&view, 320).expect("input");
    assert_eq!(count(), [1, 3 * 96, 3 * 48]);
    drop(input);
}
