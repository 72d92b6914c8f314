//! Property tests (f64): every differentiable op's gradient equals central finite differences,
//! over random shapes (broadcast pairs, every dim of every reduction, every `matmul` rank
//! combination), and second derivatives (Hessian-vector products through `create_graph`) equal
//! finite differences of the gradient.
//!
//! The values of a case come from a small generator seeded by proptest, so that each op gets
//! inputs away from its non-differentiable points (kinks, ties, non-positive logs).

use antorcha_autograd::{grad, BackwardOptions, Reduction, Tensor, Var};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

type T64 = Tensor<f64>;
type Check = Result<(), TestCaseError>;
type Vars = Vec<Var<f64>>;

/// Step of the central differences.
const EPS: f64 = 1e-6;
/// `|autograd - numeric| <= ATOL + RTOL * max(|autograd|, |numeric|)`: the rounding error of a
/// central difference of an O(10) loss is about 1e-16 * 10 / 1e-6 = 1e-9, its truncation
/// error about EPS² = 1e-12, so these leave two orders of magnitude for the noise while any
/// real mistake in a rule (a wrong factor, a missed term) is far above them.
const ATOL: f64 = 1e-6;
const RTOL: f64 = 1e-5;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// SplitMix64: one proptest seed fixes every value of a case.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: isize, hi: isize) -> isize {
        lo + self.below((hi - lo + 1) as usize) as isize
    }

    fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Uniform in `[lo, hi)` but at least `gap` from each of `kinks`.
    fn away(&mut self, lo: f64, hi: f64, kinks: &[f64], gap: f64) -> f64 {
        loop {
            let x = self.uniform(lo, hi);
            if kinks.iter().all(|k| (x - k).abs() >= gap) {
                return x;
            }
        }
    }

    fn tensor(&mut self, shape: &[usize], lo: f64, hi: f64) -> T64 {
        let n = shape.iter().product();
        T64::from_vec((0..n).map(|_| self.uniform(lo, hi)).collect(), shape)
    }

    /// Values in `[lo, hi)`, at least 0.1 from each of `kinks`.
    fn tensor_away(&mut self, shape: &[usize], lo: f64, hi: f64, kinks: &[f64]) -> T64 {
        let n = shape.iter().product();
        T64::from_vec(
            (0..n).map(|_| self.away(lo, hi, kinks, 0.1)).collect(),
            shape,
        )
    }

    /// Nonzero values, at least `min` in magnitude, of either sign.
    fn nonzero(&mut self, shape: &[usize], min: f64, max: f64) -> T64 {
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| {
                let m = self.uniform(min, max);
                if self.coin() {
                    m
                } else {
                    -m
                }
            })
            .collect();
        T64::from_vec(data, shape)
    }

    /// Pairwise distinct values (at least 0.2 apart) in a random order: max/min without ties.
    fn distinct(&mut self, shape: &[usize]) -> T64 {
        let n: usize = shape.iter().product();
        let mut data: Vec<f64> = (0..n)
            .map(|k| 0.3 * k as f64 - 0.15 * n as f64 + self.uniform(-0.05, 0.05))
            .collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            data.swap(i, j);
        }
        T64::from_vec(data, shape)
    }

    /// A grid of values: `offset` plus an integer in `-2..=2`, plus jitter below 0.1. Two
    /// grids with offsets 0 and 0.5 never come closer than 0.3 (maximum/minimum without ties).
    fn grid(&mut self, shape: &[usize], offset: f64) -> T64 {
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| self.int(-2, 2) as f64 + offset + self.uniform(-0.1, 0.1))
            .collect();
        T64::from_vec(data, shape)
    }

    fn mask(&mut self, shape: &[usize]) -> Tensor<bool> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|_| self.coin()).collect(), shape)
    }

    /// Indices in `0..bound`; small shapes make repeats likely.
    fn indices(&mut self, shape: &[usize], bound: usize) -> Tensor<i64> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|_| self.below(bound) as i64).collect(), shape)
    }

    /// A shape that broadcasts to `full`: some leading dims dropped, some others set to 1.
    fn broadcast_of(&mut self, full: &[usize]) -> Vec<usize> {
        let drop = self.below(full.len() + 1);
        full[drop..]
            .iter()
            .map(|&d| if self.below(3) == 0 { 1 } else { d })
            .collect()
    }

    /// `d` or the same dim counted from the end, at random.
    fn signed_dim(&mut self, d: usize, ndim: usize) -> isize {
        if self.coin() {
            d as isize - ndim.max(1) as isize
        } else {
            d as isize
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

fn close(a: f64, b: f64, atol: f64, rtol: f64) -> bool {
    (a - b).abs() <= atol + rtol * a.abs().max(b.abs())
}

fn shapes(inputs: &[T64]) -> Vec<Vec<usize>> {
    inputs.iter().map(|t| t.shape().to_vec()).collect()
}

/// `sum(out * w)` computed on plain numbers.
fn weighted(out: &T64, w: &T64) -> f64 {
    out.to_vec()
        .iter()
        .zip(w.to_vec())
        .map(|(o, w)| o * w)
        .sum()
}

/// Runs `f` on constant vars (no graph) and returns its value.
fn eval<F: Fn(&[Var<f64>]) -> Var<f64>>(f: &F, xs: &[T64]) -> T64 {
    let vars: Vec<Var<f64>> = xs.iter().map(|t| Var::new(t.clone())).collect();
    f(&vars).data()
}

/// `inputs` with `x[i]` replaced.
fn with(inputs: &[T64], i: usize, x: Vec<f64>) -> Vec<T64> {
    let mut xs = inputs.to_vec();
    xs[i] = T64::from_vec(x, inputs[i].shape());
    xs
}

/// Checks the gradients of `loss = sum(f(inputs) * w)`, for a random `w` of the output's shape,
/// against central finite differences, for a random non-empty subset of the inputs requiring
/// grad (so the rules that skip an input that does not need its gradient run too; the others
/// must get no gradient), then checks second derivatives with [`hvp_check`].
fn gradcheck<F: Fn(&[Var<f64>]) -> Var<f64>>(what: &str, inputs: &[T64], seed: u64, f: F) -> Check {
    let mut rng = Rng::new(seed);
    let n = inputs.len();
    let mut requires: Vec<bool> = (0..n).map(|_| n == 1 || rng.below(4) != 0).collect();
    if !requires.contains(&true) {
        requires[rng.below(n)] = true;
    }
    let vars: Vec<Var<f64>> = inputs
        .iter()
        .zip(&requires)
        .map(|(t, &r)| {
            let v = Var::new(t.clone());
            if r {
                v.requires_grad()
            } else {
                v
            }
        })
        .collect();
    let out = f(&vars);
    let ctx = || {
        format!(
            "{what} (input shapes {:?}, requires grad {requires:?})",
            shapes(inputs)
        )
    };

    // The recorded forward computes what the plain one does.
    let plain = eval(&f, inputs);
    if !out.data().allclose(&plain, 0.0, 0.0) {
        return Err(fail(format!(
            "{}: forward with a graph differs from without",
            ctx()
        )));
    }
    prop_assert!(out.needs_grad(), "{}: output does not require grad", ctx());

    let w = rng.tensor(&out.shape(), -1.0, 1.0);
    let loss = out.mul(&Var::new(w.clone())).sum();
    loss.backward()
        .map_err(|e| fail(format!("{}: backward failed: {e}", ctx())))?;

    for (i, (x, v)) in inputs.iter().zip(&vars).enumerate() {
        let g = v.grad();
        if !requires[i] {
            prop_assert!(
                g.is_none(),
                "{}: input {i} does not require grad but got one",
                ctx()
            );
            continue;
        }
        let g = g.ok_or_else(|| fail(format!("{}: input {i} got no gradient", ctx())))?;
        prop_assert_eq!(
            g.shape(),
            x.shape(),
            "{}: gradient {} has the wrong shape",
            ctx(),
            i
        );
        let g = g.to_vec();
        let base = x.to_vec();
        for j in 0..base.len() {
            let (mut up, mut down) = (base.clone(), base.clone());
            up[j] += EPS;
            down[j] -= EPS;
            let step = up[j] - down[j];
            let l_up = weighted(&eval(&f, &with(inputs, i, up)), &w);
            let l_down = weighted(&eval(&f, &with(inputs, i, down)), &w);
            let numeric = (l_up - l_down) / step;
            if !close(g[j], numeric, ATOL, RTOL) {
                return Err(fail(format!(
                    "{}: d loss / d input{i}[{j}]: autograd {} vs finite difference {numeric}\n\
                     inputs {:?}\nw {:?}\nautograd gradient {:?}",
                    ctx(),
                    g[j],
                    inputs.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
                    w.to_vec(),
                    g
                )));
            }
        }
    }
    hvp_check(what, inputs, &requires, &w, &mut rng, &f)
}

/// Gradients of `sum(w * f(xs)²)` (a loss with curvature even when `f` is linear) with respect
/// to the inputs that require grad; `None` (no dependence) becomes zeros.
fn first_grads<F: Fn(&[Var<f64>]) -> Var<f64>>(
    f: &F,
    xs: &[T64],
    requires: &[bool],
    w: &T64,
    create_graph: bool,
) -> Result<(Vars, Vars), String> {
    let vars: Vec<Var<f64>> = xs
        .iter()
        .zip(requires)
        .map(|(t, &r)| {
            let v = Var::new(t.clone());
            if r {
                v.requires_grad()
            } else {
                v
            }
        })
        .collect();
    let out = f(&vars);
    let loss = out.mul(&out).mul(&Var::new(w.clone())).sum();
    let wrt: Vec<&Var<f64>> = vars
        .iter()
        .zip(requires)
        .filter(|(_, &r)| r)
        .map(|(v, _)| v)
        .collect();
    let opts = BackwardOptions {
        create_graph,
        ..Default::default()
    };
    let gs = grad(&loss, &wrt, None, opts).map_err(|e| format!("first grad failed: {e}"))?;
    let gs = gs
        .into_iter()
        .zip(&wrt)
        .map(|(g, v)| g.unwrap_or_else(|| Var::zeros(&v.shape())))
        .collect();
    let kept = vars
        .into_iter()
        .zip(requires)
        .filter(|(_, &r)| r)
        .map(|(v, _)| v)
        .collect();
    Ok((kept, gs))
}

/// Second derivatives: for a random direction `v`, the Hessian-vector product of
/// `sum(w * f(x)²)` computed as the gradient of `<grad, v>` (through `create_graph`) equals
/// `(grad(x + eps v) - grad(x - eps v)) / 2 eps`.
fn hvp_check<F: Fn(&[Var<f64>]) -> Var<f64>>(
    what: &str,
    inputs: &[T64],
    requires: &[bool],
    w: &T64,
    rng: &mut Rng,
    f: &F,
) -> Check {
    let ctx = || {
        format!(
            "{what} (second order; input shapes {:?}, requires grad {requires:?})",
            shapes(inputs)
        )
    };
    let dirs: Vec<T64> = inputs
        .iter()
        .map(|x| rng.tensor(x.shape(), -1.0, 1.0))
        .collect();
    let (vars, gs) =
        first_grads(f, inputs, requires, w, true).map_err(|e| fail(format!("{}: {e}", ctx())))?;
    let diff: Vec<usize> = (0..inputs.len()).filter(|&i| requires[i]).collect();
    let mut dot: Option<Var<f64>> = None;
    for (g, &i) in gs.iter().zip(&diff) {
        let term = g.mul(&Var::new(dirs[i].clone())).sum();
        dot = Some(match dot {
            None => term,
            Some(d) => d.add(&term),
        });
    }
    let dot = dot.expect("at least one input requires grad");
    let hv: Vec<Vec<f64>> = if dot.needs_grad() {
        let refs: Vec<&Var<f64>> = vars.iter().collect();
        let hs = grad(&dot, &refs, None, BackwardOptions::default())
            .map_err(|e| fail(format!("{}: grad of grad failed: {e}", ctx())))?;
        hs.into_iter()
            .zip(&vars)
            .map(|(h, v)| h.map_or_else(|| vec![0.0; v.numel()], |h| h.to_vec()))
            .collect()
    } else {
        vars.iter().map(|v| vec![0.0; v.numel()]).collect()
    };

    let shifted = |sign: f64| -> Vec<T64> {
        inputs
            .iter()
            .zip(&dirs)
            .zip(requires)
            .map(|((x, d), &r)| {
                if r {
                    let data = x
                        .to_vec()
                        .iter()
                        .zip(d.to_vec())
                        .map(|(a, b)| a + sign * EPS * b)
                        .collect();
                    T64::from_vec(data, x.shape())
                } else {
                    x.clone()
                }
            })
            .collect()
    };
    let (_, g_up) = first_grads(f, &shifted(1.0), requires, w, false)
        .map_err(|e| fail(format!("{}: {e}", ctx())))?;
    let (_, g_down) = first_grads(f, &shifted(-1.0), requires, w, false)
        .map_err(|e| fail(format!("{}: {e}", ctx())))?;
    for (k, &i) in diff.iter().enumerate() {
        let (up, down) = (g_up[k].to_vec(), g_down[k].to_vec());
        for j in 0..up.len() {
            let numeric = (up[j] - down[j]) / (2.0 * EPS);
            if !close(hv[k][j], numeric, 10.0 * ATOL, 10.0 * RTOL) {
                return Err(fail(format!(
                    "{}: (H v) of input{i}[{j}]: grad of grad {} vs finite difference of grads \
                     {numeric}\ninputs {:?}\ndirection {:?}",
                    ctx(),
                    hv[k][j],
                    inputs.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
                    dirs.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Shapes of rank `lo..=hi` with dims 1..=3.
fn shape(lo: usize, hi: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, lo..=hi)
}

/// All permutations of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// add, sub, mul, div, pow, maximum, minimum and the operators on random broadcast pairs.
fn binary_ops_with_broadcasting_case(full: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let (sa, sb) = (rng.broadcast_of(&full), rng.broadcast_of(&full));
    let a = rng.tensor(&sa, -2.0, 2.0);
    let b = rng.tensor(&sb, -2.0, 2.0);
    let ab = [a.clone(), b.clone()];
    gradcheck("add", &ab, rng.next_u64(), |v| v[0].add(&v[1]))?;
    gradcheck("sub", &ab, rng.next_u64(), |v| v[0].sub(&v[1]))?;
    gradcheck("mul", &ab, rng.next_u64(), |v| v[0].mul(&v[1]))?;
    gradcheck("a + b", &ab, rng.next_u64(), |v| &v[0] + &v[1])?;
    gradcheck("a - b", &ab, rng.next_u64(), |v| &v[0] - &v[1])?;
    gradcheck("a * b", &ab, rng.next_u64(), |v| &v[0] * &v[1])?;

    let divisor = rng.nonzero(&sb, 0.5, 2.0);
    let ad = [a.clone(), divisor];
    gradcheck("div", &ad, rng.next_u64(), |v| v[0].div(&v[1]))?;
    gradcheck("a / b", &ad, rng.next_u64(), |v| &v[0] / &v[1])?;

    let base = rng.tensor(&sa, 0.5, 2.0);
    gradcheck("pow", &[base, b.clone()], rng.next_u64(), |v| {
        v[0].pow(&v[1])
    })?;

    let (oa, ob) = if rng.coin() { (0.0, 0.5) } else { (0.5, 0.0) };
    let g = [rng.grid(&sa, oa), rng.grid(&sb, ob)];
    gradcheck("maximum", &g, rng.next_u64(), |v| v[0].maximum(&v[1]))?;
    gradcheck("minimum", &g, rng.next_u64(), |v| v[0].minimum(&v[1]))?;
    Ok(())
}

/// Ops with a number on either side, `reciprocal` and `powf`.
fn scalar_ops_on_both_sides_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    let k = rng.away(-2.0, 2.0, &[0.0], 0.5);
    gradcheck("add_scalar", &x, rng.next_u64(), |v| v[0].add_scalar(k))?;
    gradcheck("sub_scalar", &x, rng.next_u64(), |v| v[0].sub_scalar(k))?;
    gradcheck("rsub_scalar", &x, rng.next_u64(), |v| v[0].rsub_scalar(k))?;
    gradcheck("mul_scalar", &x, rng.next_u64(), |v| v[0].mul_scalar(k))?;
    gradcheck("div_scalar", &x, rng.next_u64(), |v| v[0].div_scalar(k))?;
    gradcheck("x + k", &x, rng.next_u64(), |v| &v[0] + k)?;
    gradcheck("k + x", &x, rng.next_u64(), |v| k + &v[0])?;
    gradcheck("x - k", &x, rng.next_u64(), |v| &v[0] - k)?;
    gradcheck("k - x", &x, rng.next_u64(), |v| k - &v[0])?;
    gradcheck("x * k", &x, rng.next_u64(), |v| &v[0] * k)?;
    gradcheck("k * x", &x, rng.next_u64(), |v| k * &v[0])?;
    gradcheck("x / k", &x, rng.next_u64(), |v| &v[0] / k)?;
    gradcheck("-x", &x, rng.next_u64(), |v| -&v[0])?;

    let nz = [rng.nonzero(&s, 0.5, 2.0)];
    gradcheck("rdiv_scalar", &nz, rng.next_u64(), |v| v[0].rdiv_scalar(k))?;
    gradcheck("k / x", &nz, rng.next_u64(), |v| k / &v[0])?;
    gradcheck("reciprocal", &nz, rng.next_u64(), |v| v[0].reciprocal())?;

    for e in [0.0, 1.0, 2.0, 3.0, -1.0, -2.0] {
        gradcheck(
            &format!("powf({e}) of any sign"),
            &nz,
            rng.next_u64(),
            |v| v[0].powf(e),
        )?;
    }
    let pos = [rng.tensor(&s, 0.5, 2.0)];
    for e in [0.5, -1.5, 2.5, k] {
        gradcheck(
            &format!("powf({e}) of positives"),
            &pos,
            rng.next_u64(),
            |v| v[0].powf(e),
        )?;
    }
    Ok(())
}

/// Every elementwise unary op, its inputs away from kinks and outside its domain's edge.
fn unary_ops_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    gradcheck("neg", &x, rng.next_u64(), |v| v[0].neg())?;
    gradcheck("exp", &x, rng.next_u64(), |v| v[0].exp())?;
    gradcheck("sigmoid", &x, rng.next_u64(), |v| v[0].sigmoid())?;
    gradcheck("tanh", &x, rng.next_u64(), |v| v[0].tanh())?;
    gradcheck("sin", &x, rng.next_u64(), |v| v[0].sin())?;
    gradcheck("cos", &x, rng.next_u64(), |v| v[0].cos())?;

    let pos = [rng.tensor(&s, 0.2, 3.0)];
    gradcheck("log", &pos, rng.next_u64(), |v| v[0].log())?;
    gradcheck("sqrt", &pos, rng.next_u64(), |v| v[0].sqrt())?;

    let off_zero = [rng.tensor_away(&s, -2.0, 2.0, &[0.0])];
    gradcheck("abs", &off_zero, rng.next_u64(), |v| v[0].abs())?;
    gradcheck("relu", &off_zero, rng.next_u64(), |v| v[0].relu())?;
    gradcheck("sign", &off_zero, rng.next_u64(), |v| v[0].sign())?;

    let (lo, hi) = (-0.5, 0.7);
    let off_bounds = [rng.tensor_away(&s, -2.0, 2.0, &[lo, hi])];
    gradcheck("clamp(lo, hi)", &off_bounds, rng.next_u64(), |v| {
        v[0].clamp(Some(lo), Some(hi))
    })?;
    gradcheck("clamp(lo, _)", &off_bounds, rng.next_u64(), |v| {
        v[0].clamp(Some(lo), None)
    })?;
    gradcheck("clamp(_, hi)", &off_bounds, rng.next_u64(), |v| {
        v[0].clamp(None, Some(hi))
    })?;
    gradcheck("clamp(_, _)", &off_bounds, rng.next_u64(), |v| {
        v[0].clamp(None, None)
    })?;
    Ok(())
}

/// Whole reductions, and every reduction over every dim with and without keepdim.
fn reductions_over_every_dim_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    let distinct = [rng.distinct(&s)];
    gradcheck("sum", &x, rng.next_u64(), |v| v[0].sum())?;
    gradcheck("mean", &x, rng.next_u64(), |v| v[0].mean())?;
    gradcheck("var(0)", &x, rng.next_u64(), |v| v[0].var(0))?;
    if x[0].numel() >= 2 {
        gradcheck("var(1)", &x, rng.next_u64(), |v| v[0].var(1))?;
    }
    gradcheck("max", &distinct, rng.next_u64(), |v| v[0].max())?;
    gradcheck("min", &distinct, rng.next_u64(), |v| v[0].min())?;

    for d in 0..s.len() {
        let dim = rng.signed_dim(d, s.len());
        for keepdim in [false, true] {
            let name = |op: &str| format!("{op}(dim {dim}, keepdim {keepdim})");
            gradcheck(&name("sum_dim"), &x, rng.next_u64(), |v| {
                v[0].sum_dim(dim, keepdim)
            })?;
            gradcheck(&name("mean_dim"), &x, rng.next_u64(), |v| {
                v[0].mean_dim(dim, keepdim)
            })?;
            gradcheck(&name("var_dim correction 0"), &x, rng.next_u64(), |v| {
                v[0].var_dim(dim, 0, keepdim)
            })?;
            if s[d] >= 2 {
                gradcheck(&name("var_dim correction 1"), &x, rng.next_u64(), |v| {
                    v[0].var_dim(dim, 1, keepdim)
                })?;
            }
            gradcheck(&name("max_dim"), &distinct, rng.next_u64(), |v| {
                v[0].max_dim(dim, keepdim).0
            })?;
            gradcheck(&name("min_dim"), &distinct, rng.next_u64(), |v| {
                v[0].min_dim(dim, keepdim).0
            })?;
        }
    }
    Ok(())
}

/// `broadcast_to` and its adjoint `sum_to`, between a shape and one that broadcasts to it.
fn broadcast_to_and_sum_to_case(full: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let small = rng.broadcast_of(&full);
    let x = [rng.tensor(&small, -2.0, 2.0)];
    gradcheck(
        &format!("broadcast_to({full:?})"),
        &x,
        rng.next_u64(),
        |v| v[0].broadcast_to(&full),
    )?;
    let y = [rng.tensor(&full, -2.0, 2.0)];
    gradcheck(&format!("sum_to({small:?})"), &y, rng.next_u64(), |v| {
        v[0].sum_to(&small)
    })?;
    Ok(())
}

/// reshape, view, unsqueeze, squeeze, squeeze_dim, flatten, transpose, t, permute, expand and
/// contiguous, at every dim (or pair of dims, or permutation), on contiguous and strided values.
fn shape_ops_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    let r = s.len();
    gradcheck("reshape([-1])", &x, rng.next_u64(), |v| v[0].reshape(&[-1]))?;
    let reversed: Vec<isize> = s.iter().rev().map(|&d| d as isize).collect();
    gradcheck("reshape(reversed)", &x, rng.next_u64(), |v| {
        v[0].reshape(&reversed)
    })?;
    if r > 0 {
        let mut inferred: Vec<isize> = s.iter().map(|&d| d as isize).collect();
        inferred[rng.below(r)] = -1;
        inferred.insert(rng.below(r + 1), 1);
        gradcheck(&format!("reshape({inferred:?})"), &x, rng.next_u64(), |v| {
            v[0].reshape(&inferred)
        })?;
    }
    for dim in -(r as isize + 1)..=r as isize {
        gradcheck(&format!("unsqueeze({dim})"), &x, rng.next_u64(), |v| {
            v[0].unsqueeze(dim)
        })?;
    }
    gradcheck("squeeze", &x, rng.next_u64(), |v| v[0].squeeze())?;
    for d in 0..r {
        let dim = rng.signed_dim(d, r);
        gradcheck(&format!("squeeze_dim({dim})"), &x, rng.next_u64(), |v| {
            v[0].squeeze_dim(dim)
        })?;
    }
    gradcheck("flatten(0, -1)", &x, rng.next_u64(), |v| {
        v[0].flatten(0, -1)
    })?;
    for start in 0..r {
        for end in start..r {
            let (s0, e0) = (rng.signed_dim(start, r), rng.signed_dim(end, r));
            gradcheck(&format!("flatten({s0}, {e0})"), &x, rng.next_u64(), |v| {
                v[0].flatten(s0, e0)
            })?;
        }
    }
    for d0 in 0..r {
        for d1 in 0..r {
            let (a, b) = (rng.signed_dim(d0, r), rng.signed_dim(d1, r));
            gradcheck(&format!("transpose({a}, {b})"), &x, rng.next_u64(), |v| {
                v[0].transpose(a, b)
            })?;
        }
    }
    if r <= 2 {
        gradcheck("t", &x, rng.next_u64(), |v| v[0].t())?;
    }
    for p in permutations(r) {
        let dims: Vec<isize> = p.iter().map(|&d| rng.signed_dim(d, r)).collect();
        gradcheck(&format!("permute({dims:?})"), &x, rng.next_u64(), |v| {
            v[0].permute(&dims)
        })?;
    }
    gradcheck("view([-1])", &x, rng.next_u64(), |v| v[0].view(&[-1]))?;
    // A new leading dim, and every dim of size 1 stretched.
    let mut sizes: Vec<isize> = s.iter().map(|&d| if d == 1 { 3 } else { -1 }).collect();
    sizes.insert(0, 2);
    gradcheck(&format!("expand({sizes:?})"), &x, rng.next_u64(), |v| {
        v[0].expand(&sizes)
    })?;
    if r >= 2 {
        // Strided values: a reshape that must copy, one the strides allow, and contiguous.
        gradcheck("transpose(0, -1).reshape([-1])", &x, rng.next_u64(), |v| {
            v[0].transpose(0, -1).reshape(&[-1])
        })?;
        gradcheck(
            "transpose(0, -1).unsqueeze(0).flatten(0, 1)",
            &x,
            rng.next_u64(),
            |v| v[0].transpose(0, -1).unsqueeze(0).flatten(0, 1),
        )?;
        gradcheck("transpose(0, -1).contiguous()", &x, rng.next_u64(), |v| {
            v[0].transpose(0, -1).contiguous()
        })?;
    }
    Ok(())
}

/// slice (steps, negative and out-of-range bounds, empty results), narrow and select at
/// every dim.
fn slice_narrow_select_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    let r = s.len();
    for (d, &size) in s.iter().enumerate() {
        let n = size as isize;
        let dim = rng.signed_dim(d, r);
        for _ in 0..3 {
            let (start, end, step) = (
                rng.int(-n - 1, n + 1),
                rng.int(-n - 1, n + 1),
                rng.int(1, 3) as usize,
            );
            gradcheck(
                &format!("slice(dim {dim}, {start}..{end} step {step})"),
                &x,
                rng.next_u64(),
                |v| v[0].slice(dim, start, end, step),
            )?;
        }
        let start = rng.int(-n, n - 1);
        let first = if start < 0 { start + n } else { start };
        let len = rng.int(0, n - first) as usize;
        gradcheck(
            &format!("narrow(dim {dim}, {start}, {len})"),
            &x,
            rng.next_u64(),
            |v| v[0].narrow(dim, start, len),
        )?;
        let index = rng.int(-n, n - 1);
        gradcheck(
            &format!("select(dim {dim}, {index})"),
            &x,
            rng.next_u64(),
            |v| v[0].select(dim, index),
        )?;
    }
    Ok(())
}

/// `constant_pad_nd` with pads that add, remove or both, over the last 0 to all dims.
fn constant_pad_nd_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    for _ in 0..3 {
        let pairs = rng.below(s.len() + 1);
        let mut pad = Vec::new();
        for i in 0..pairs {
            let size = s[s.len() - 1 - i] as isize;
            let before = rng.int(-size, 2);
            pad.extend([before, rng.int(-(size + before), 2)]);
        }
        let value = rng.uniform(-1.0, 1.0);
        gradcheck(
            &format!("constant_pad_nd({pad:?}, {value})"),
            &x,
            rng.next_u64(),
            |v| v[0].constant_pad_nd(&pad, value),
        )?;
    }
    Ok(())
}

/// In-place changes recorded in the graph: on a computed value (`AddBackward0`, …), through
/// a slice or select of it (`CopySlices`), with constants that broadcast, and read back through
/// another view made before the change (`AsStridedBackward0`).
fn in_place_through_views_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    let r = s.len();
    for (d, &size) in s.iter().enumerate() {
        let n = size as isize;
        let dim = rng.signed_dim(d, r);
        let (start, end) = (rng.int(0, n - 1), rng.int(0, n));
        let index = rng.int(-n, n - 1);
        let full = s.clone();
        let mut sliced = s.clone();
        sliced[d] = (end - start).max(0) as usize;
        let mut selected = s.clone();
        selected.remove(d);
        let mut constant = |shape: &[usize]| {
            let shape = rng.broadcast_of(shape);
            rng.tensor(&shape, -1.5, 1.5)
        };
        let (c_slice, c_select, c_base) = (constant(&sliced), constant(&selected), constant(&full));
        gradcheck(
            &format!("in place through slice(dim {dim}, {start}..{end}) and select({index})"),
            &x,
            rng.next_u64(),
            |v| {
                let base = &v[0] * 1.5;
                let before = base.select(dim, index);
                base.slice(dim, start, end, 1).mul_(&c_slice).unwrap();
                base.select(dim, index).add_(&c_select).unwrap();
                base.mul_(&c_base).unwrap();
                &(&base * &base).sum() + &(&before * &before).sum()
            },
        )?;
    }
    Ok(())
}

/// nll_loss on `[C]`, `[N, C]`, `[N, C, d]` and `[N, C, h, w]` log-probabilities, with and
/// without class weights and ignored targets, under every reduction.
fn nll_loss_case(shape: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&shape, -3.0, 0.0)];
    let classes = shape[if shape.len() == 1 { 0 } else { 1 }];
    let mut tshape = shape.clone();
    tshape.remove(if shape.len() == 1 { 0 } else { 1 });
    let n: usize = tshape.iter().product();
    // Class 0 ignored, when another exists for the first sample (an all-ignored mean is NaN).
    let ignore = if classes > 1 && rng.coin() { 0 } else { -100 };
    let mut targets: Vec<i64> = (0..n).map(|_| rng.below(classes) as i64).collect();
    if let Some(first) = targets.first_mut() {
        *first = classes as i64 - 1;
    }
    let target = Tensor::from_vec(targets, &tshape);
    let weight = rng.coin().then(|| rng.tensor(&[classes], 0.5, 2.0));
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        gradcheck(
            &format!(
                "nll_loss({shape:?}, ignore {ignore}, {reduction:?}, weight {})",
                weight.is_some()
            ),
            &x,
            rng.next_u64(),
            |v| {
                v[0].try_nll_loss(&target, weight.as_ref(), ignore, reduction)
                    .unwrap()
            },
        )?;
    }
    Ok(())
}

