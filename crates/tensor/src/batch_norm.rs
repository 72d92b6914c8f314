//! Batch normalisation's kernels, as PyTorch's `native_batch_norm` and
//! `native_batch_norm_backward` (without the running-average update, which the caller does with
//! the returned statistics): per channel of `[N, C, *]`, the mean and biased variance over the
//! `N * H * W` values (two passes, as PyTorch's CPU kernel), the normalised output, and the
//! closed-form gradients of the input, weight and bias.
//!
//! A group of consecutive channels is one task, done whole by one thread, with each channel's
//! sums in a fixed order; the two cores take groups from a shared counter. So the numbers do not
//! depend on the thread count (nor on the grouping), and each sample's values of a group are read
//! as one contiguous run.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::buffer::with_capacity;
use crate::dispatch::cpu_dispatch;
use crate::element::Float;
use crate::error::{Result, TensorError};
use crate::parallel::{join, num_threads};
use crate::tensor::Tensor;

/// What [`Tensor::try_native_batch_norm`] gives: the output and, per channel (`[C]` each), the
/// mean and variance it normalised with (the batch's, biased, in training mode; the running
/// ones otherwise) and `1 / sqrt(var + eps)`.
#[derive(Clone, Debug)]
pub struct BatchNormOutput<T: Float> {
    /// The normalised input, scaled and shifted: the shape of the input.
    pub output: Tensor<T>,
    /// The mean of each channel (PyTorch's `save_mean` in training mode).
    pub mean: Tensor<T>,
    /// The variance of each channel: the batch's biased one in training mode.
    pub var: Tensor<T>,
    /// `1 / sqrt(var + eps)` per channel (PyTorch's `save_invstd` in training mode).
    pub invstd: Tensor<T>,
}

/// Below this many elements a batch norm stays on one thread (a split costs a wake-up).
const PAR_MIN_ELEMENTS: usize = 1 << 15;

/// Running sums per lane: enough independent additions to keep the vector units busy.
const LANES: usize = 16;

/// Adds `f(x)` for each `x` of `xs` into the lanes of `acc` (lane `j` takes the elements at
/// `j` modulo [`LANES`]).
#[inline(always)]
fn accumulate<T: Float>(acc: &mut [T; LANES], xs: &[T], f: impl Fn(T) -> T) {
    // A local copy, so the sums stay in registers (and vectorise) rather than in memory.
    let mut sums = *acc;
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in sums.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    for (a, &v) in sums.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
    *acc = sums;
}

/// Adds `f(x, y)` over two slices of one length into the lanes of `acc`.
#[inline(always)]
fn accumulate2<T: Float>(acc: &mut [T; LANES], xs: &[T], ys: &[T], f: impl Fn(T, T) -> T) {
    let mut sums = *acc;
    let (mut cx, mut cy) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    for (a16, b16) in (&mut cx).zip(&mut cy) {
        for ((a, &x), &y) in sums.iter_mut().zip(a16).zip(b16) {
            *a += f(x, y);
        }
    }
    for ((a, &x), &y) in sums.iter_mut().zip(cx.remainder()).zip(cy.remainder()) {
        *a += f(x, y);
    }
    *acc = sums;
}

/// The sum of the lanes, as a balanced tree.
#[inline(always)]
fn total<T: Float>(acc: &[T; LANES]) -> T {
    let mut v = *acc;
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            let right = v[j + width];
            v[j] += right;
        }
    }
    v[0]
}

/// Writes `f(x)` for each `x` of `xs` into `out` (of the same length).
#[inline(always)]
fn write_map<T: Float>(out: &mut [MaybeUninit<T>], xs: &[T], f: impl Fn(T) -> T) {
    assert_eq!(out.len(), xs.len(), "a plane of the output");
    for (o, &v) in out.iter_mut().zip(xs) {
        o.write(f(v));
    }
}

/// Writes `f(x, y)` over two slices into `out` (all three of one length).
#[inline(always)]
fn write_map2<T: Float>(out: &mut [MaybeUninit<T>], xs: &[T], ys: &[T], f: impl Fn(T, T) -> T) {
    assert!(
        out.len() == xs.len() && out.len() == ys.len(),
        "a plane of the output"
    );
    for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
        o.write(f(x, y));
    }
}

/// The layout of `[N, C, L]` (row-major).
#[derive(Clone, Copy)]
struct Dims {
    n: usize,
    c: usize,
    l: usize,
}

