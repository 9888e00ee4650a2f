//! The layers' split paths, run natively with simulated thread counts: the same seed and
//! thread count give identical weights; 1, 2 and 3 threads agree within float tolerance.

use crate::kernels::loss::Loss;
use crate::kernels::{Activation, Padding};
use crate::layers::LayerSpec;
use crate::model::{OptimizerSpec, Sequential};
use crate::parallel::with_simulated_threads;

fn train(specs: &[LayerSpec], shape: &[usize], threads: usize, batch: usize) -> Vec<f32> {
    with_simulated_threads(threads, || {
        let mut m = Sequential::new(shape, specs, 7).unwrap();
        m.compile(
            OptimizerSpec::Adam { learning_rate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
            Loss::MeanSquaredError,
        );
        let n: usize = shape.iter().product();
        let x: Vec<f32> = (0..batch * n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        for _ in 0..3 {
            m.train_step(&x, &x, batch).unwrap();
        }
        m.params().to_vec()
    })
}

fn check(specs: &[LayerSpec], shape: &[usize], batch: usize) {
    let one = train(specs, shape, 1, batch);
    for threads in [2, 3] {
        let a = train(specs, shape, threads, batch);
        let b = train(specs, shape, threads, batch);
        assert_eq!(a, b, "{threads} threads: not deterministic");
        let worst = one.iter().zip(&a).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{threads} threads differ from 1 by {worst}");
    }
}

#[test]
fn dense_split_matches_one_thread() {
    let d = |units, activation| LayerSpec::Dense { units, activation };
    check(&[d(16, Activation::Relu), d(8, Activation::Tanh), d(20, Activation::Sigmoid)], &[20], 13);
    check(&[d(4, Activation::Relu), d(6, Activation::Sigmoid)], &[6], 2);
}

#[test]
fn conv_split_matches_one_thread() {
    let specs = [
        LayerSpec::Conv2d { filters: 4, kernel: [3, 3], padding: Padding::Same, activation: Activation::Relu },
        LayerSpec::MaxPooling2d { pool: [2, 2], strides: [2, 2], padding: Padding::Same },
        LayerSpec::Conv2d { filters: 3, kernel: [3, 3], padding: Padding::Same, activation: Activation::Relu },
        LayerSpec::UpSampling2d { size: [2, 2] },
        LayerSpec::Conv2d { filters: 1, kernel: [3, 3], padding: Padding::Same, activation: Activation::Sigmoid },
    ];
    check(&specs, &[8, 8, 1], 5);
    // Large enough for both fused pairs (Conv2D + MaxPooling2D, UpSampling2D + Conv2D).
    let mut wide = specs;
    wide[2] = LayerSpec::Conv2d { filters: 4, kernel: [3, 3], padding: Padding::Same, activation: Activation::Relu };
    assert_eq!(Sequential::new(&[16, 16, 1], &wide, 7).unwrap().fused_pairs(), [0, 3]);
    check(&wide, &[16, 16, 1], 5);
}
