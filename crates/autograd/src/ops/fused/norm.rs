//! Batch norm and layer norm as single fused ops (`NativeBatchNormBackward0`,
//! `NativeLayerNormBackward0`): the forward normalises in one pass per channel or row, and the
//! backward gives PyTorch's closed-form gradients for the input, weight and bias. The backward
//! is written with var ops from the saved input, so a `create_graph` backward differentiates it
//! again.

use antorcha_tensor::buffer::with_capacity;
use antorcha_tensor::{Float, Tensor};
use smallvec::{smallvec, SmallVec};

use crate::error::{AutogradError, Result};
use crate::grad_mode::is_grad_enabled;
use crate::node::{Attr, Saved};
use crate::rule::Grads;
use crate::var::{needs_graph, Var};

fn invalid(op: &'static str, message: String) -> AutogradError {
    AutogradError::Invalid { op, message }
}

/// `batch_norm`'s output and, in training mode, the batch's per-channel mean and biased
/// variance.
type BatchNormOut<T> = (Var<T>, Option<(Tensor<T>, Tensor<T>)>);

/// Checks an optional per-feature vector (weight, bias, running stat) against `shape`.
fn check_vec(op: &'static str, what: &str, shape: &[usize], v: Option<Vec<usize>>) -> Result<()> {
    match v {
        Some(s) if s != shape => Err(invalid(
            op,
            format!("{what} must have shape {shape:?}, got {s:?}"),
        )),
        _ => Ok(()),
    }
}

/// The row-major values of a var or tensor.
fn values<T: Float>(t: &Tensor<T>) -> Vec<T> {
    t.row_major().into_owned()
}

/// `sum(f(x))` over a slice with eight running sums, so the additions pipeline (and
/// vectorise) instead of waiting on one another.
#[inline]
fn lane_sum<T: Float>(xs: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    let tail = chunks.remainder().iter().fold(T::zero(), |a, &v| a + f(v));
    let ((a, b), (c, d)) = (
        (acc[0] + acc[4], acc[1] + acc[5]),
        (acc[2] + acc[6], acc[3] + acc[7]),
    );
    (a + c) + (b + d) + tail
}