impl Dims {
    /// The values of sample `i` in channels `chs` (contiguous: `chs.len() * L` of them).
    fn rows<'a, T>(&self, xs: &'a [T], i: usize, chs: &Range<usize>) -> &'a [T] {
        &xs[(i * self.c + chs.start) * self.l..(i * self.c + chs.end) * self.l]
    }

    fn count<T: Float>(&self) -> T {
        T::cast((self.n * self.l) as f64)
    }
}

/// A group's share of an output being written: for each sample, the values of the group's
/// channels (contiguous).
type GroupOut<'a, T> = Vec<&'a mut [MaybeUninit<T>]>;

/// An output of `[N, C, L]` being written, handed out one group of channels at a time.
struct GroupPlanes<'a, T> {
    groups: Vec<Mutex<GroupOut<'a, T>>>,
}

impl<'a, T> GroupPlanes<'a, T> {
    fn new(out: &'a mut [MaybeUninit<T>], d: Dims, groups: &[Range<usize>]) -> Self {
        let mut by_group: Vec<GroupOut<'a, T>> =
            groups.iter().map(|_| Vec::with_capacity(d.n)).collect();
        if d.c * d.l == 0 {
            for rows in &mut by_group {
                rows.extend((0..d.n).map(|_| <&mut [MaybeUninit<T>]>::default()));
            }
        } else {
            for sample in out.chunks_exact_mut(d.c * d.l) {
                let mut rest = sample;
                for (rows, chs) in by_group.iter_mut().zip(groups) {
                    let (mine, others) = std::mem::take(&mut rest).split_at_mut(chs.len() * d.l);
                    rows.push(mine);
                    rest = others;
                }
            }
        }
        GroupPlanes {
            groups: by_group.into_iter().map(Mutex::new).collect(),
        }
    }

    /// The rows of group `k` (taken: a second call gives none).
    fn take(&self, k: usize) -> GroupOut<'a, T> {
        let mut slot = self.groups[k].lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *slot)
    }
}

/// A new output of `len` elements, to be written whole by `fill` (given its uninitialised
/// slots), from the buffer cache.
fn fill_new<T: Float>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut out = with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: the callers write every slot: each group's task writes all of its rows
    // (`write_map` checks the lengths), every group is run (`per_group` returns only when all
    // are done, and resumes a panic before this line), and the groups' rows cover the output.
    unsafe { out.set_len(len) };
    out
}

/// The channels `0..c` in groups of consecutive ones: all in one on one thread (each pass then
/// reads the input front to back, which the prefetchers follow best: a channel at a time, the
/// kernels took 1.6 times as long on W5b), four when both cores share them (so a core that
/// finishes first takes more). The grouping changes no number: each channel's sums run in the
/// same order in any group.
fn groups(c: usize, parallel: bool) -> Vec<Range<usize>> {
    let size = if parallel { c.div_ceil(4) } else { c }.max(1);
    (0..c)
        .step_by(size)
        .map(|start| start..(start + size).min(c))
        .collect()
}

/// `work(k)` for each group `k`, each giving one result per channel of the group, collected in
/// channel order; on both cores when `parallel`, each taking the next group from a shared
/// counter (so a descheduled thread holds up one group at most).
fn per_group<R: Send>(
    groups: usize,
    parallel: bool,
    work: impl Fn(usize) -> Vec<R> + Sync,
) -> Vec<R> {
    if !parallel {
        return (0..groups).flat_map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let drain = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= groups {
                return done;
            }
            done.push((k, work(k)));
        }
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    join(|| a = drain(), || b = drain());
    let mut all: Vec<(usize, Vec<R>)> = a.into_iter().chain(b).collect();
    all.sort_unstable_by_key(|&(k, _)| k);
    debug_assert!(all.iter().enumerate().all(|(i, &(k, _))| i == k));
    all.into_iter().flat_map(|(_, r)| r).collect()
}

/// Whether a batch norm of `numel` values over `c` channels is worth both cores.
fn split(numel: usize, c: usize) -> bool {
    c >= 2 && numel >= PAR_MIN_ELEMENTS && num_threads() >= 2
}

/// What a forward task reads: the input, and per channel the running statistics (eval mode),
/// weight and bias.
struct Forward<'a, T> {
    xs: &'a [T],
    d: Dims,
    running: Option<(&'a [T], &'a [T])>,
    eps: T,
    weight: Option<&'a [T]>,
    bias: Option<&'a [T]>,
}

