//! The transpose-free products: `mm_t` (every transpose combination), the fused `linear`
//! (`AddmmBackward0`) and `matmul`'s 2-D backward. Gradients (f64) equal central finite
//! differences, second derivatives through `create_graph` equal finite differences of the
//! gradient, and in f32 the fast paths give exactly the numbers of the compositions they
//! replace (`matmul` of a transposed copy, plus a bias).

use antorcha_autograd::{grad, BackwardOptions, Tensor, Var};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

type Check = Result<(), TestCaseError>;

const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-6;
const RTOL: f64 = 1e-5;

/// Deterministic values in `[-1, 1)` from a seed (xorshift).
fn noise<T: antorcha_autograd::tensor::Float>(shape: &[usize], seed: u64) -> Tensor<T> {
    let n: usize = shape.iter().product();
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let data = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            T::cast(((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0)
        })
        .collect();
    Tensor::from_vec(data, shape)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= ATOL + RTOL * a.abs().max(b.abs())
}

/// `sum(w * f(xs)²)`: a loss with curvature even where `f` is linear.
fn loss<F: Fn(&[Var<f64>]) -> Var<f64>>(f: &F, xs: &[Var<f64>], w: &Tensor<f64>) -> Var<f64> {
    let y = f(xs);
    (&y * &y * Var::new(w.clone())).sum()
}

fn value<F: Fn(&[Var<f64>]) -> Var<f64>>(f: &F, xs: &[Tensor<f64>], w: &Tensor<f64>) -> f64 {
    let vars: Vec<Var<f64>> = xs.iter().map(|x| Var::new(x.clone())).collect();
    loss(f, &vars, w).item()
}

/// Gradients of the loss with respect to the inputs flagged in `req`, optionally recorded.
fn grads<F: Fn(&[Var<f64>]) -> Var<f64>>(
    f: &F,
    xs: &[Tensor<f64>],
    req: &[bool],
    w: &Tensor<f64>,
    create_graph: bool,
) -> (Vec<Var<f64>>, Vec<Option<Var<f64>>>) {
    let vars: Vec<Var<f64>> = xs
        .iter()
        .zip(req)
        .map(|(x, &r)| {
            let v = Var::new(x.clone());
            if r {
                v.requires_grad()
            } else {
                v
            }
        })
        .collect();
    let l = loss(f, &vars, w);
    let wanted: Vec<&Var<f64>> = vars.iter().filter(|v| v.needs_grad()).collect();
    let opts = BackwardOptions {
        create_graph,
        ..Default::default()
    };
    let g = grad(&l, &wanted, None, opts).unwrap();
    (vars, g)
}

