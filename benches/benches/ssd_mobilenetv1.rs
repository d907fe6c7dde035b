//! SSD MobileNetV1, single-threaded (xtask bench sets RAYON_NUM_THREADS=1),
//! on a 640x480 frame: the whole `detect` (preprocessing to 512x512, network,
//! decoding and non-max suppression) and the network alone on its input.
//! Weights: `models/ssd_mobilenetv1.safetensors` (`cargo xtask models`).

use std::hint::black_box;
use std::time::Duration;

use candle_core::Module;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use parterre_benches::{MODEL_FRAME_HEIGHT_PX, MODEL_FRAME_WIDTH_PX, model_weights, synthetic_rgb_frame};
use parterre_vision::{SsdMobilenetV1, SsdOptions};

fn ssd_mobilenetv1(c: &mut Criterion) {
    let detector = SsdMobilenetV1::new(model_weights("ssd_mobilenetv1")).expect("model");
    let frame = synthetic_rgb_frame(MODEL_FRAME_WIDTH_PX, MODEL_FRAME_HEIGHT_PX);
    let view = frame.view().expect("frame");
    let mut group = c.benchmark_group("ssd_mobilenetv1_640x480");
    // A call takes a good fraction of a second: one call per sample, 20 samples.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("detect", |b| {
        b.iter(|| {
            detector
                .detect(black_box(&view), SsdOptions::default())
                .expect("detect")
        });
    });
    let input = SsdMobilenetV1::input(&view).expect("input");
    group.bench_function("network_512", |b| {
        b.iter(|| detector.forward(black_box(&input)).expect("forward"));
    });
    group.finish();
}

criterion_group!(benches, ssd_mobilenetv1);
criterion_main!(benches);
