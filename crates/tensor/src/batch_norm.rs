//! Batch normalisation's kernels, as PyTorch's `native_batch_norm` and
//! `native_batch_norm_backward` (without the running-average update, which the caller does with
//! the returned statistics): per channel of `[N, C, *]`, the mean and biased variance over the
//! `N * H * W` values (two passes, as PyTorch's CPU kernel), the normalised output, and the
//! closed-form gradients of the input, weight and bias.
//!
//! Each channel is one task, done whole by one thread, with its sums in a fixed order; the two
//! cores take channels from a shared counter. So the numbers do not depend on the thread count,
//! and a channel's values (a few hundred KiB at most in a CNN) stay in cache from its first pass
//! to its last.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::buffer::with_capacity;
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
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
}

/// Adds `f(x, y)` over two slices of one length into the lanes of `acc`.
#[inline(always)]
fn accumulate2<T: Float>(acc: &mut [T; LANES], xs: &[T], ys: &[T], f: impl Fn(T, T) -> T) {
    let (mut cx, mut cy) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    for (a16, b16) in (&mut cx).zip(&mut cy) {
        for ((a, &x), &y) in acc.iter_mut().zip(a16).zip(b16) {
            *a += f(x, y);
        }
    }
    for ((a, &x), &y) in acc.iter_mut().zip(cx.remainder()).zip(cy.remainder()) {
        *a += f(x, y);
    }
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

/// The layout of `[N, C, L]` (row-major), and the `L` values of sample `i` in channel `ch`.
#[derive(Clone, Copy)]
struct Dims {
    n: usize,
    c: usize,
    l: usize,
}

impl Dims {
    fn plane<'a, T>(&self, xs: &'a [T], i: usize, ch: usize) -> &'a [T] {
        let start = (i * self.c + ch) * self.l;
        &xs[start..start + self.l]
    }

    fn count<T: Float>(&self) -> T {
        T::cast((self.n * self.l) as f64)
    }
}

/// An output of `[N, C, L]` being written, handed out one channel (its `N` planes) at a time.
struct ChannelPlanes<'a, T> {
    channels: Vec<Mutex<Vec<&'a mut [MaybeUninit<T>]>>>,
}

impl<'a, T> ChannelPlanes<'a, T> {
    fn new(out: &'a mut [MaybeUninit<T>], d: Dims) -> Self {
        let mut by_channel: Vec<Vec<&'a mut [MaybeUninit<T>]>> =
            (0..d.c).map(|_| Vec::with_capacity(d.n)).collect();
        if d.l == 0 {
            for planes in &mut by_channel {
                planes.extend((0..d.n).map(|_| <&mut [MaybeUninit<T>]>::default()));
            }
        } else {
            for (k, plane) in out.chunks_exact_mut(d.l).enumerate() {
                by_channel[k % d.c].push(plane);
            }
        }
        ChannelPlanes {
            channels: by_channel.into_iter().map(Mutex::new).collect(),
        }
    }

    /// The `N` planes of channel `ch` (taken: a second call gives none).
    fn take(&self, ch: usize) -> Vec<&'a mut [MaybeUninit<T>]> {
        let mut slot = self.channels[ch].lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *slot)
    }
}

/// A new output of `len` elements, to be written whole by `fill` (given its uninitialised
/// slots), from the buffer cache.
fn fill_new<T: Float>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut out = with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: the callers write every slot: each channel's task writes all of its planes
    // (`write_map` checks the lengths), every channel is run (`per_channel` returns only when
    // all are done, and resumes a panic before this line), and the planes cover the output.
    unsafe { out.set_len(len) };
    out
}

/// `work(ch)` for each channel `0..c`, in channel order; on both cores when `parallel`, each
/// taking the next channel from a shared counter (so a descheduled thread holds up one channel
/// at most). A channel's result does not depend on which thread ran it.
fn per_channel<R: Send>(c: usize, parallel: bool, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if !parallel {
        return (0..c).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let drain = || {
        let mut done = Vec::new();
        loop {
            let ch = next.fetch_add(1, Ordering::Relaxed);
            if ch >= c {
                return done;
            }
            done.push((ch, work(ch)));
        }
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    join(|| a = drain(), || b = drain());
    let mut all: Vec<(usize, R)> = a.into_iter().chain(b).collect();
    all.sort_unstable_by_key(|&(ch, _)| ch);
    debug_assert!(all.iter().enumerate().all(|(i, &(ch, _))| i == ch));
    all.into_iter().map(|(_, r)| r).collect()
}

/// Whether a batch norm of `numel` values over `c` channels is worth both cores.
fn split(numel: usize, c: usize) -> bool {
    c >= 2 && numel >= PAR_MIN_ELEMENTS && num_threads() >= 2
}

/// Runs `body` compiled for AVX2 when the CPU has it (the same operations in the same order,
/// so the same numbers; only the vectors are wider).
#[inline(always)]
fn fast<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
            body()
        }
        // SAFETY: the CPU has AVX2.
        return unsafe { avx2(body) };
    }
    body()
}

