//! `conv2d` (`ConvolutionBackward0`) over every option: the gradients of the input, weight and
//! bias equal central finite differences, and so do the second derivatives a `create_graph`
//! backward gives (through `ConvolutionBackwardBackward0`); the node carries PyTorch's
//! attributes.

use antorcha_autograd::tensor::Conv2dOptions;
use antorcha_autograd::{grad, Attr, BackwardOptions, Tensor, Var};

const EPS: f64 = 1e-6;

/// Values in [-1, 1) from a fixed xorshift stream.
fn noise(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let v = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(v, shape)
}

fn cases() -> Vec<(Vec<usize>, [usize; 4], Conv2dOptions)> {
    let o = Conv2dOptions::new;
    vec![
        (vec![2, 2, 5, 4], [3, 2, 3, 2], o()),
        (
            vec![1, 4, 6, 5],
            [2, 2, 2, 3],
            o().stride([2, 1])
                .padding([1, 2])
                .dilation([2, 1])
                .groups(2),
        ),
        (
            vec![2, 1, 4, 4],
            [2, 1, 2, 2],
            o().padding_asymmetric([0, 1], [1, 0]),
        ),
        (vec![4, 3, 5], [2, 4, 1, 1], o()),
    ]
}

/// `∂f/∂t` by central differences.
fn numeric(t: &Tensor<f64>, f: &dyn Fn(&Tensor<f64>) -> f64) -> Vec<f64> {
    let base = t.to_vec();
    (0..base.len())
        .map(|i| {
            let (mut p, mut m) = (base.clone(), base.clone());
            p[i] += EPS;
            m[i] -= EPS;
            (f(&Tensor::from_vec(p, t.shape())) - f(&Tensor::from_vec(m, t.shape()))) / (2.0 * EPS)
        })
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 + 1e-5 * a.abs().max(b.abs()),
            "{what}[{i}]: autograd {a} vs numeric {b}"
        );
    }
}

/// `sum(conv(x, w, b)² · r)`: not linear, so the gradient depends on every input.
fn loss(x: &Var<f64>, w: &Var<f64>, b: &Var<f64>, r: &Var<f64>, o: &Conv2dOptions) -> Var<f64> {
    let y = x.try_conv2d(w, Some(b), o).unwrap();
    y.mul(&y).mul(r).sum()
}