/// index_select with repeated indices, gather, scatter_add and index_add at every dim.
fn gathers_and_scatters_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = rng.tensor(&s, -2.0, 2.0);
    let r = s.len();
    for d in 0..r {
        let dim = rng.signed_dim(d, r);
        let picks: Vec<usize> = (0..rng.int(0, 5)).map(|_| rng.below(s[d])).collect();
        gradcheck(
            &format!("index_select(dim {dim}, {picks:?})"),
            std::slice::from_ref(&x),
            rng.next_u64(),
            |v| v[0].index_select(dim, &picks),
        )?;

        // gather: index no larger than the input outside `dim`, any length along it.
        let ishape: Vec<usize> = (0..r)
            .map(|k| {
                if k == d {
                    rng.int(1, 4) as usize
                } else {
                    rng.int(1, s[k] as isize) as usize
                }
            })
            .collect();
        let index = rng.indices(&ishape, s[d]);
        gradcheck(
            &format!(
                "gather(dim {dim}, index {:?} of shape {ishape:?})",
                index.to_vec()
            ),
            std::slice::from_ref(&x),
            rng.next_u64(),
            |v| v[0].gather(dim, &index),
        )?;

        // scatter_add: `src` as large as the index or larger (its extra elements are unused).
        let src_shape: Vec<usize> = if rng.coin() {
            ishape.clone()
        } else {
            ishape.iter().map(|&k| k + rng.below(2)).collect()
        };
        let src = rng.tensor(&src_shape, -2.0, 2.0);
        gradcheck(
            &format!(
                "scatter_add(dim {dim}, index {:?} of shape {ishape:?}, src {src_shape:?})",
                index.to_vec()
            ),
            &[x.clone(), src],
            rng.next_u64(),
            |v| v[0].scatter_add(dim, &index, &v[1]),
        )?;

        let adds: Vec<usize> = (0..rng.int(0, 5)).map(|_| rng.below(s[d])).collect();
        let mut source_shape = s.clone();
        source_shape[d] = adds.len();
        let source = rng.tensor(&source_shape, -2.0, 2.0);
        gradcheck(
            &format!("index_add(dim {dim}, {adds:?})"),
            &[x.clone(), source],
            rng.next_u64(),
            |v| v[0].index_add(dim, &adds, &v[1]),
        )?;
    }
    Ok(())
}

