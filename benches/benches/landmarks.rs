//! The 68-point landmark nets (full and tiny), single-threaded (xtask bench
//! sets RAYON_NUM_THREADS=1), on one 200x200 face box in a 640x480 frame: the
//! whole `landmarks` call (crop, pad, resize to 112, normalize, network, map
//! back to image pixels) and the network alone on its 112x112 input.
//! Weights: `models/face_landmark_68{,_tiny}.safetensors` (`cargo xtask models`).

use std::hint::black_box;
use std::time::Duration;

use candle_core::Module;
use criterion::{Criterion, criterion_group, criterion_main};
use parterre_benches::{FACE_BOX_PX, MODEL_FRAME_HEIGHT_PX, MODEL_FRAME_WIDTH_PX, model_weights, synthetic_rgb_frame};
use parterre_vision::{LandmarkModel, LandmarkNet};

fn landmarks(c: &mut Criterion) {
    let frame = synthetic_rgb_frame(MODEL_FRAME_WIDTH_PX, MODEL_FRAME_HEIGHT_PX);
    let view = frame.view().expect("frame");
    let input = LandmarkNet::input(&view, &FACE_BOX_PX).expect("input");
    let mut group = c.benchmark_group("landmarks_640x480");
    group.sample_size(20).measurement_time(Duration::from_secs(4));
    for (name, model, weights) in [
        ("full", LandmarkModel::Full, "face_landmark_68"),
        ("tiny", LandmarkModel::Tiny, "face_landmark_68_tiny"),
    ] {
        let net = LandmarkNet::new(model, model_weights(weights)).expect("model");
        group.bench_function(format!("{name}_network_112"), |b| {
            b.iter(|| net.forward(black_box(&input)).expect("forward"));
        });
        group.bench_function(format!("{name}_landmarks_box200"), |b| {
            b.iter(|| net.landmarks(black_box(&view), &FACE_BOX_PX).expect("landmarks"));
        });
    }
    group.finish();
}

criterion_group!(benches, landmarks);
criterion_main!(benches);
