//! Property tests (f64) of the fused ops behind the normalisation and pooling layers (batch
//! norm, layer norm, average, adaptive average and max pooling): each
//! gradient (input, weight, bias) equals central finite differences over random shapes and
//! options, and the second derivatives a `create_graph` backward records (Hessian-vector
//! products) equal finite differences of the gradient.

use antorcha_autograd::{grad, BackwardOptions, Tensor, Var};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

type T64 = Tensor<f64>;
type Check = Result<(), TestCaseError>;

const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-6;
const RTOL: f64 = 1e-5;

/// SplitMix64: one proptest seed fixes every value of a case.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    fn tensor(&mut self, shape: &[usize]) -> T64 {
        let n = shape.iter().product();
        T64::from_vec((0..n).map(|_| self.uniform(-2.0, 2.0)).collect(), shape)
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

fn close(a: f64, n: f64) -> bool {
    (a - n).abs() <= ATOL + RTOL * a.abs().max(n.abs())
}

/// `sum(f(inputs) * w)` on leaves made from `inputs`.
fn loss<F: Fn(&[Var<f64>]) -> Var<f64>>(f: &F, inputs: &[T64], w: &T64) -> f64 {
    let vars: Vec<Var<f64>> = inputs.iter().map(|t| Var::new(t.clone())).collect();
    f(&vars)
        .data()
        .to_vec()
        .iter()
        .zip(w.to_vec())
        .map(|(a, b)| a * b)
        .sum()
}