/// masked_fill and where_ with broadcast masks and operands.
fn masked_fill_and_where_case(full: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let (sx, sm) = (rng.broadcast_of(&full), rng.broadcast_of(&full));
    let x = [rng.tensor(&sx, -2.0, 2.0)];
    let mask = rng.mask(&sm);
    let value = rng.uniform(-2.0, 2.0);
    gradcheck(
        &format!("masked_fill(mask {:?})", mask.to_vec()),
        &x,
        rng.next_u64(),
        |v| v[0].masked_fill(&mask, value),
    )?;
    // The mask broadcast to the input's own shape, as PyTorch requires.
    let own = rng.broadcast_of(&sx);
    let own_mask = rng.mask(&own);
    gradcheck(
        &format!("masked_fill(mask {:?} of shape {own:?})", own_mask.to_vec()),
        &x,
        rng.next_u64(),
        |v| v[0].masked_fill(&own_mask, value),
    )?;

    let (sa, sb, sc) = (
        rng.broadcast_of(&full),
        rng.broadcast_of(&full),
        rng.broadcast_of(&full),
    );
    let cond = rng.mask(&sc);
    let ab = [rng.tensor(&sa, -2.0, 2.0), rng.tensor(&sb, -2.0, 2.0)];
    gradcheck(
        &format!("where_(cond {:?} of shape {sc:?})", cond.to_vec()),
        &ab,
        rng.next_u64(),
        |v| Var::where_(&cond, &v[0], &v[1]),
    )?;
    Ok(())
}