cpu_dispatch! { "avx2":
    /// The forward of channels `chs`: their statistics (from the batch unless `running`), then
    /// their rows of the output. Returns `(mean, var, invstd)` per channel.
    fn forward_group / forward_group_avx2<T: Float>(
        f: &Forward<'_, T>,
        chs: Range<usize>,
        out: GroupOut<'_, T>,
    ) -> Vec<(T, T, T)> => forward_group_body;
}

#[inline(always)]
fn forward_group_body<T: Float>(
    f: &Forward<'_, T>,
    chs: Range<usize>,
    mut out: GroupOut<'_, T>,
) -> Vec<(T, T, T)> {
    let (d, l) = (f.d, f.d.l);
    let stats: Vec<(T, T)> = match f.running {
        Some((m, v)) => chs.clone().map(|ch| (m[ch], v[ch])).collect(),
        None => {
            let mut acc = vec![[T::zero(); LANES]; chs.len()];
            for i in 0..d.n {
                let rows = d.rows(f.xs, i, &chs);
                for (k, a) in acc.iter_mut().enumerate() {
                    accumulate(a, &rows[k * l..(k + 1) * l], |v| v);
                }
            }
            let means: Vec<T> = acc.iter().map(|a| total(a) / d.count()).collect();
            let mut acc = vec![[T::zero(); LANES]; chs.len()];
            for i in 0..d.n {
                let rows = d.rows(f.xs, i, &chs);
                for (k, (a, &m)) in acc.iter_mut().zip(&means).enumerate() {
                    accumulate(a, &rows[k * l..(k + 1) * l], |v| (v - m) * (v - m));
                }
            }
            let vars = acc.iter().map(|a| total(a) / d.count());
            means.into_iter().zip(vars).collect()
        }
    };
    let result: Vec<(T, T, T)> = stats
        .iter()
        .map(|&(m, v)| (m, v, T::one() / (v + f.eps).sqrt()))
        .collect();
    // Per channel: (mean, invstd * weight, bias).
    let affine: Vec<(T, T, T)> = chs
        .clone()
        .zip(&result)
        .map(|(ch, &(m, _, s))| {
            let w = f.weight.map_or(T::one(), |w| w[ch]);
            (m, s * w, f.bias.map_or(T::zero(), |b| b[ch]))
        })
        .collect();
    for (i, o) in out.iter_mut().enumerate() {
        let rows = d.rows(f.xs, i, &chs);
        for (k, &(m, scale, shift)) in affine.iter().enumerate() {
            let span = k * l..(k + 1) * l;
            write_map(&mut o[span.clone()], &rows[span], |v| {
                (v - m) * scale + shift
            });
        }
    }
    result
}

/// What a backward task reads: the output's gradient, the input, and per channel the
/// statistics and weight of the forward.
struct Backward<'a, T> {
    gs: &'a [T],
    xs: &'a [T],
    d: Dims,
    mean: &'a [T],
    invstd: &'a [T],
    weight: Option<&'a [T]>,
    training: bool,
    /// Whether the sums are needed (by the weight's or bias's gradient, or the input's in
    /// training mode).
    reduce: bool,
}

cpu_dispatch! { "avx2":
    /// The backward of channels `chs`: `(sum(g), sum(g * xhat))` per channel when `reduce`
    /// (else zeros), then their rows of the input's gradient into `out` (if any).
    fn backward_group / backward_group_avx2<T: Float>(
        b: &Backward<'_, T>,
        chs: Range<usize>,
        out: GroupOut<'_, T>,
    ) -> Vec<(T, T)> => backward_group_body;
}

