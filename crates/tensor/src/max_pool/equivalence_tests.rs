//! The 2x2 loops and the two-thread split give exactly what the general loop and a serial
//! scatter give: random shapes (odd sizes, planes that do and do not reach the split), values
//! with ties, infinities, NaNs and signed zeros, at 1 and 2 threads.

use super::*;
use crate::parallel::set_num_threads;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Mostly a few repeated values (ties), sometimes NaN, ±inf or ±0, sometimes any value.
    fn value<T: Float>(&mut self) -> T {
        let specials = [
            0.5,
            0.5,
            -1.0,
            2.0,
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
        ];
        let v = match self.below(4) {
            0 => (self.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5,
            _ => specials[self.below(specials.len())],
        };
        T::from(v).unwrap()
    }
}

fn two_by_two() -> MaxPool2dOptions {
    MaxPool2dOptions {
        kernel_size: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
        dilation: [1, 1],
        ceil_mode: false,
    }
}

fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.to_vec()
        .iter()
        .map(|v| v.to_f64().unwrap().to_bits())
        .collect()
}

/// The general loop ([`pool_any`]) over every plane, on one thread.
fn general<T: Float>(x: &Tensor<T>, o: &MaxPool2dOptions) -> (Vec<T>, Vec<i64>) {
    let shape = x.shape();
    let nd = shape.len();
    let (h, w) = (shape[nd - 2], shape[nd - 1]);
    let [(kh, kw), (sh, sw), (ph, pw), (dh, dw)] =
        [o.kernel_size, o.stride, o.padding, o.dilation].map(|[a, b]| (a, b));
    let oh = out_size("test", h, kh, sh, ph, dh, o.ceil_mode).unwrap();
    let ow = out_size("test", w, kw, sw, pw, dw, o.ceil_mode).unwrap();
    let rows: Vec<Vec<usize>> = (0..oh).map(|o| taps(o, h, kh, sh, ph, dh)).collect();
    let cols: Vec<Vec<usize>> = (0..ow).map(|o| taps(o, w, kw, sw, pw, dw)).collect();
    let xs = x.to_vec();
    let (mut vals, mut idx) = (Vec::new(), Vec::new());
    for plane in xs.chunks_exact(h * w) {
        let mut v = vec![MaybeUninit::uninit(); oh * ow];
        let mut i = vec![MaybeUninit::uninit(); oh * ow];
        pool_any(plane, w, (&rows, &cols), &mut v, &mut i);
        // SAFETY: `pool_any` writes all its outputs.
        vals.extend(v.iter().map(|v| unsafe { v.assume_init() }));
        idx.extend(i.iter().map(|i| unsafe { i.assume_init() }));
    }
    (vals, idx)
}

/// PyTorch's backward, serially: zeros, then each gradient added at its index in order.
fn serial_scatter<T: Float>(g: &[T], idx: &[i64], planes: usize, area: usize) -> Vec<T> {
    let per = g.len() / planes;
    let mut dx = vec![T::zero(); planes * area];
    for p in 0..planes {
        for k in p * per..(p + 1) * per {
            dx[p * area + idx[k] as usize] += g[k];
        }
    }
    dx
}

/// A random `[N, C, H, W]` (or `[C, H, W]`) shape: small odd and even planes, and now and then
/// a batch large enough for the two-thread splits.
fn shape(rng: &mut Rng) -> Vec<usize> {
    let (h, w) = (2 + rng.below(15), 2 + rng.below(15));
    if rng.below(6) == 0 {
        // At least 2^15 outputs and 2^16 inputs of 2x2 windows: both splits.
        let (h, w) = (20 + rng.below(10), 20 + rng.below(10));
        return vec![16 + rng.below(3), 32, h, w];
    }
    match rng.below(3) {
        0 => vec![1 + rng.below(4), h, w],
        _ => vec![1 + rng.below(3), 1 + rng.below(4), h, w],
    }
}

fn forward_case<T: Float>(rng: &mut Rng) {
    let shape = shape(rng);
    let n: usize = shape.iter().product();
    let x = Tensor::from_vec((0..n).map(|_| rng.value::<T>()).collect(), &shape);
    let (want, want_idx) = general(&x, &two_by_two());
    let (y, idx) = x.try_max_pool2d_with_indices(&two_by_two()).unwrap();
    let what = format!("{shape:?}");
    assert_eq!(idx.to_vec(), want_idx, "{what}");
    let want = Tensor::from_vec(want, y.shape());
    assert_eq!(bits(&y), bits(&want), "{what}");
}