/// cat along every dim (parts of different lengths, some empty) and stack at every
/// position.
fn cat_and_stack_case(s: Vec<usize>, parts: usize, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let r = s.len();
    for d in 0..r {
        let dim = rng.signed_dim(d, r);
        let xs: Vec<T64> = (0..parts)
            .map(|_| {
                let mut p = s.clone();
                p[d] = rng.int(0, 3) as usize;
                rng.tensor(&p, -2.0, 2.0)
            })
            .collect();
        gradcheck(&format!("cat(dim {dim})"), &xs, rng.next_u64(), |v| {
            Var::cat(&v.iter().collect::<Vec<_>>(), dim)
        })?;
    }
    let xs: Vec<T64> = (0..parts).map(|_| rng.tensor(&s, -2.0, 2.0)).collect();
    for dim in -(r as isize + 1)..=r as isize {
        gradcheck(&format!("stack(dim {dim})"), &xs, rng.next_u64(), |v| {
            Var::stack(&v.iter().collect::<Vec<_>>(), dim)
        })?;
    }
    // One var twice: the two parts of its gradient add up.
    let x = [rng.tensor(&s, -2.0, 2.0)];
    gradcheck("stack([x, x])", &x, rng.next_u64(), |v| {
        Var::stack(&[&v[0], &v[0]], 0)
    })?;
    Ok(())
}