#[inline(always)]
fn backward_group_body<T: Float>(
    b: &Backward<'_, T>,
    chs: Range<usize>,
    mut out: GroupOut<'_, T>,
) -> Vec<(T, T)> {
    let (d, l) = (b.d, b.d.l);
    let mut sums = vec![(T::zero(), T::zero()); chs.len()];
    if b.reduce {
        let mut acc = vec![([T::zero(); LANES], [T::zero(); LANES]); chs.len()];
        for i in 0..d.n {
            let (g, x) = (d.rows(b.gs, i, &chs), d.rows(b.xs, i, &chs));
            for (k, ((ga, xa), ch)) in acc.iter_mut().zip(chs.clone()).enumerate() {
                let span = k * l..(k + 1) * l;
                let m = b.mean[ch];
                accumulate(ga, &g[span.clone()], |v| v);
                accumulate2(xa, &g[span.clone()], &x[span], |gv, xv| gv * (xv - m));
            }
        }
        for ((s, (ga, xa)), ch) in sums.iter_mut().zip(&acc).zip(chs.clone()) {
            *s = (total(ga), total(xa) * b.invstd[ch]);
        }
    }
    // Per channel: (mean, invstd * weight, mean of g, invstd * mean of g * xhat).
    let coef: Vec<(T, T, T, T)> = chs
        .clone()
        .zip(&sums)
        .map(|(ch, &(gsum, gxhat))| {
            let s = b.invstd[ch];
            let scale = s * b.weight.map_or(T::one(), |w| w[ch]);
            (b.mean[ch], scale, gsum / d.count(), s * (gxhat / d.count()))
        })
        .collect();
    for (i, o) in out.iter_mut().enumerate() {
        let (g, x) = (d.rows(b.gs, i, &chs), d.rows(b.xs, i, &chs));
        for (k, &(m, scale, gm, xm)) in coef.iter().enumerate() {
            let span = k * l..(k + 1) * l;
            let o = &mut o[span.clone()];
            if b.training {
                let f = |gv: T, xv: T| (gv - gm - (xv - m) * xm) * scale;
                write_map2(o, &g[span.clone()], &x[span], f);
            } else {
                write_map(o, &g[span], |gv| gv * scale);
            }
        }
    }
    sums
}

/// The `[N, C, L]` view of a `[N, C, *]` shape, or an error naming `op`.
fn dims(op: &'static str, shape: &[usize]) -> Result<Dims> {
    if shape.len() < 2 {
        return Err(TensorError::invalid(
            op,
            format!("expected an input of at least 2 dims [N, C, *], got shape {shape:?}"),
        ));
    }
    Ok(Dims {
        n: shape[0],
        c: shape[1],
        l: shape[2..].iter().product(),
    })
}

/// The values of an optional per-channel vector, checked to be `[c]`.
fn per_channel_values<T: Float>(
    op: &'static str,
    what: &str,
    c: usize,
    t: Option<&Tensor<T>>,
) -> Result<Option<Vec<T>>> {
    match t {
        Some(t) if t.shape() != [c] => Err(TensorError::invalid(
            op,
            format!("{what} must have shape [{c}], got {:?}", t.shape()),
        )),
        Some(t) => Ok(Some(t.to_vec())),
        None => Ok(None),
    }
}

impl<T: Float> Tensor<T> {
    /// Batch normalisation over dim 1 of `[N, C, *]`, like PyTorch's `native_batch_norm`
    /// without the running-average update: in `training` mode each channel is normalised with
    /// its batch mean and biased variance over its `N * H * W` values (two passes); otherwise
    /// with `running` `(mean, var)`, which it then needs. `weight` and `bias` (optional) are
    /// `[C]`. Returns the output and the statistics used ([`BatchNormOutput`]), or an error
    /// naming the shapes that do not fit. Uses both cores on a large input, with the same
    /// numbers as on one.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 3.0], &[2, 1]);
    /// let bn = x.try_native_batch_norm(None, None, None, true, 0.0).unwrap();
    /// assert_eq!(bn.output.to_vec(), vec![-1.0, 1.0]);
    /// assert_eq!((bn.mean.to_vec(), bn.var.to_vec()), (vec![2.0], vec![1.0]));
    /// ```
    pub fn try_native_batch_norm(
        &self,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        running: Option<(&Tensor<T>, &Tensor<T>)>,
        training: bool,
        eps: f64,
    ) -> Result<BatchNormOutput<T>> {
        const OP: &str = "native_batch_norm";
        let d = dims(OP, self.shape())?;
        let w = per_channel_values(OP, "weight", d.c, weight)?;
        let b = per_channel_values(OP, "bias", d.c, bias)?;
        let rm = per_channel_values(OP, "running_mean", d.c, running.map(|r| r.0))?;
        let rv = per_channel_values(OP, "running_var", d.c, running.map(|r| r.1))?;
        let stats = match (training, rm, rv) {
            (true, ..) => None,
            (false, Some(m), Some(v)) => Some((m, v)),
            _ => {
                return Err(TensorError::invalid(
                    OP,
                    "running_mean and running_var are needed in eval mode",
                ))
            }
        };
        let xs = self.row_major();
        let numel = xs.len();
        let parallel = split(numel, d.c);
        let groups = groups(d.c, parallel);
        let task = Forward {
            xs: &xs,
            d,
            running: stats.as_ref().map(|(m, v)| (&m[..], &v[..])),
            eps: T::cast(eps),
            weight: w.as_deref(),
            bias: b.as_deref(),
        };
        let mut results = Vec::new();
        let out = fill_new(numel, |slots| {
            let planes = GroupPlanes::new(slots, d, &groups);
            results = per_group(groups.len(), parallel, |k| {
                forward_group(&task, groups[k].clone(), planes.take(k))
            });
        });
        let column =
            |f: fn(&(T, T, T)) -> T| Tensor::from_vec(results.iter().map(f).collect(), &[d.c]);
        Ok(BatchNormOutput {
            output: Tensor::try_from_vec(out, self.shape())?,
            mean: column(|r| r.0),
            var: column(|r| r.1),
            invstd: column(|r| r.2),
        })
    }