/// One channel's forward: its statistics (from the batch when `stats` is `None`), then its
/// planes of the output. Returns `(mean, var, invstd)`.
#[inline(always)]
fn forward_channel<T: Float>(
    xs: &[T],
    d: Dims,
    ch: usize,
    stats: Option<(T, T)>,
    (eps, w, b): (T, T, T),
    mut out: Vec<&mut [MaybeUninit<T>]>,
) -> (T, T, T) {
    let (mean, var) = stats.unwrap_or_else(|| {
        let mut acc = [T::zero(); LANES];
        for i in 0..d.n {
            accumulate(&mut acc, d.plane(xs, i, ch), |v| v);
        }
        let mean = total(&acc) / d.count();
        let mut acc = [T::zero(); LANES];
        for i in 0..d.n {
            accumulate(&mut acc, d.plane(xs, i, ch), |v| (v - mean) * (v - mean));
        }
        (mean, total(&acc) / d.count())
    });
    let invstd = T::one() / (var + eps).sqrt();
    let scale = invstd * w;
    for (i, o) in out.iter_mut().enumerate() {
        write_map(o, d.plane(xs, i, ch), |v| (v - mean) * scale + b);
    }
    (mean, var, invstd)
}

/// One channel's backward: `(sum(g), sum(g * xhat))` when `reduce`, then the planes of the
/// input's gradient into `out` (if any).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_channel<T: Float>(
    (gs, xs): (&[T], &[T]),
    d: Dims,
    ch: usize,
    (mean, invstd, w): (T, T, T),
    training: bool,
    reduce: bool,
    mut out: Vec<&mut [MaybeUninit<T>]>,
) -> (T, T) {
    let (mut gsum, mut gxhat) = (T::zero(), T::zero());
    if reduce {
        let (mut a, mut b) = ([T::zero(); LANES], [T::zero(); LANES]);
        for i in 0..d.n {
            let (g, x) = (d.plane(gs, i, ch), d.plane(xs, i, ch));
            accumulate(&mut a, g, |v| v);
            accumulate2(&mut b, g, x, |gv, xv| gv * (xv - mean));
        }
        gsum = total(&a);
        gxhat = total(&b) * invstd;
    }
    let scale = invstd * w;
    if training {
        let gm = gsum / d.count();
        let k = invstd * (gxhat / d.count());
        for (i, o) in out.iter_mut().enumerate() {
            let (g, x) = (d.plane(gs, i, ch), d.plane(xs, i, ch));
            write_map2(o, g, x, |gv, xv| (gv - gm - (xv - mean) * k) * scale);
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            write_map(o, d.plane(gs, i, ch), |gv| gv * scale);
        }
    }
    (gsum, gxhat)
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
        let eps = T::cast(eps);
        let mut results = Vec::new();
        let out = fill_new(numel, |slots| {
            let planes = ChannelPlanes::new(slots, d);
            results = per_channel(d.c, split(numel, d.c), |ch| {
                let s = stats.as_ref().map(|(m, v)| (m[ch], v[ch]));
                let wb = (
                    eps,
                    w.as_ref().map_or(T::one(), |w| w[ch]),
                    b.as_ref().map_or(T::zero(), |b| b[ch]),
                );
                let out = planes.take(ch);
                fast(|| forward_channel(&xs, d, ch, s, wb, out))
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
        let reduce = (training && output_mask[0]) || output_mask[1] || output_mask[2];
        let parallel = split(numel, d.c);
        let run = |planes: Option<&ChannelPlanes<'_, T>>| {
            per_channel(d.c, parallel, |ch| {
                let stats = (m[ch], s[ch], w.as_ref().map_or(T::one(), |w| w[ch]));
                let out = planes.map_or_else(Vec::new, |p| p.take(ch));
                fast(|| backward_channel((&gs, &xs), d, ch, stats, training, reduce, out))
            })
        };
        let mut sums = Vec::new();
        let gx = if output_mask[0] {
            let gx = fill_new(numel, |slots| {
                sums = run(Some(&ChannelPlanes::new(slots, d)));
            });
            Some(Tensor::try_from_vec(gx, input.shape())?)
        } else {
            if reduce {
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