/// matmul for every combination of ranks 1..=4 on each side, batch dims broadcast.
fn matmul_every_rank_combination_case(
    mkn: (usize, usize, usize),
    batch: Vec<usize>,
    seed: u64,
) -> Check {
    let mut rng = Rng::new(seed);
    let (m, k, n) = mkn;
    for ra in 1..=4usize {
        for rb in 1..=4usize {
            // Trailing batch dims of each side, some set to 1 so that they broadcast.
            let mut side = |rank: usize| -> Vec<usize> {
                let nb = rank.saturating_sub(2);
                batch[2 - nb..]
                    .iter()
                    .map(|&d| if rng.below(3) == 0 { 1 } else { d })
                    .collect()
            };
            let (ba, bb) = (side(ra), side(rb));
            let sa = if ra == 1 {
                vec![k]
            } else {
                [ba, vec![m, k]].concat()
            };
            let sb = if rb == 1 {
                vec![k]
            } else {
                [bb, vec![k, n]].concat()
            };
            let ab = [rng.tensor(&sa, -2.0, 2.0), rng.tensor(&sb, -2.0, 2.0)];
            gradcheck(
                &format!("matmul({sa:?} x {sb:?})"),
                &ab,
                rng.next_u64(),
                |v| v[0].matmul(&v[1]),
            )?;
        }
    }
    Ok(())
}

