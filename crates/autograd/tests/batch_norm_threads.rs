//! Batch norm's kernels on one and two threads: bit-identical outputs, statistics and
//! gradients on a W5b-sized input (the per-channel sums must not depend on the split), and the
//! same numbers as a naive f64 loop over PyTorch's formulas.

use antorcha_autograd::tensor::{set_num_threads, Float};
use antorcha_autograd::{Tensor, Var};

/// Deterministic values in `[-scale, scale) + shift` (a 64-bit LCG).
fn values<T: Float>(len: usize, seed: u64, scale: f64, shift: f64) -> Vec<T> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            T::cast((2.0 * u - 1.0) * scale + shift)
        })
        .collect()
}

/// Everything one batch norm gives: output, batch statistics, and the gradients of the input,
/// weight and bias, as bit patterns in f64.
#[derive(Debug, PartialEq)]
struct Run {
    output: Vec<u64>,
    stats: Option<(Vec<u64>, Vec<u64>)>,
    grads: [Vec<u64>; 3],
}

fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.to_vec().iter().map(|v| v.as_f64().to_bits()).collect()
}

fn run<T: Float>(shape: &[usize], training: bool, affine: bool) -> Run {
    let numel: usize = shape.iter().product();
    let c = shape[1];
    let x = Var::from_vec(values::<T>(numel, 1, 2.0, 0.5), shape).requires_grad();
    let w = Var::from_vec(values::<T>(c, 2, 1.0, 1.0), &[c]).requires_grad();
    let b = Var::from_vec(values::<T>(c, 3, 1.0, 0.0), &[c]).requires_grad();
    let rm = Tensor::from_vec(values::<T>(c, 4, 0.3, 0.0), &[c]);
    let rv = Tensor::from_vec(values::<T>(c, 5, 0.5, 1.0), &[c]);
    let (wo, bo) = if affine {
        (Some(&w), Some(&b))
    } else {
        (None, None)
    };
    let (y, stats) = x
        .try_batch_norm(wo, bo, Some((&rm, &rv)), training, 1e-5)
        .unwrap();
    let g = Tensor::from_vec(values::<T>(numel, 6, 1.0, 0.0), shape);
    y.backward_with(&g).unwrap();
    let grad = |v: &Var<T>| v.grad().map_or_else(Vec::new, |t| bits(&t));
    Run {
        output: bits(&y.data()),
        stats: stats.map(|(m, v)| (bits(&m), bits(&v))),
        grads: [grad(&x), grad(&w), grad(&b)],
    }
}

/// The batch norm of the same inputs as [`run`], in f64 with plain loops: output, mean,
/// biased variance and the gradients (PyTorch's closed forms).
fn naive<T: Float>(shape: &[usize], training: bool, affine: bool) -> [Vec<f64>; 6] {
    let numel: usize = shape.iter().product();
    let (n, c) = (shape[0], shape[1]);
    let l = numel / (n * c);
    let f = |v: Vec<T>| v.iter().map(|v| v.as_f64()).collect::<Vec<f64>>();
    let x = f(values::<T>(numel, 1, 2.0, 0.5));
    let (mut w, mut b) = (
        f(values::<T>(c, 2, 1.0, 1.0)),
        f(values::<T>(c, 3, 1.0, 0.0)),
    );
    if !affine {
        (w, b) = (vec![1.0; c], vec![0.0; c]);
    }
    let (rm, rv) = (
        f(values::<T>(c, 4, 0.3, 0.0)),
        f(values::<T>(c, 5, 0.5, 1.0)),
    );
    let g = f(values::<T>(numel, 6, 1.0, 0.0));
    let at = |i: usize, ch: usize, k: usize| (i * c + ch) * l + k;
    let count = (n * l) as f64;
    let (mut y, mut gx) = (vec![0.0; numel], vec![0.0; numel]);
    let (mut means, mut vars, mut gw, mut gb) = (vec![], vec![], vec![], vec![]);
    for ch in 0..c {
        let idx: Vec<usize> = (0..n)
            .flat_map(|i| (0..l).map(move |k| at(i, ch, k)))
            .collect();
        let (mean, var) = if training {
            let mean = idx.iter().map(|&j| x[j]).sum::<f64>() / count;
            let var = idx.iter().map(|&j| (x[j] - mean).powi(2)).sum::<f64>() / count;
            (mean, var)
        } else {
            (rm[ch], rv[ch])
        };
        let invstd = 1.0 / (var + 1e-5).sqrt();
        let gsum: f64 = idx.iter().map(|&j| g[j]).sum();
        let gxhat: f64 = idx.iter().map(|&j| g[j] * (x[j] - mean) * invstd).sum();
        for &j in &idx {
            let xhat = (x[j] - mean) * invstd;
            y[j] = xhat * w[ch] + b[ch];
            gx[j] = if training {
                (g[j] - gsum / count - xhat * gxhat / count) * invstd * w[ch]
            } else {
                g[j] * invstd * w[ch]
            };
        }
        means.push(mean);
        vars.push(var);
        gw.push(gxhat);
        gb.push(gsum);
    }
    [y, means, vars, gx, gw, gb]
}

/// Checks `got` (bit patterns of f64) against `want` to `tol` relative to the largest value.
fn close(what: &str, got: &[u64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let size = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = f64::from_bits(g);
        assert!(
            (g - w).abs() <= tol * size,
            "{what}[{k}]: got {g}, want {w} (tolerance {})",
            tol * size
        );
    }
}

fn check_naive<T: Float>(shape: &[usize], training: bool, affine: bool, r: &Run, tol: f64) {
    let [y, mean, var, gx, gw, gb] = naive::<T>(shape, training, affine);
    close("output", &r.output, &y, tol);
    if training {
        let (m, v) = r.stats.as_ref().expect("training gives statistics");
        close("mean", m, &mean, tol);
        close("var", v, &var, tol);
    } else {
        assert!(r.stats.is_none());
    }
    close("input grad", &r.grads[0], &gx, tol);
    if affine {
        close("weight grad", &r.grads[1], &gw, tol);
        close("bias grad", &r.grads[2], &gb, tol);
    }
}

// One test: the thread count is global to the process.
#[test]
fn one_and_two_threads_give_the_same_bits_and_the_naive_loop_numbers() {
    let before = antorcha_autograd::tensor::num_threads();
    // W5b's two batch norms (f32), then small odd shapes in f64 (2-D [N, C] included).
    let w5b: [&[usize]; 2] = [&[64, 32, 26, 26], &[64, 64, 11, 11]];
    for shape in w5b {
        for (training, affine) in [(true, true), (false, true), (true, false)] {
            set_num_threads(1);
            let one = run::<f32>(shape, training, affine);
            set_num_threads(2);
            let two = run::<f32>(shape, training, affine);
            assert!(
                one == two,
                "{shape:?} training={training}: 1 and 2 threads differ"
            );
            check_naive::<f32>(shape, training, affine, &one, 1e-4);
        }
    }
    let small: [&[usize]; 4] = [&[6, 4], &[5, 3, 7], &[3, 5, 4, 9], &[2, 40, 33, 17]];
    for shape in small {
        for (training, affine) in [(true, true), (false, true), (true, false), (false, false)] {
            set_num_threads(1);
            let one = run::<f64>(shape, training, affine);
            set_num_threads(2);
            let two = run::<f64>(shape, training, affine);
            assert!(
                one == two,
                "{shape:?} training={training}: 1 and 2 threads differ"
            );
            check_naive::<f64>(shape, training, affine, &one, 1e-12);
        }
    }
    set_num_threads(before);
}