/// `sum(f(x, y))` over two slices of one length, with eight running sums.
#[inline]
fn lane_sum2<T: Float>(xs: &[T], ys: &[T], f: impl Fn(T, T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let (mut cx, mut cy) = (xs.chunks_exact(8), ys.chunks_exact(8));
    for (a8, b8) in (&mut cx).zip(&mut cy) {
        for ((a, &x), &y) in acc.iter_mut().zip(a8).zip(b8) {
            *a += f(x, y);
        }
    }
    let tail = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .fold(T::zero(), |a, (&x, &y)| a + f(x, y));
    let ((a, b), (c, d)) = (
        (acc[0] + acc[4], acc[1] + acc[5]),
        (acc[2] + acc[6], acc[3] + acc[7]),
    );
    (a + c) + (b + d) + tail
}

/// Sums a `[n, c, l]` var over dims 0 and 2, keeping them: `[1, c, 1]`.
fn channel_sum<T: Float>(v: &Var<T>) -> Var<T> {
    v.sum_dim(0, true).sum_dim(2, true)
}

/// The position of each optional input among an op's recorded inputs.
fn positions(has_weight: bool, has_bias: bool) -> (Option<usize>, Option<usize>) {
    let w = has_weight.then_some(1);
    let b = has_bias.then_some(1 + usize::from(has_weight));
    (w, b)
}

/// The gradients of `layer_norm` as plain loops over `rows x cols`, for a backward that
/// records nothing: `mean` and `rstd` per row from the forward.
#[allow(clippy::too_many_arguments)]
fn layer_norm_grads<T: Float>(
    g: &[T],
    x: &[T],
    w: Option<&[T]>,
    mean: &[T],
    rstd: &[T],
    (rows, cols): (usize, usize),
    needs: [bool; 3],
) -> [Option<Vec<T>>; 3] {
    let mut gw_sum = vec![T::zero(); cols];
    let mut gb_sum = vec![T::zero(); cols];
    let mut gx = needs[0].then(|| with_capacity(g.len()));
    let count = T::cast(cols as f64);
    let mut gw = vec![T::zero(); cols];
    for r in 0..rows {
        let (gr, xr) = (&g[r * cols..(r + 1) * cols], &x[r * cols..(r + 1) * cols]);
        let (m, s) = (mean[r], rstd[r]);
        if needs[1] || needs[2] {
            for j in 0..cols {
                gw_sum[j] += gr[j] * (xr[j] - m) * s;
                gb_sum[j] += gr[j];
            }
        }
        if let Some(out) = gx.as_mut() {
            match w {
                Some(w) => {
                    for ((o, &gv), &wv) in gw.iter_mut().zip(gr).zip(w) {
                        *o = gv * wv;
                    }
                }
                None => gw.copy_from_slice(gr),
            }
            let a = lane_sum(&gw, |v| v) / count;
            let b = lane_sum2(&gw, xr, |gv, xv| gv * (xv - m)) * s / count;
            out.extend((0..cols).map(|j| (gw[j] - a - (xr[j] - m) * s * b) * s));
        }
    }
    [gx, needs[1].then_some(gw_sum), needs[2].then_some(gb_sum)]
}

/// The gradients of an op on `(input, weight?, bias?)` as the vars the engine takes.
fn wrap<T: Float>(grads: [Option<Vec<T>>; 3], shapes: [&[usize]; 3], has: [bool; 2]) -> Grads<T> {
    let mut out = Grads::new();
    for (i, (gr, shape)) in grads.into_iter().zip(shapes).enumerate() {
        if i == 0 || has[i - 1] {
            out.push(gr.map(|v| Var::new(Tensor::from_vec(v, shape))));
        }
    }
    out
}

impl<T: Float> Var<T> {
    /// Batch normalisation over dim 1 of `[N, C, *]`, like `torch.nn.functional.batch_norm`
    /// without the running-average update (the caller does it with the returned statistics):
    /// in `training` mode each channel is normalised with its batch mean and biased variance;
    /// otherwise with `running` `(mean, var)`, which it then needs. `weight` and `bias` are `[C]`.
    /// Returns the output and, in training mode, the batch's `(mean, biased variance)` per
    /// channel, taken over `N * H * W` values each. Records one `NativeBatchNormBackward0`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec(vec![1.0f64, 3.0], &[2, 1]);
    /// let (y, stats) = x.try_batch_norm(None, None, None, true, 0.0).unwrap();
    /// assert_eq!(y.to_vec(), vec![-1.0, 1.0]);
    /// assert_eq!(stats.unwrap().1.to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn try_batch_norm(
        &self,
        weight: Option<&Var<T>>,
        bias: Option<&Var<T>>,
        running: Option<(&Tensor<T>, &Tensor<T>)>,
        training: bool,
        eps: f64,
    ) -> Result<BatchNormOut<T>> {
        const OP: &str = "batch_norm";
        let shape = self.shape();
        if shape.len() < 2 {
            return Err(invalid(
                OP,
                format!("expected an input of at least 2 dims [N, C, *], got shape {shape:?}"),
            ));
        }
        let (n, c) = (shape[0], shape[1]);
        let l: usize = shape[2..].iter().product();
        check_vec(OP, "weight", &[c], weight.map(|w| w.shape()))?;
        check_vec(OP, "bias", &[c], bias.map(|b| b.shape()))?;
        if let Some((m, v)) = running {
            check_vec(OP, "running_mean", &[c], Some(m.shape().to_vec()))?;
            check_vec(OP, "running_var", &[c], Some(v.shape().to_vec()))?;
        }
        if training && n * l == 1 {
            return Err(invalid(
                OP,
                format!(
                    "expected more than 1 value per channel when training, got input of shape {shape:?}"
                ),
            ));
        }
        if !training && running.is_none() {
            return Err(invalid(
                OP,
                "running_mean and running_var are needed in eval mode".into(),
            ));
        }
        let (w, b) = (weight.map(|w| w.data()), bias.map(|b| b.data()));
        let x = self.data();
        let bn = if training && n * l == 0 {
            // An empty batch: an empty output, no statistics to update (as PyTorch).
            let (zeros, ones) = (Tensor::zeros(&[c]), Tensor::ones(&[c]));
            x.try_native_batch_norm(w.as_ref(), b.as_ref(), Some((&zeros, &ones)), false, eps)?
        } else {
            x.try_native_batch_norm(w.as_ref(), b.as_ref(), running, training, eps)?
        };
        let stats = (training && n * l > 0).then(|| (bn.mean.clone(), bn.var.clone()));
        let value = bn.output;
        let mut inputs: SmallVec<[&Var<T>; 3]> = smallvec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        if !needs_graph(&inputs[..]) {
            return Ok((Var::new(value), stats));
        }
        let (wpos, bpos) = positions(weight.is_some(), bias.is_some());
        // In eval mode the statistics are constants: the running mean and 1/sqrt(var + eps).
        let eval_stats = (!training).then(|| {
            (
                bn.mean.reshape(&[1, c as isize, 1]),
                bn.invstd.reshape(&[1, c as isize, 1]),
            )
        });
        let direct = (bn.mean, bn.invstd);
        let y = Var::from_op(
            value,
            "NativeBatchNormBackward0",
            &inputs[..],
            smallvec![
                ("input", Some(Saved::var(self))),
                ("weight", weight.map(Saved::var)),
            ],
            smallvec![
                ("training", Attr::Bool(training)),
                ("eps", Attr::Float(eps)),
            ],
            Box::new(move |g, saved, needs| {
                let need_w = wpos.is_some_and(|p| needs[p]);
                let need_b = bpos.is_some_and(|p| needs[p]);
                if !is_grad_enabled() {
                    // Nothing is recorded: the closed forms as loops.
                    let x = saved[0].as_ref().expect("saved").data();
                    let w = saved[1].as_ref().map(|w| w.data());
                    let grads = g.data().try_native_batch_norm_backward(
                        &x,
                        w.as_ref(),
                        &direct.0,
                        &direct.1,
                        training,
                        [needs[0], need_w, need_b],
                    )?;
                    let mut out = Grads::new();
                    let has = [true, wpos.is_some(), bpos.is_some()];
                    for (gr, has) in grads.into_iter().zip(has) {
                        if has {
                            out.push(gr.map(Var::new));
                        }
                    }
                    return Ok(out);
                }
                let x = saved[0]
                    .as_ref()
                    .expect("saved")
                    .reshape(&[n as isize, c as isize, l as isize]);
                let w3 = saved[1].as_ref().map(|w| w.reshape(&[1, c as isize, 1]));
                let g3 = g.reshape(&[n as isize, c as isize, l as isize]);
                let (xhat, invstd) = match &eval_stats {
                    Some((m, s)) => {
                        let s = Var::new(s.clone());
                        (x.sub(&Var::new(m.clone())).mul(&s), s)
                    }
                    None => {
                        let count = T::cast((n * l) as f64);
                        let mean = channel_sum(&x).div_scalar(count);
                        let xc = x.sub(&mean);
                        let var = channel_sum(&xc.mul(&xc)).div_scalar(count);
                        let invstd = var.add_scalar(T::cast(eps)).powf(T::cast(-0.5));
                        (xc.mul(&invstd), invstd)
                    }
                };
                let need_gx = needs[0];
                let gsum = (need_b || (need_gx && training)).then(|| channel_sum(&g3));
                let gxhat = (need_w || (need_gx && training)).then(|| channel_sum(&g3.mul(&xhat)));
                let mut out = Grads::new();
                out.push(need_gx.then(|| {
                    let scaled = match &w3 {
                        Some(w) => invstd.mul(w),
                        None => invstd.clone(),
                    };
                    let inner = if training {
                        let count = T::cast((n * l) as f64);
                        let gsum = gsum.as_ref().expect("computed when training");
                        let gxhat = gxhat.as_ref().expect("computed when training");
                        g3.sub(&gsum.div_scalar(count))
                            .sub(&xhat.mul(&gxhat.div_scalar(count)))
                    } else {
                        g3.clone()
                    };
                    inner.mul(&scaled).reshape(&to_isize(&shape))
                }));
                if wpos.is_some() {
                    out.push(need_w.then(|| {
                        gxhat
                            .as_ref()
                            .expect("computed for the weight")
                            .reshape(&[c as isize])
                    }));
                }
                if bpos.is_some() {
                    out.push(need_b.then(|| {
                        gsum.as_ref()
                            .expect("computed for the bias")
                            .reshape(&[c as isize])
                    }));
                }
                Ok(out)
            }),
        );
        Ok((y, stats))
    }

    /// Layer normalisation over the last dims given by `normalized_shape`, like
    /// `torch.nn.functional.layer_norm(x, normalized_shape, weight, bias, eps)`: each row is
    /// normalised with its mean and biased variance, then scaled by `weight` and shifted by
    /// `bias` (both of `normalized_shape`). Records one `NativeLayerNormBackward0`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec(vec![1.0f64, 3.0, 0.0, 4.0], &[2, 2]);
    /// let y = x.try_layer_norm(&[2], None, None, 0.0).unwrap();
    /// assert_eq!(y.to_vec(), vec![-1.0, 1.0, -1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn try_layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Var<T>>,
        bias: Option<&Var<T>>,
        eps: f64,
    ) -> Result<Var<T>> {
        const OP: &str = "layer_norm";
        let shape = self.shape();
        let k = normalized_shape.len();
        if k == 0 || k > shape.len() || shape[shape.len() - k..] != *normalized_shape {
            return Err(invalid(
                OP,
                format!(
                    "normalized_shape {normalized_shape:?} must be the last dims of the input, got input of shape {shape:?}"
                ),
            ));
        }
        check_vec(OP, "weight", normalized_shape, weight.map(|w| w.shape()))?;
        check_vec(OP, "bias", normalized_shape, bias.map(|b| b.shape()))?;
        let cols: usize = normalized_shape.iter().product();
        let rows: usize = shape[..shape.len() - k].iter().product();
        let x = self.data();
        let xs = x.row_major();
        let w = weight.map(|w| values(&w.data()));
        let b = bias.map(|b| values(&b.data()));
        let eps_t = T::cast(eps);
        let count = T::cast(cols as f64);
        let mut out = with_capacity(xs.len());
        let mut means = Vec::with_capacity(rows);
        let mut rstds = Vec::with_capacity(rows);
        for r in 0..rows {
            let row = &xs[r * cols..(r + 1) * cols];
            let mean = lane_sum(row, |v| v) / count;
            let var = lane_sum(row, |v| (v - mean) * (v - mean)) / count;
            let rstd = T::one() / (var + eps_t).sqrt();
            means.push(mean);
            rstds.push(rstd);
            match (&w, &b) {
                (Some(w), Some(b)) => out.extend(
                    row.iter()
                        .zip(w.iter().zip(b))
                        .map(|(&v, (&wj, &bj))| (v - mean) * rstd * wj + bj),
                ),
                (Some(w), None) => {
                    out.extend(row.iter().zip(w).map(|(&v, &wj)| (v - mean) * rstd * wj))
                }
                (None, Some(b)) => {
                    out.extend(row.iter().zip(b).map(|(&v, &bj)| (v - mean) * rstd + bj))
                }
                (None, None) => out.extend(row.iter().map(|&v| (v - mean) * rstd)),
            }
        }
        let value = Tensor::from_vec(out, &shape);
        let mut inputs: SmallVec<[&Var<T>; 3]> = smallvec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        if !needs_graph(&inputs[..]) {
            return Ok(Var::new(value));
        }
        let (wpos, bpos) = positions(weight.is_some(), bias.is_some());
        let norm_shape = to_isize(normalized_shape);
        let norm_dims = normalized_shape.to_vec();
        Ok(Var::from_op(
            value,
            "NativeLayerNormBackward0",
            &inputs[..],
            smallvec![
                ("input", Some(Saved::var(self))),
                ("weight", weight.map(Saved::var)),
            ],
            smallvec![
                ("normalized_shape", Attr::shape(normalized_shape)),
                ("eps", Attr::Float(eps)),
            ],
            Box::new(move |g, saved, needs| {
                if !is_grad_enabled() {
                    // Nothing is recorded: the closed forms as loops.
                    let x = saved[0].as_ref().expect("saved").data();
                    let w = saved[1].as_ref().map(|w| w.data());
                    let w = w.as_ref().map(|w| w.row_major());
                    let grads = layer_norm_grads(
                        &g.data().row_major(),
                        &x.row_major(),
                        w.as_deref(),
                        &means,
                        &rstds,
                        (rows, cols),
                        [
                            needs[0],
                            wpos.is_some_and(|p| needs[p]),
                            bpos.is_some_and(|p| needs[p]),
                        ],
                    );
                    let has = [wpos.is_some(), bpos.is_some()];
                    let ns = norm_dims.as_slice();
                    return Ok(wrap(grads, [&shape, ns, ns], has));
                }
                let (r, k) = (rows as isize, cols as isize);
                let x = saved[0].as_ref().expect("saved").reshape(&[r, k]);
                let w = saved[1].as_ref().map(|w| w.reshape(&[1, k]));
                let g2 = g.reshape(&[r, k]);
                let mean = x.mean_dim(1, true);
                let xc = x.sub(&mean);
                let var = xc.mul(&xc).mean_dim(1, true);
                let rstd = var.add_scalar(T::cast(eps)).powf(T::cast(-0.5));
                let xhat = xc.mul(&rstd);
                let mut out = Grads::new();
                out.push(needs[0].then(|| {
                    let gw = match &w {
                        Some(w) => g2.mul(w),
                        None => g2.clone(),
                    };
                    let a = gw.mean_dim(1, true);
                    let bb = gw.mul(&xhat).mean_dim(1, true);
                    gw.sub(&a)
                        .sub(&xhat.mul(&bb))
                        .mul(&rstd)
                        .reshape(&to_isize(&shape))
                }));
                if let Some(p) = wpos {
                    out.push(
                        needs[p].then(|| g2.mul(&xhat).sum_dim(0, false).reshape(&norm_shape)),
                    );
                }
                if let Some(p) = bpos {
                    out.push(needs[p].then(|| g2.sum_dim(0, false).reshape(&norm_shape)));
                }
                Ok(out)
            }),
        ))
    }
}

fn to_isize(s: &[usize]) -> Vec<isize> {
    s.iter().map(|&d| d as isize).collect()
}