/// softmax, log_softmax and logsumexp (with and without keepdim) over every dim.
fn softmax_family_over_every_dim_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -3.0, 3.0)];
    let r = s.len();
    for d in 0..r {
        let dim = rng.signed_dim(d, r);
        gradcheck(&format!("softmax({dim})"), &x, rng.next_u64(), |v| {
            v[0].softmax(dim)
        })?;
        gradcheck(&format!("log_softmax({dim})"), &x, rng.next_u64(), |v| {
            v[0].log_softmax(dim)
        })?;
        for keepdim in [false, true] {
            gradcheck(
                &format!("logsumexp({dim}, keepdim {keepdim})"),
                &x,
                rng.next_u64(),
                |v| v[0].logsumexp(dim, keepdim),
            )?;
        }
    }
    Ok(())
}

/// Graphs where one var feeds several ops, so gradients accumulate.
fn composites_accumulate_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let x = [rng.tensor(&s, -2.0, 2.0)];
    gradcheck("x * x", &x, rng.next_u64(), |v| v[0].mul(&v[0]))?;
    gradcheck(
        "x * exp(x) + sin(x) / (2 + cos(x))",
        &x,
        rng.next_u64(),
        |v| {
            let x = &v[0];
            x * x.exp() + x.sin() / (x.cos() + 2.0)
        },
    )?;
    gradcheck("sigmoid(x) * tanh(x) - x.mean()", &x, rng.next_u64(), |v| {
        let x = &v[0];
        x.sigmoid() * x.tanh() - x.mean()
    })?;
    let pos = [rng.tensor(&s, 0.5, 2.0)];
    gradcheck("x ** x", &pos, rng.next_u64(), |v| v[0].pow(&v[0]))?;
    gradcheck("x / x.sum()", &pos, rng.next_u64(), |v| {
        v[0].div(&v[0].sum())
    })?;
    Ok(())
}

