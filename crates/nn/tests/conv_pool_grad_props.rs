//! Property tests (f64): the gradients of `conv2d` (input, weight, bias) and `max_pool2d`
//! (input) equal central finite differences, over random small shapes, kernels, strides and
//! paddings.

use antorcha_autograd::{Tensor, Var};
use antorcha_nn::functional::{try_conv2d, try_max_pool2d};
use antorcha_nn::Size2;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

mod common;

use common::{check, numeric, random};

#[derive(Debug, Clone)]
struct ConvCase {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kernel: Size2,
    stride: Size2,
    padding: Size2,
    bias: bool,
    seed: u64,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (1usize..=2, 1usize..=2, 1usize..=6, 1usize..=6, 1usize..=3),
        (
            1usize..=3,
            1usize..=3,
            1usize..=3,
            1usize..=3,
            0usize..=2,
            0usize..=2,
        ),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_filter_map(
            "kernel larger than the padded input",
            |((n, c, h, w, o), (kh, kw, sh, sw, ph, pw), bias, seed)| {
                (h + 2 * ph >= kh && w + 2 * pw >= kw).then_some(ConvCase {
                    n,
                    c,
                    h,
                    w,
                    o,
                    kernel: Size2(kh, kw),
                    stride: Size2(sh, sw),
                    padding: Size2(ph, pw),
                    bias,
                    seed,
                })
            },
        )
}

#[derive(Debug, Clone)]
struct PoolCase {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kernel: Size2,
    stride: Size2,
    padding: Size2,
    seed: u64,
}

fn pool_case() -> impl Strategy<Value = PoolCase> {
    (
        (1usize..=2, 1usize..=2, 1usize..=6, 1usize..=6),
        (
            1usize..=3,
            1usize..=3,
            1usize..=3,
            1usize..=3,
            0usize..=1,
            0usize..=1,
        ),
        any::<u64>(),
    )
        .prop_filter_map(
            "bad pooling geometry",
            |((n, c, h, w), (kh, kw, sh, sw, ph, pw), seed)| {
                let fits = h + 2 * ph >= kh && w + 2 * pw >= kw && 2 * ph <= kh && 2 * pw <= kw;
                fits.then_some(PoolCase {
                    n,
                    c,
                    h,
                    w,
                    kernel: Size2(kh, kw),
                    stride: Size2(sh, sw),
                    padding: Size2(ph, pw),
                    seed,
                })
            },
        )
}

proptest! {
    #[test]
    fn conv2d_gradients_match_finite_differences(case in conv_case()) {
        let mut rng = StdRng::seed_from_u64(case.seed);
        let x = random(&[case.n, case.c, case.h, case.w], &mut rng);
        let wt = random(&[case.o, case.c, case.kernel.0, case.kernel.1], &mut rng);
        let b = random(&[case.o], &mut rng);
        let (stride, padding) = (case.stride, case.padding);
        let conv = |x: &Var<f64>, w: &Var<f64>, b: &Var<f64>| {
            try_conv2d(x, w, case.bias.then_some(b), stride, padding).unwrap()
        };
        let out_shape = conv(&Var::new(x.clone()), &Var::new(wt.clone()), &Var::new(b.clone())).shape();
        let g = random(&out_shape, &mut rng);
        let loss = |x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>| {
            (conv(&Var::new(x.clone()), &Var::new(w.clone()), &Var::new(b.clone())) * Var::new(g.clone())).sum().item()
        };

        let (xv, wv, bv) = (
            Var::new(x.clone()).requires_grad(),
            Var::new(wt.clone()).requires_grad(),
            Var::new(b.clone()).requires_grad(),
        );
        (conv(&xv, &wv, &bv) * Var::new(g.clone())).sum().backward().unwrap();
        check("d/dx", &xv.grad().unwrap(), &numeric(&x, &|t| loss(t, &wt, &b)))?;
        check("d/dw", &wv.grad().unwrap(), &numeric(&wt, &|t| loss(&x, t, &b)))?;
        if case.bias {
            check("d/db", &bv.grad().unwrap(), &numeric(&b, &|t| loss(&x, &wt, t)))?;
        } else {
            prop_assert!(bv.grad().is_none());
        }
    }

    #[test]
    fn max_pool2d_gradient_matches_finite_differences(case in pool_case()) {
        let mut rng = StdRng::seed_from_u64(case.seed);
        // Distinct values at least 0.01 apart, so no window has a tie within EPS.
        let numel = case.n * case.c * case.h * case.w;
        let mut values: Vec<f64> = (0..numel).map(|i| i as f64 * 0.01 + rng.random_range(0.0..0.001)).collect();
        values.shuffle(&mut rng);
        let x = Tensor::from_vec(values, &[case.n, case.c, case.h, case.w]);
        let (k, s, p) = (case.kernel, case.stride, case.padding);
        let out_shape = try_max_pool2d(&Var::new(x.clone()), k, s, p).unwrap().shape();
        let g = random(&out_shape, &mut rng);
        let loss = |t: &Tensor<f64>| {
            (try_max_pool2d(&Var::new(t.clone()), k, s, p).unwrap() * Var::new(g.clone())).sum().item()
        };
        let xv = Var::new(x.clone()).requires_grad();
        (try_max_pool2d(&xv, k, s, p).unwrap() * Var::new(g.clone())).sum().backward().unwrap();
        check("d/dx", &xv.grad().unwrap(), &numeric(&x, &loss))?;
    }
}