/// First derivatives against central differences for the inputs in `req` (the others get
/// none), then the Hessian-vector product along a random direction through `create_graph`
/// against central differences of the gradient.
fn gradcheck<F: Fn(&[Var<f64>]) -> Var<f64>>(
    what: &str,
    xs: &[Tensor<f64>],
    req: &[bool],
    seed: u64,
    f: F,
) -> Check {
    let out_shape = {
        let vars: Vec<Var<f64>> = xs.iter().map(|x| Var::new(x.clone())).collect();
        f(&vars).shape()
    };
    let w = noise::<f64>(&out_shape, seed ^ 0xabc);
    let (_, g) = grads(&f, xs, req, &w, false);
    let mut gi = g.into_iter();
    for (i, x) in xs.iter().enumerate() {
        if !req[i] {
            continue;
        }
        let gv = gi
            .next()
            .unwrap()
            .map(|g| g.to_vec())
            .unwrap_or(vec![0.0; x.numel()]);
        let base = x.to_vec();
        for j in 0..base.len() {
            let shifted = |d: f64| {
                let mut v = base.clone();
                v[j] += d;
                let mut ys = xs.to_vec();
                ys[i] = Tensor::from_vec(v, x.shape());
                value(&f, &ys, &w)
            };
            let num = (shifted(EPS) - shifted(-EPS)) / (2.0 * EPS);
            prop_assert!(
                close(gv[j], num),
                "{what}: d/dx{i}[{j}] autograd {} vs numeric {num}",
                gv[j]
            );
        }
    }
    // Second derivatives: d<grad, v>/dx == (grad(x + eps v) - grad(x - eps v)) / 2 eps.
    let dirs: Vec<Tensor<f64>> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| noise(x.shape(), seed + 7 * i as u64 + 1))
        .collect();
    let (vars, g) = grads(&f, xs, req, &w, true);
    let mut dot: Option<Var<f64>> = None;
    let mut k = 0;
    for (i, _) in xs.iter().enumerate() {
        if !req[i] {
            continue;
        }
        if let Some(gk) = &g[k] {
            let term = (gk * Var::new(dirs[i].clone())).sum();
            dot = Some(match dot {
                None => term,
                Some(d) => &d + &term,
            });
        }
        k += 1;
    }
    let Some(dot) = dot else { return Ok(()) };
    let wanted: Vec<&Var<f64>> = vars.iter().filter(|v| v.needs_grad()).collect();
    let hvp = grad(&dot, &wanted, None, BackwardOptions::default()).unwrap();
    let shifted = |sign: f64| {
        let ys: Vec<Tensor<f64>> = xs
            .iter()
            .zip(&dirs)
            .enumerate()
            .map(|(i, (x, d))| {
                if req[i] {
                    x + &(d * (sign * EPS))
                } else {
                    x.clone()
                }
            })
            .collect();
        grads(&f, &ys, req, &w, false).1
    };
    let (plus, minus) = (shifted(1.0), shifted(-1.0));
    let mut k = 0;
    for (i, x) in xs.iter().enumerate() {
        if !req[i] {
            continue;
        }
        let zeros = vec![0.0; x.numel()];
        let h = hvp[k].as_ref().map(|h| h.to_vec()).unwrap_or(zeros.clone());
        let p = plus[k]
            .as_ref()
            .map(|h| h.to_vec())
            .unwrap_or(zeros.clone());
        let m = minus[k].as_ref().map(|h| h.to_vec()).unwrap_or(zeros);
        for j in 0..h.len() {
            let num = (p[j] - m[j]) / (2.0 * EPS);
            prop_assert!(
                close(h[j], num),
                "{what}: Hv of x{i}[{j}] autograd {} vs numeric {num}",
                h[j]
            );
        }
        k += 1;
    }
    Ok(())
}

/// A non-empty subset of `n` inputs, from `mask`.
fn subset(mask: u8, n: usize) -> Vec<bool> {
    let m = (mask as usize % ((1 << n) - 1)) + 1;
    (0..n).map(|i| m >> i & 1 == 1).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn mm_t_gradients(m in 1usize..4, k in 1usize..4, n in 1usize..4, ta: bool, tb: bool, mask: u8, seed: u64) {
        let a = noise::<f64>(&if ta { [k, m] } else { [m, k] }, seed);
        let b = noise::<f64>(&if tb { [n, k] } else { [k, n] }, seed ^ 1);
        gradcheck("mm_t", &[a, b], &subset(mask, 2), seed, |v| v[0].mm_t(&v[1], ta, tb))?;
    }

    #[test]
    fn linear_gradients(lead in prop::collection::vec(1usize..3, 0..3), i in 1usize..4, o in 1usize..4, bias: bool, mask: u8, seed: u64) {
        let mut xs = lead.clone();
        xs.push(i);
        let mut inputs = vec![noise::<f64>(&xs, seed), noise::<f64>(&[o, i], seed ^ 2)];
        if bias {
            inputs.push(noise::<f64>(&[o], seed ^ 3));
        }
        let req = subset(mask, inputs.len());
        gradcheck("linear", &inputs, &req, seed, |v| v[0].linear(&v[1], v.get(2)))?;
    }

    #[test]
    fn matmul_2d_gradients(m in 1usize..4, k in 1usize..4, n in 1usize..4, mask: u8, seed: u64) {
        let a = noise::<f64>(&[m, k], seed);
        let b = noise::<f64>(&[k, n], seed ^ 5);
        gradcheck("matmul", &[a, b], &subset(mask, 2), seed, |v| v[0].matmul(&v[1]))?;
    }
}

/// The old composition `x.matmul(&w.t()) + b` and its gradients, in f32.
fn composed(
    x: &Tensor<f32>,
    w: &Tensor<f32>,
    b: &Tensor<f32>,
    g: &Tensor<f32>,
) -> [Tensor<f32>; 4] {
    let (xv, wv, bv) = (
        Var::new(x.clone()).requires_grad(),
        Var::new(w.clone()).requires_grad(),
        Var::new(b.clone()).requires_grad(),
    );
    let y = xv.matmul(&wv.t()).add(&bv);
    y.backward_with(g).unwrap();
    [
        y.data(),
        xv.grad().unwrap(),
        wv.grad().unwrap(),
        bv.grad().unwrap(),
    ]
}