/// The Hessian-vector product of `f(x) = sum(x³ * w)` is `6 x w v` exactly, and matches the
/// finite difference of gradients (both through `grad` with `create_graph`).
fn hessian_vector_product_of_cube_case(s: Vec<usize>, seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let (x, w, dir) = (
        rng.tensor(&s, -2.0, 2.0),
        rng.tensor(&s, -1.0, 1.0),
        rng.tensor(&s, -1.0, 1.0),
    );
    let opts = BackwardOptions {
        create_graph: true,
        ..Default::default()
    };
    for (name, cube) in [
        (
            "powf(3)",
            Box::new(|v: &Var<f64>| v.powf(3.0)) as Box<dyn Fn(&Var<f64>) -> Var<f64>>,
        ),
        ("x * x * x", Box::new(|v: &Var<f64>| v * v * v)),
        (
            "pow(x, 3)",
            Box::new(|v: &Var<f64>| v.pow(&Var::new(T64::full(&[], 3.0)))),
        ),
    ] {
        let xv = Var::new(x.clone()).requires_grad();
        let f = cube(&xv).mul(&Var::new(w.clone())).sum();
        let g = grad(&f, &[&xv], None, opts).unwrap()[0].clone().unwrap();
        let expected_g: Vec<f64> = x
            .to_vec()
            .iter()
            .zip(w.to_vec())
            .map(|(x, w)| 3.0 * x * x * w)
            .collect();
        for (a, b) in g.to_vec().iter().zip(&expected_g) {
            prop_assert!(
                close(*a, *b, 1e-12, 1e-12),
                "{name}: gradient {a} vs 3x²w {b}"
            );
        }
        let hv = grad(
            &g.mul(&Var::new(dir.clone())).sum(),
            &[&xv],
            None,
            BackwardOptions::default(),
        )
        .unwrap()[0]
            .clone()
            .unwrap();
        prop_assert_eq!(hv.shape(), s.as_slice());
        let expected: Vec<f64> = x
            .to_vec()
            .iter()
            .zip(w.to_vec())
            .zip(dir.to_vec())
            .map(|((x, w), v)| 6.0 * x * w * v)
            .collect();
        for (a, b) in hv.to_vec().iter().zip(&expected) {
            prop_assert!(close(*a, *b, 1e-12, 1e-12), "{name}: Hv {a} vs 6xwv {b}");
        }
        // And the same against finite differences of the first gradient.
        let grad_at = |shift: f64| -> Vec<f64> {
            let data: Vec<f64> = x
                .to_vec()
                .iter()
                .zip(dir.to_vec())
                .map(|(a, b)| a + shift * b)
                .collect();
            let xv = Var::new(T64::from_vec(data, &s)).requires_grad();
            let f = cube(&xv).mul(&Var::new(w.clone())).sum();
            grad(&f, &[&xv], None, BackwardOptions::default()).unwrap()[0]
                .clone()
                .unwrap()
                .to_vec()
        };
        let (up, down) = (grad_at(EPS), grad_at(-EPS));
        for j in 0..up.len() {
            let numeric = (up[j] - down[j]) / (2.0 * EPS);
            prop_assert!(
                close(hv.to_vec()[j], numeric, 10.0 * ATOL, 10.0 * RTOL),
                "{name}: Hv[{j}] {} vs finite difference {numeric}",
                hv.to_vec()[j]
            );
        }
    }
    Ok(())
}