#[test]
fn first_and_second_derivatives_equal_finite_differences() {
    for (i, (xs, ws, o)) in cases().into_iter().enumerate() {
        let seed = 10 * i as u64;
        let (x0, w0, b0) = (
            noise(&xs, seed + 1),
            noise(&ws, seed + 2),
            noise(&[ws[0]], seed + 3),
        );
        let probe = Var::new(x0.clone())
            .try_conv2d(&Var::new(w0.clone()), None, &o)
            .unwrap();
        let r = Var::new(noise(&probe.shape(), seed + 4));
        let f = |x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>| {
            loss(
                &Var::new(x.clone()),
                &Var::new(w.clone()),
                &Var::new(b.clone()),
                &r,
                &o,
            )
            .item()
        };
        let x = Var::new(x0.clone()).requires_grad();
        let w = Var::new(w0.clone()).requires_grad();
        let b = Var::new(b0.clone()).requires_grad();
        let y = x.try_conv2d(&w, Some(&b), &o).unwrap();
        if xs.len() == 4 {
            let node = y.grad_fn().unwrap();
            assert_eq!(node.name(), "ConvolutionBackward0");
            let attrs = node.attrs();
            let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, a)| a.clone());
            let ints = |v: [usize; 2]| Some(Attr::Ints(v.iter().map(|&d| d as i64).collect()));
            assert_eq!(get("stride"), ints(o.stride));
            assert_eq!(get("padding"), ints(o.padding));
            assert_eq!(get("dilation"), ints(o.dilation));
            assert_eq!(get("groups"), Some(Attr::Int(o.groups as i64)));
            assert_eq!(get("transposed"), Some(Attr::Bool(false)));
            assert_eq!(get("output_padding"), Some(Attr::Ints(vec![0, 0])));
            assert_eq!(
                get("bias_sym_sizes_opt"),
                Some(Attr::Ints(vec![ws[0] as i64]))
            );
            let saved: Vec<_> = node.saved().iter().map(|s| s.name).collect();
            assert_eq!(saved, ["input", "weight"]);
        }
        let l = loss(&x, &w, &b, &r, &o);
        let g = grad(
            &l,
            &[&x, &w, &b],
            None,
            BackwardOptions {
                retain_graph: true,
                create_graph: true,
            },
        )
        .unwrap();
        let (gx, gw, gb) = (
            g[0].clone().unwrap(),
            g[1].clone().unwrap(),
            g[2].clone().unwrap(),
        );
        assert_close("dx", &gx.to_vec(), &numeric(&x0, &|t| f(t, &w0, &b0)));
        assert_close("dw", &gw.to_vec(), &numeric(&w0, &|t| f(&x0, t, &b0)));
        assert_close("db", &gb.to_vec(), &numeric(&b0, &|t| f(&x0, &w0, t)));
        // Second order: h = <dx, u> + <dw, v>; its gradient against the differences of the
        // first-order gradients (computed without a graph).
        let (u, v) = (
            Var::new(noise(&xs, seed + 5)),
            Var::new(noise(&ws, seed + 6)),
        );
        assert!(gx.grad_fn_name().is_some() && gw.grad_fn_name().is_some());
        let h = gx.mul(&u).sum().add(&gw.mul(&v).sum());
        let hg = grad(&h, &[&x, &w, &b], None, BackwardOptions::default()).unwrap();
        let first = |x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>| {
            let (x, w, b) = (
                Var::new(x.clone()).requires_grad(),
                Var::new(w.clone()).requires_grad(),
                Var::new(b.clone()).requires_grad(),
            );
            let g = grad(
                &loss(&x, &w, &b, &r, &o),
                &[&x, &w],
                None,
                BackwardOptions::default(),
            )
            .unwrap();
            let dot = |a: &Var<f64>, b: &Var<f64>| -> f64 {
                a.to_vec().iter().zip(b.to_vec()).map(|(p, q)| p * q).sum()
            };
            dot(g[0].as_ref().unwrap(), &u) + dot(g[1].as_ref().unwrap(), &v)
        };
        assert_close(
            "d2x",
            &hg[0].clone().unwrap().to_vec(),
            &numeric(&x0, &|t| first(t, &w0, &b0)),
        );
        assert_close(
            "d2w",
            &hg[1].clone().unwrap().to_vec(),
            &numeric(&w0, &|t| first(&x0, t, &b0)),
        );
        assert_close(
            "d2b",
            &hg[2].clone().unwrap().to_vec(),
            &numeric(&b0, &|t| first(&x0, &w0, t)),
        );
    }
}

#[test]
fn bad_inputs_are_errors() {
    let w = Var::<f64>::zeros(&[2, 1, 3, 3]);
    let e = Var::<f64>::zeros(&[5, 5])
        .try_conv2d(&w, None, &Conv2dOptions::new())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("Expected 3D (unbatched) or 4D (batched) input"),
        "{e}"
    );
    let x = Var::<f64>::zeros(&[1, 1, 4, 4]);
    assert!(x
        .try_conv2d(&w, None, &Conv2dOptions::new().padding([usize::MAX, 0]))
        .is_err());
    let e = x
        .try_conv2d(&w, Some(&Var::zeros(&[3])), &Conv2dOptions::new())
        .unwrap_err();
    assert!(e.to_string().contains("bias"), "{e}");
    // No bias: PyTorch's bias_sym_sizes_opt is (0,).
    let y = x
        .requires_grad()
        .try_conv2d(&w, None, &Conv2dOptions::new())
        .unwrap();
    let attrs = y.grad_fn().unwrap().attrs();
    assert!(attrs.contains(&("bias_sym_sizes_opt", Attr::Ints(vec![0]))));
}