#[test]
fn linear_gives_the_numbers_of_the_composition_exactly() {
    // W2's shapes: a layer wide enough to be split across threads, and a narrow one.
    for (n, i, o) in [(64, 784, 256), (64, 256, 10), (5, 3, 2)] {
        let x = noise::<f32>(&[n, i], 1);
        let w = noise::<f32>(&[o, i], 2);
        let b = noise::<f32>(&[o], 3);
        let g = noise::<f32>(&[n, o], 4);
        let (xv, wv, bv) = (
            Var::new(x.clone()).requires_grad(),
            Var::new(w.clone()).requires_grad(),
            Var::new(b.clone()).requires_grad(),
        );
        let y = xv.linear(&wv, Some(&bv));
        assert_eq!(y.grad_fn_name(), Some("AddmmBackward0"));
        y.backward_with(&g).unwrap();
        let want = composed(&x, &w, &b, &g);
        assert_eq!(y.data(), want[0], "forward {n}x{i}x{o}");
        assert_eq!(xv.grad().unwrap(), want[1], "dx {n}x{i}x{o}");
        assert_eq!(wv.grad().unwrap(), want[2], "dW {n}x{i}x{o}");
        assert_eq!(bv.grad().unwrap(), want[3], "db {n}x{i}x{o}");
    }
}

#[test]
fn mm_t_and_matmul_backward_match_products_of_copied_transposes() {
    let a = noise::<f32>(&[64, 300], 5);
    let b = noise::<f32>(&[300, 96], 6);
    let g = noise::<f32>(&[64, 96], 7);
    let (av, bv) = (
        Var::new(a.clone()).requires_grad(),
        Var::new(b.clone()).requires_grad(),
    );
    av.matmul(&bv).backward_with(&g).unwrap();
    assert_eq!(av.grad().unwrap(), g.matmul(&b.t().contiguous()));
    assert_eq!(bv.grad().unwrap(), a.t().contiguous().matmul(&g));
    // mm_t with transposed storage gives the same values and gradients as matmul.
    let (at, bt) = (a.t().contiguous(), b.t().contiguous());
    let (atv, btv) = (Var::new(at).requires_grad(), Var::new(bt).requires_grad());
    let c = atv.mm_t(&btv, true, true);
    assert_eq!(c.grad_fn_name(), Some("MmBackward0"));
    assert_eq!(c.data(), a.matmul(&b));
    c.backward_with(&g).unwrap();
    assert_eq!(atv.grad().unwrap(), av.grad().unwrap().t().contiguous());
    assert_eq!(btv.grad().unwrap(), bv.grad().unwrap().t().contiguous());
}

#[test]
fn linear_graph_and_errors() {
    let x = Var::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let w = Var::from_vec(vec![1.0, -1.0], &[1, 2]).requires_grad();
    let b = Var::from_vec(vec![0.5], &[1]).requires_grad();
    let y = x.linear(&w, Some(&b));
    let node = y.grad_fn().unwrap();
    assert_eq!(node.name(), "AddmmBackward0");
    // PyTorch's order of inputs: addmm(bias, input, weight.t()); x needs no grad.
    assert_eq!(node.inputs().len(), 2);
    assert_eq!(x.linear(&w, None).grad_fn_name(), Some("MmBackward0"));
    // A 3-D input goes through views around the 2-D op.
    let y3 = Var::<f64>::zeros(&[2, 3, 2]).linear(&w, Some(&b));
    assert_eq!(y3.shape(), vec![2, 3, 1]);
    assert_eq!(y3.grad_fn_name(), Some("ViewBackward0"));
    // No graph when nothing requires grad.
    let c = Var::<f64>::zeros(&[1, 2]).linear(&w.detach(), None);
    assert!(c.grad_fn_name().is_none());
    let e = x
        .try_linear(&Var::zeros(&[1, 3]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("in_features = 3"), "{e}");
    let e = x.try_mm_t(&x, false, false).unwrap_err().to_string();
    assert!(e.contains("[3, 2]"), "{e}");
}