    /// The gradients of [`Tensor::try_native_batch_norm`] for the gradient `self` of its
    /// output, like PyTorch's `native_batch_norm_backward`: `mean` and `invstd` (`[C]`) are the
    /// statistics the forward normalised with (batch or running), `training` whether they came
    /// from the batch (then the input's gradient flows through them too). Returns the
    /// gradients of the input, weight and bias, each `Some` where `output_mask` asks (the
    /// weight's even when the forward had none). Uses both cores on a large input, with the
    /// same numbers as on one.
    ///
    /// ```
    /// use antorcha_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 3.0], &[2, 1]);
    /// let bn = x.try_native_batch_norm(None, None, None, true, 0.0).unwrap();
    /// let g = Tensor::from_vec(vec![1.0, 0.0], &[2, 1]);
    /// let [gx, gw, gb] = g
    ///     .try_native_batch_norm_backward(&x, None, &bn.mean, &bn.invstd, true, [true; 3])
    ///     .unwrap();
    /// assert_eq!(gx.unwrap().to_vec(), vec![0.0, 0.0]);
    /// assert_eq!((gw.unwrap().to_vec(), gb.unwrap().to_vec()), (vec![-1.0], vec![1.0]));
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_native_batch_norm_backward(
        &self,
        input: &Tensor<T>,
        weight: Option<&Tensor<T>>,
        mean: &Tensor<T>,
        invstd: &Tensor<T>,
        training: bool,
        output_mask: [bool; 3],
    ) -> Result<[Option<Tensor<T>>; 3]> {
        const OP: &str = "native_batch_norm_backward";
        let d = dims(OP, input.shape())?;
        if self.shape() != input.shape() {
            return Err(TensorError::invalid(
                OP,
                format!(
                    "the gradient {:?} must have the input's shape {:?}",
                    self.shape(),
                    input.shape()
                ),
            ));
        }
        let w = per_channel_values(OP, "weight", d.c, weight)?;
        let m = per_channel_values(OP, "save_mean", d.c, Some(mean))?.expect("given");
        let s = per_channel_values(OP, "save_invstd", d.c, Some(invstd))?.expect("given");
        let (gs, xs) = (self.row_major(), input.row_major());
        let numel = xs.len();
        let parallel = split(numel, d.c);
        let groups = groups(d.c, parallel);
        let task = Backward {
            gs: &gs,
            xs: &xs,
            d,
            mean: &m,
            invstd: &s,
            weight: w.as_deref(),
            training,
            reduce: (training && output_mask[0]) || output_mask[1] || output_mask[2],
        };
        let run = |planes: Option<&GroupPlanes<'_, T>>| {
            per_group(groups.len(), parallel, |k| {
                let out = planes.map_or_else(Vec::new, |p| p.take(k));
                backward_group(&task, groups[k].clone(), out)
            })
        };
        let mut sums = Vec::new();
        let gx = if output_mask[0] {
            let gx = fill_new(numel, |slots| {
                sums = run(Some(&GroupPlanes::new(slots, d, &groups)));
            });
            Some(Tensor::try_from_vec(gx, input.shape())?)
        } else {
            if task.reduce {
                sums = run(None);
            }
            None
        };
        let column = |f: fn(&(T, T)) -> T| Tensor::from_vec(sums.iter().map(f).collect(), &[d.c]);
        Ok([
            gx,
            output_mask[1].then(|| column(|r| r.1)),
            output_mask[2].then(|| column(|r| r.0)),
        ])
    }
}