/// First-order check: every input's autograd gradient against central differences; then the
/// Hessian-vector product in a random direction against differences of the gradient.
fn check<F: Fn(&[Var<f64>]) -> Var<f64>>(what: &str, inputs: &[T64], rng: &mut Rng, f: F) -> Check {
    let vars: Vec<Var<f64>> = inputs
        .iter()
        .map(|t| Var::new(t.clone()).requires_grad())
        .collect();
    let out = f(&vars);
    let w = rng.tensor(&out.shape());
    let l = out.mul(&Var::new(w.clone())).sum();
    let refs: Vec<&Var<f64>> = vars.iter().collect();
    let opts = BackwardOptions {
        create_graph: true,
        ..Default::default()
    };
    let gs = grad(&l, &refs, None, opts).map_err(|e| fail(format!("{what}: {e}")))?;
    for (i, x) in inputs.iter().enumerate() {
        let g = gs[i].as_ref().expect("every input is used").data().to_vec();
        let base = x.to_vec();
        for (j, &gj) in g.iter().enumerate() {
            let mut shifted = inputs.to_vec();
            let mut v = base.clone();
            v[j] = base[j] + EPS;
            shifted[i] = T64::from_vec(v.clone(), x.shape());
            let up = loss(&f, &shifted, &w);
            v[j] = base[j] - EPS;
            shifted[i] = T64::from_vec(v, x.shape());
            let down = loss(&f, &shifted, &w);
            let numeric = (up - down) / (2.0 * EPS);
            if !close(gj, numeric) {
                return Err(fail(format!(
                    "{what}: d/d input {i}[{j}] autograd {gj} vs numeric {numeric} (shapes {:?})",
                    inputs
                        .iter()
                        .map(|t| t.shape().to_vec())
                        .collect::<Vec<_>>()
                )));
            }
        }
    }
    // Second order: d/dt <grad(x + t d), u> at t = 0 equals <H d, u> = d/d x <grad, u> . d.
    let dirs: Vec<T64> = inputs.iter().map(|x| rng.tensor(x.shape())).collect();
    let mut dot: Option<Var<f64>> = None;
    for (g, d) in gs.iter().zip(&dirs) {
        let term = g.as_ref().unwrap().mul(&Var::new(d.clone())).sum();
        dot = Some(match dot {
            None => term,
            Some(acc) => acc.add(&term),
        });
    }
    let dot = dot.unwrap();
    // A function linear in its inputs has a gradient that depends on none of them: no graph,
    // a zero Hessian.
    let hvp = if dot.needs_grad() {
        grad(&dot, &refs, None, Default::default())
            .map_err(|e| fail(format!("{what} (second order): {e}")))?
    } else {
        vec![None; inputs.len()]
    };
    let grad_dot = |shift: f64| -> f64 {
        let moved: Vec<Var<f64>> = inputs
            .iter()
            .zip(&dirs)
            .map(|(x, d)| {
                let v = x
                    .to_vec()
                    .iter()
                    .zip(d.to_vec())
                    .map(|(a, b)| a + shift * b)
                    .collect();
                Var::new(T64::from_vec(v, x.shape())).requires_grad()
            })
            .collect();
        let l = f(&moved).mul(&Var::new(w.clone())).sum();
        let r: Vec<&Var<f64>> = moved.iter().collect();
        let g = grad(&l, &r, None, Default::default()).unwrap();
        g.iter()
            .zip(&dirs)
            .map(|(g, d)| {
                g.as_ref()
                    .unwrap()
                    .data()
                    .to_vec()
                    .iter()
                    .zip(d.to_vec())
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
            .sum()
    };
    // <H d, d> from the recorded second derivative vs the difference of <grad, d> along d.
    let analytic: f64 = hvp
        .iter()
        .zip(&dirs)
        .map(|(h, d)| {
            h.as_ref().map_or(0.0, |h| {
                h.data()
                    .to_vec()
                    .iter()
                    .zip(d.to_vec())
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
        })
        .sum();
    let numeric = (grad_dot(EPS) - grad_dot(-EPS)) / (2.0 * EPS);
    if !close(analytic, numeric) {
        return Err(fail(format!(
            "{what}: second order <H d, d> {analytic} vs numeric {numeric}"
        )));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn batch_norm_gradients(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let (n, c) = (rng.int(2, 4), rng.int(1, 3));
        let mut shape = vec![n, c];
        for _ in 0..rng.int(0, 2) {
            shape.push(rng.int(1, 3));
        }
        let training = rng.coin();
        let affine = rng.coin();
        let eps = rng.uniform(1e-3, 0.5);
        let x = rng.tensor(&shape);
        let mean = rng.tensor(&[c]);
        let var = T64::from_vec((0..c).map(|_| rng.uniform(0.5, 2.0)).collect(), &[c]);
        let mut inputs = vec![x];
        if affine {
            inputs.push(rng.tensor(&[c]));
            inputs.push(rng.tensor(&[c]));
        }
        let what = format!("batch_norm shape {shape:?} training {training} affine {affine}");
        check(&what, &inputs, &mut rng, |v| {
            let (w, b) = if affine { (Some(&v[1]), Some(&v[2])) } else { (None, None) };
            v[0].try_batch_norm(w, b, Some((&mean, &var)), training, eps).unwrap().0
        })?;
    }

    #[test]
    fn layer_norm_gradients(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let k = rng.int(1, 2);
        let mut shape: Vec<usize> = (0..rng.int(0, 2)).map(|_| rng.int(1, 3)).collect();
        let ns: Vec<usize> = (0..k).map(|_| rng.int(2, 4)).collect();
        shape.extend(&ns);
        let (with_w, with_b) = (rng.coin(), rng.coin());
        let eps = rng.uniform(1e-3, 0.5);
        let mut inputs = vec![rng.tensor(&shape)];
        if with_w {
            inputs.push(rng.tensor(&ns));
        }
        if with_b {
            inputs.push(rng.tensor(&ns));
        }
        let what = format!("layer_norm shape {shape:?} over {ns:?} weight {with_w} bias {with_b}");
        check(&what, &inputs, &mut rng, |v| {
            let w = with_w.then(|| &v[1]);
            let b = with_b.then(|| &v[1 + usize::from(with_w)]);
            v[0].try_layer_norm(&ns, w, b, eps).unwrap()
        })?;
    }

    #[test]
    fn avg_pool_gradients(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let (kh, kw) = (rng.int(1, 3), rng.int(1, 3));
        let (sh, sw) = (rng.int(1, 3), rng.int(1, 3));
        let (ph, pw) = (rng.int(0, kh / 2), rng.int(0, kw / 2));
        let (h, w) = (rng.int(kh, 6), rng.int(kw, 6));
        let shape = [rng.int(1, 2), rng.int(1, 2), h, w];
        let ceil = rng.coin();
        let include = rng.coin();
        let divisor = rng.coin().then(|| rng.int(1, 5));
        let x = rng.tensor(&shape);
        let what = format!(
            "avg_pool2d {shape:?} k ({kh}, {kw}) s ({sh}, {sw}) p ({ph}, {pw}) ceil {ceil} include {include} divisor {divisor:?}"
        );
        check(&what, &[x], &mut rng, |v| {
            v[0].try_avg_pool2d([kh, kw], [sh, sw], [ph, pw], ceil, include, divisor).unwrap()
        })?;
    }

    #[test]
    fn adaptive_avg_pool_gradients(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let shape = [rng.int(1, 2), rng.int(1, 6), rng.int(1, 6)];
        let out = [Some(rng.int(1, 7)), rng.coin().then(|| rng.int(1, 7))];
        let x = rng.tensor(&shape);
        check(&format!("adaptive_avg_pool2d {shape:?} to {out:?}"), &[x], &mut rng, |v| {
            v[0].try_adaptive_avg_pool2d(out).unwrap()
        })?;
    }

    #[test]
    fn max_pool_gradients(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let (kh, kw) = (rng.int(1, 3), rng.int(1, 3));
        let (sh, sw) = (rng.int(1, 3), rng.int(1, 3));
        let (dh, dw) = (rng.int(1, 2), rng.int(1, 2));
        let (ph, pw) = (rng.int(0, kh / 2), rng.int(0, kw / 2));
        let (h, w) = (rng.int((kh - 1) * dh + 1, 7), rng.int((kw - 1) * dw + 1, 7));
        let shape = [rng.int(1, 2), rng.int(1, 2), h, w];
        let ceil = rng.coin();
        // Distinct values 0.05 apart: no ties within the finite-difference step.
        let n: usize = shape.iter().product();
        let mut values: Vec<f64> = (0..n).map(|i| i as f64 * 0.05 - 1.0).collect();
        for i in (1..n).rev() {
            values.swap(i, rng.int(0, i));
        }
        let x = T64::from_vec(values, &shape);
        let what = format!(
            "max_pool2d {shape:?} k ({kh}, {kw}) s ({sh}, {sw}) p ({ph}, {pw}) d ({dh}, {dw}) ceil {ceil}"
        );
        check(&what, &[x], &mut rng, |v| {
            v[0].try_max_pool2d_with_indices([kh, kw], [sh, sw], [ph, pw], [dh, dw], ceil).unwrap().0
        })?;
    }
}
