//! The frame lifecycle's own cost, at 1280x720 RGBA (3.7 MB a frame):
//! writing a frame into a slot, and wiping it on release. Target: both under
//! 1 ms. Reference measured in the same run: a plain `memcpy` of the frame
//! between two ordinary buffers.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use parterre_benches::synthetic_frame;
use parterre_core::{FrameLayout, FramePool, ManualClock, PixelFormat, PoolConfig};

const WIDTH_PX: u32 = 1280;
const HEIGHT_PX: u32 = 720;

fn pool() -> FramePool {
    let config = PoolConfig::for_max_frame(PixelFormat::Rgba8, WIDTH_PX, HEIGHT_PX).expect("config");
    FramePool::new(config, ManualClock::new(0)).expect("pool")
}

fn frame_pool(c: &mut Criterion) {
    let layout = FrameLayout::packed(PixelFormat::Rgba8, WIDTH_PX, HEIGHT_PX).expect("layout");
    let src = synthetic_frame(layout.len_bytes());
    let mut group = c.benchmark_group("frame_pool_720p");
    group.throughput(Throughput::Bytes(layout.len_bytes() as u64));

    let writing = pool();
    group.bench_function("write_frame_into_slot", |b| {
        b.iter(|| writing.capture(layout, black_box(&src)).expect("capture"));
    });

    let releasing = pool();
    group.bench_function("wipe_on_release", |b| {
        b.iter_batched(
            || {
                releasing.capture(layout, &src).expect("capture");
                releasing.lease_newest().expect("lease")
            },
            |lease| lease.release(),
            BatchSize::PerIteration,
        );
    });

    let mut dst = vec![0u8; src.len()];
    group.bench_function("reference_memcpy", |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)));
    });
    group.finish();
}

criterion_group!(benches, frame_pool);
criterion_main!(benches);