fn backward_case<T: Float>(rng: &mut Rng) {
    let shape = shape(rng);
    let nd = shape.len();
    let n: usize = shape.iter().product();
    let (h, w) = (shape[nd - 2], shape[nd - 1]);
    let x = Tensor::from_vec((0..n).map(|_| rng.value::<T>()).collect(), &shape);
    // Indices in their 2x2 windows (the direct path), from overlapping or ceil-mode windows
    // (the scatter), and 2x2 ones with one moved out of its window (a plane falls back).
    let o = match rng.below(4) {
        0 | 1 => two_by_two(),
        2 => MaxPool2dOptions {
            kernel_size: [2, 2],
            stride: [1, 1],
            ..two_by_two()
        },
        _ => MaxPool2dOptions {
            ceil_mode: true,
            ..two_by_two()
        },
    };
    let (y, idx) = x.try_max_pool2d_with_indices(&o).unwrap();
    let mut is = idx.to_vec();
    if rng.below(3) == 0 {
        let k = rng.below(is.len());
        is[k] = rng.below(h * w) as i64;
    }
    let idx = Tensor::from_vec(is.clone(), idx.shape());
    let g: Vec<T> = (0..y.numel()).map(|_| rng.value::<T>()).collect();
    let planes = n / (h * w);
    let want = serial_scatter(&g, &is, planes, h * w);
    let g = Tensor::from_vec(g, y.shape());
    let dx = g.try_max_pool2d_backward(&idx, &shape).unwrap();
    let want = Tensor::from_vec(want, &shape);
    assert_eq!(bits(&dx), bits(&want), "{shape:?} {o:?}");
}

#[test]
fn the_two_by_two_forward_equals_the_general_loop_on_random_shapes() {
    let mut rng = Rng(1);
    for threads in [1, 2] {
        set_num_threads(threads);
        for _ in 0..60 {
            forward_case::<f32>(&mut rng);
            forward_case::<f64>(&mut rng);
        }
    }
}

#[test]
fn the_backward_equals_a_serial_scatter_on_random_shapes() {
    let mut rng = Rng(2);
    for threads in [1, 2] {
        set_num_threads(threads);
        for _ in 0..60 {
            backward_case::<f32>(&mut rng);
            backward_case::<f64>(&mut rng);
        }
    }
}

/// PyTorch's rule for NaNs: a later NaN replaces an earlier one. From torch 2.15,
/// `F.max_pool2d(x, 2, 2, return_indices=True)` and `F.max_pool2d(x, 2, 1, ...)` on
/// `[[[[nan, 1, nan, nan], [2, nan, 3, nan]]]]` give indices `[[[[5, 7]]]]` and
/// `[[[[5, 5, 7]]]]`.
#[test]
fn the_last_nan_of_a_window_wins_as_in_pytorch() {
    let nan = f32::NAN;
    let x = Tensor::from_vec(vec![nan, 1.0, nan, nan, 2.0, nan, 3.0, nan], &[1, 1, 2, 4]);
    let (y, idx) = x.try_max_pool2d_with_indices(&two_by_two()).unwrap();
    assert_eq!(idx.to_vec(), vec![5, 7]);
    assert!(y.to_vec().iter().all(|v| v.is_nan()));
    let stride_1 = MaxPool2dOptions {
        stride: [1, 1],
        ..two_by_two()
    };
    let (_, idx) = x.try_max_pool2d_with_indices(&stride_1).unwrap();
    assert_eq!(idx.to_vec(), vec![5, 5, 7]);
}

#[test]
fn an_empty_plane_is_an_error_and_bad_indices_are_found_on_either_thread() {
    let x = Tensor::<f32>::from_vec(vec![], &[1, 1, 0, 3]);
    let padded = MaxPool2dOptions {
        padding: [1, 1],
        ..two_by_two()
    };
    let e = x.try_max_pool2d_with_indices(&padded).unwrap_err();
    assert!(e.to_string().contains("max_pool2d"), "{e}");
    let shape = [8, 32, 16, 16];
    let n: usize = shape.iter().product();
    let x = Tensor::from_vec((0..n).map(|i| i as f32).collect(), &shape);
    let (y, idx) = x.try_max_pool2d_with_indices(&two_by_two()).unwrap();
    for threads in [1, 2] {
        set_num_threads(threads);
        for at in [3, idx.numel() - 3] {
            let mut is = idx.to_vec();
            is[at] = 256;
            let bad = Tensor::from_vec(is, idx.shape());
            let e = y.try_max_pool2d_backward(&bad, &shape).unwrap_err();
            assert!(
                e.to_string().contains("max_pool2d_backward")
                    && e.to_string().contains("index 256"),
                "{e}"
            );
        }
    }
}
