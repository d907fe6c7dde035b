//! Negative control for `canary_runtime.rs`: the same scenario on the system
//! allocator and with the pool's wiping switched off (core's
//! `negative-control` feature, enabled for this crate's tests only). The scan
//! after each burst's budget must find the marks, or the canary test could
//! not fail.
#![cfg(target_os = "linux")]

mod support;

use support::fresh_seed;

#[test]
fn without_wiping_the_marks_outlive_the_budget() {
    let scans = support::run_bursts(fresh_seed(), 20, 3, true);
    for (burst, report) in scans.after_budget.iter().enumerate() {
        let [row, block, ..] = report.needles.as_slice() else {
            panic!("one entry per needle: {report:?}");
        };
        // Each unwiped slot keeps its last frame: the row once, the block
        // 3 x 96 times.
        assert!(row.hits >= 1 && block.hits >= 3 * 96, "burst {burst}: {report:?}");
    }
    // The pool's own leak check sees the unwiped slots too.
    assert!(scans.summary.audit.residue_bytes > 0, "{:?}", scans.summary.audit);
    eprintln!(
        "control, after stop (slots freed, heap not wiped): {:?}",
        scans.after_stop
    );
}