/// A small network's loss (two layers, tanh, log_softmax picked by `gather`): first
/// derivatives against finite differences for every parameter, and Hessian-vector
/// products against finite differences of gradients (inside `gradcheck`).
fn small_mlp_first_and_second_derivatives_case(
    rows: usize,
    d_in: usize,
    hidden: usize,
    classes: usize,
    seed: u64,
) -> Check {
    let mut rng = Rng::new(seed);
    let inputs = [
        rng.tensor(&[rows, d_in], -1.0, 1.0),
        rng.tensor(&[d_in, hidden], -1.0, 1.0),
        rng.tensor(&[hidden], -1.0, 1.0),
        rng.tensor(&[hidden, classes], -1.0, 1.0),
        rng.tensor(&[classes], -1.0, 1.0),
    ];
    let targets = rng.indices(&[rows, 1], classes);
    gradcheck("mlp cross-entropy", &inputs, rng.next_u64(), |v| {
        let h = v[0].matmul(&v[1]).add(&v[2]).tanh();
        let logits = h.matmul(&v[3]).add(&v[4]);
        logits.log_softmax(-1).gather(1, &targets).mean().neg()
    })?;
    gradcheck(
        "mlp softmax, sigmoid and var",
        &inputs,
        rng.next_u64(),
        |v| {
            let h = v[0].matmul(&v[1]).add(&v[2]).sigmoid();
            let p = h.matmul(&v[3]).add(&v[4]).softmax(1);
            p.var_dim(0, 0, false).add(&p.logsumexp(1, true).mean())
        },
    )?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn binary_ops_with_broadcasting(full in shape(0, 3), seed in any::<u64>()) {
        binary_ops_with_broadcasting_case(full, seed)?;
    }

    #[test]
    fn scalar_ops_on_both_sides(s in shape(0, 3), seed in any::<u64>()) {
        scalar_ops_on_both_sides_case(s, seed)?;
    }

    #[test]
    fn unary_ops(s in shape(0, 3), seed in any::<u64>()) {
        unary_ops_case(s, seed)?;
    }

    #[test]
    fn reductions_over_every_dim(s in shape(0, 3), seed in any::<u64>()) {
        reductions_over_every_dim_case(s, seed)?;
    }

    #[test]
    fn broadcast_to_and_sum_to(full in shape(0, 3), seed in any::<u64>()) {
        broadcast_to_and_sum_to_case(full, seed)?;
    }

    #[test]
    fn shape_ops(s in shape(0, 3), seed in any::<u64>()) {
        shape_ops_case(s, seed)?;
    }

    #[test]
    fn slice_narrow_select(s in shape(1, 3), seed in any::<u64>()) {
        slice_narrow_select_case(s, seed)?;
    }

    #[test]
    fn constant_pad_nd(s in shape(0, 3), seed in any::<u64>()) {
        constant_pad_nd_case(s, seed)?;
    }

    #[test]
    fn in_place_through_views(s in shape(1, 3), seed in any::<u64>()) {
        in_place_through_views_case(s, seed)?;
    }

    #[test]
    fn nll_loss(rank in 1usize..=4, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let shape: Vec<usize> = (0..rank).map(|_| 1 + rng.below(3)).collect();
        nll_loss_case(shape, seed)?;
    }

    #[test]
    fn gathers_and_scatters(s in shape(1, 3), seed in any::<u64>()) {
        gathers_and_scatters_case(s, seed)?;
    }

    #[test]
    fn masked_fill_and_where(full in shape(0, 3), seed in any::<u64>()) {
        masked_fill_and_where_case(full, seed)?;
    }

    #[test]
    fn cat_and_stack(s in shape(0, 3), parts in 1usize..=3, seed in any::<u64>()) {
        cat_and_stack_case(s, parts, seed)?;
    }

    #[test]
    fn matmul_every_rank_combination(
        mkn in (1usize..=3, 1usize..=3, 1usize..=3),
        batch in shape(2, 2),
        seed in any::<u64>(),
    ) {
        matmul_every_rank_combination_case(mkn, batch, seed)?;
    }

    #[test]
    fn softmax_family_over_every_dim(s in shape(1, 3), seed in any::<u64>()) {
        softmax_family_over_every_dim_case(s, seed)?;
    }

    #[test]
    fn composites_accumulate(s in shape(0, 3), seed in any::<u64>()) {
        composites_accumulate_case(s, seed)?;
    }

    #[test]
    fn hessian_vector_product_of_cube(s in shape(0, 3), seed in any::<u64>()) {
        hessian_vector_product_of_cube_case(s, seed)?;
    }

    #[test]
    fn small_mlp_first_and_second_derivatives(
        rows in 1usize..=3,
        d_in in 1usize..=3,
        hidden in 1usize..=3,
        classes in 2usize..=3,
        seed in any::<u64>(),
    ) {
        small_mlp_first_and_second_derivatives_case(rows, d_in, hidden, classes, seed)?;
    }
}

/// `scatter_add` with `src` larger than `index` (allowed, as in PyTorch): only the leading
/// corner of `src` is read, so the rest gets zero gradient. (PyTorch's own backward errors
/// here: pytorch#27614.)
#[test]
fn scatter_add_src_larger_than_index() {
    let x = Var::from_vec(vec![0.0f64; 3], &[1, 3]).requires_grad();
    let src = Var::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).requires_grad();
    let index = Tensor::from_vec(vec![2i64, 0], &[1, 2]);
    let out = x.scatter_add(1, &index, &src);
    assert_eq!(out.to_vec(), vec![2.0, 0.0, 1.0]);
    out.backward_with(&T64::from_vec(vec![10.0, 20.0, 30.0], &[1, 3]))
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![10.0, 20.0, 30.0]);
    let g = src.grad().unwrap();
    assert_eq!(g.shape(), &[2, 3]);
    assert_eq!(g.to_vec(), vec![30.0, 10.0, 0.0, 0.0, 0.0, 0.0]);
    let inputs = [x.data(), src.data()];
    gradcheck("scatter_add, src larger than index", &inputs, 7, |v| {
        v[0].scatter_add(1, &index, &v[1])
    })
    .unwrap();
}
