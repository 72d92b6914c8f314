//! Property tests (f64): the gradients of `conv2d_with` (input, weight, bias) equal central
//! finite differences over random dilations, groups, strides and paddings (numbers, `"same"`,
//! including even kernels, and `"valid"`); the output has PyTorch's size.

use antorcha_autograd::{Tensor, Var};
use antorcha_nn::functional::conv2d_with;
use antorcha_nn::{Padding, Size2};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

mod common;

use common::{check, numeric, random};

#[derive(Debug, Clone)]
struct Case {
    n: usize,
    groups: usize,
    cg: usize,
    og: usize,
    h: usize,
    w: usize,
    kernel: Size2,
    stride: Size2,
    dilation: Size2,
    padding: Padding,
    bias: bool,
    seed: u64,
}

impl Case {
    /// PyTorch's output size, or `None` when the dilated kernel does not fit.
    fn out(&self) -> Option<(usize, usize)> {
        let one = |n: usize, k: usize, s: usize, d: usize, pad: (usize, usize)| {
            let span = d * (k - 1) + 1;
            (n + pad.0 + pad.1 >= span).then(|| (n + pad.0 + pad.1 - span) / s + 1)
        };
        let pads = |k: usize, d: usize, p: usize| match &self.padding {
            Padding::Same => (d * (k - 1) / 2, d * (k - 1) - d * (k - 1) / 2),
            Padding::Valid => (0, 0),
            Padding::Size(_) => (p, p),
            Padding::Unknown(_) => unreachable!(),
        };
        let p = match self.padding {
            Padding::Size(s) => s,
            _ => Size2(0, 0),
        };
        Some((
            one(
                self.h,
                self.kernel.0,
                self.stride.0,
                self.dilation.0,
                pads(self.kernel.0, self.dilation.0, p.0),
            )?,
            one(
                self.w,
                self.kernel.1,
                self.stride.1,
                self.dilation.1,
                pads(self.kernel.1, self.dilation.1, p.1),
            )?,
        ))
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            1usize..=2,
            1usize..=3,
            1usize..=2,
            1usize..=2,
            1usize..=6,
            1usize..=6,
        ),
        (
            1usize..=3,
            1usize..=3,
            1usize..=2,
            1usize..=2,
            1usize..=2,
            1usize..=2,
        ),
        (0usize..=4, 0usize..=2, any::<bool>(), any::<u64>()),
    )
        .prop_filter_map(
            "kernel larger than the padded input",
            |((n, groups, cg, og, h, w), (kh, kw, sh, sw, dh, dw), (pk, p, bias, seed))| {
                let padding = match pk {
                    0 => Padding::Same,
                    1 => Padding::Valid,
                    2 => Padding::Size(Size2(p, p)),
                    _ => Padding::Size(Size2(p, 2 - p)),
                };
                let stride = if padding == Padding::Same {
                    Size2(1, 1)
                } else {
                    Size2(sh, sw)
                };
                let c = Case {
                    n,
                    groups,
                    cg,
                    og,
                    h,
                    w,
                    kernel: Size2(kh, kw),
                    stride,
                    dilation: Size2(dh, dw),
                    padding,
                    bias,
                    seed,
                };
                c.out().is_some().then_some(c)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn conv2d_with_gradients_match_finite_differences(case in case()) {
        let mut rng = StdRng::seed_from_u64(case.seed);
        let (c, o) = (case.groups * case.cg, case.groups * case.og);
        let x = random(&[case.n, c, case.h, case.w], &mut rng);
        let wt = random(&[o, case.cg, case.kernel.0, case.kernel.1], &mut rng);
        let b = random(&[o], &mut rng);
        let conv = |x: &Var<f64>, w: &Var<f64>, b: &Var<f64>| {
            conv2d_with(x, w, case.bias.then_some(b), case.stride, case.padding.clone(), case.dilation, case.groups).unwrap()
        };
        let out_shape = conv(&Var::new(x.clone()), &Var::new(wt.clone()), &Var::new(b.clone())).shape();
        let (oh, ow) = case.out().unwrap();
        prop_assert_eq!(&out_shape, &vec![case.n, o, oh, ow]);
        if case.padding == Padding::Same {
            prop_assert_eq!((oh, ow), (case.h, case.w));
        }
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
        }
    }
}
