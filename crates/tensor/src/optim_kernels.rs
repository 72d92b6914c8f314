//! Optimizer updates as fused tensor kernels: one pass reads a parameter and its gradient,
//! updates the optimizer's state buffers in place and writes the parameter's new value, in
//! PyTorch's operation order (`_single_tensor_sgd`, `_single_tensor_adam`, …), so results match
//! PyTorch's bit for bit. `antorcha-optim` keeps the bookkeeping (groups, states, schedules).
//!
//! Each kernel ([`SgdStep::apply`], …) updates a parameter in place, or writes its new value
//! into another tensor (the caller's spare buffer, so that a parameter's readers never see a
//! half-updated value): see [`StepParam`]. The gradient and every buffer have the parameter's
//! shape.

use std::borrow::Cow;

use crate::element::Float;
use crate::layout::same_shape;
use crate::tensor::Tensor;

/// `torch.optim.SGD`'s hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0: plain SGD, no buffer).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
}

/// `torch.optim.Adam` / `AdamW`'s hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f64,
    /// `(β1, β2)`.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// AdamW's decoupled decay (`p *= 1 - lr·wd`) instead of L2.
    pub decoupled_weight_decay: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    /// This step's number, from 1.
    pub step: u64,
}

/// `torch.optim.RMSprop`'s hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropStep {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (uses the momentum buffer when positive).
    pub momentum: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
}

/// `torch.optim.Adagrad`'s hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradStep {
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate decay.
    pub lr_decay: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
    /// This step's number, from 1.
    pub step: u64,
}

/// PyTorch's `lerp`: `start + w (end - start)` for `|w| < 0.5`, else
/// `end - (end - start)(1 - w)`, which is exact at both ends.
#[inline]
fn lerp<T: Float>(start: T, end: T, weight: T) -> T {
    if weight.abs() < T::cast(0.5) {
        start + weight * (end - start)
    } else {
        end - (end - start) * (T::one() - weight)
    }
}

/// `torch.maximum`: the larger value, NaN if either is NaN.
#[inline]
fn nan_max<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || b.is_nan() {
        T::nan()
    } else if a >= b {
        a
    } else {
        b
    }
}

/// The parameter an optimizer kernel updates, and where its new value goes.
#[derive(Debug)]
pub enum StepParam<'a, T: Float> {
    /// The parameter's elements in row-major order, overwritten with its new value (its own
    /// storage when nothing else shares it: nothing is copied or allocated). Each element is
    /// read before it is written, so the numbers are those of [`StepParam::Into`]. The
    /// parameter has the gradient's shape.
    InPlace(&'a mut [T]),
    /// The parameter, read, and the tensor of its shape that its new value is written into
    /// (a spare buffer, so that the parameter's readers never see a half-updated value).
    Into(&'a Tensor<T>, &'a mut Tensor<T>),
}

/// A kernel's operands after the shape checks: the parameter's elements (`None`: read them
/// from `out`, in place), the output's, the gradient's, and the parameter's shape.
struct Operands<'a, T: Float> {
    ps: Option<Cow<'a, [T]>>,
    o: &'a mut [T],
    gs: Cow<'a, [T]>,
    shape: &'a [usize],
}

impl<'a, T: Float> StepParam<'a, T> {
    /// The operands of a step of this parameter with `grad`.
    #[track_caller]
    #[inline]
    fn operands(self, grad: &'a Tensor<T>) -> Operands<'a, T> {
        match self {
            StepParam::InPlace(o) => {
                let shape = grad.shape();
                let g = grad.row_major();
                if o.len() != g.len() {
                    length_mismatch(o.len(), shape)
                }
                Operands {
                    ps: None,
                    o,
                    gs: g,
                    shape,
                }
            }
            StepParam::Into(param, out) => {
                let shape = param.shape();
                check_shape(grad, shape, "the gradient");
                Operands {
                    ps: Some(param.row_major()),
                    o: slice_of(out, shape, "the output"),
                    gs: grad.row_major(),
                    shape,
                }
            }
        }
    }
}

/// The elements of `t`, which must have `shape`, as a mutable row-major slice.
#[track_caller]
fn slice_of<'a, T: Float>(t: &'a mut Tensor<T>, shape: &[usize], what: &str) -> &'a mut [T] {
    check_shape(t, shape, what);
    t.as_slice_mut()
}

/// Panics unless `t` has `shape`.
#[track_caller]
#[inline]
fn check_shape<T: Float>(t: &Tensor<T>, shape: &[usize], what: &str) {
    if !same_shape(t.shape(), shape) {
        shape_mismatch(t.shape(), shape, what)
    }
}

#[cold]
#[track_caller]
fn length_mismatch(len: usize, shape: &[usize]) -> ! {
    panic!("optimizer step: the parameter has {len} elements, its gradient shape {shape:?}")
}

#[cold]
#[track_caller]
fn shape_mismatch(got: &[usize], shape: &[usize], what: &str) -> ! {
    panic!("optimizer step: {what} has shape {got:?}, the parameter {shape:?}")
}

/// SGD's constants in the parameter's float type.
#[derive(Clone, Copy)]
struct SgdConsts<T> {
    neg_lr: T,
    wd: T,
    m: T,
    keep: T,
}

/// `±g (+ wd·p)`: the gradient as the update sees it (flags as const generics, so that each
/// combination is its own branch-free, vectorisable loop).
#[inline(always)]
fn direction<T: Float, const MAXIMIZE: bool, const DECAY: bool>(c: SgdConsts<T>, g: T, p: T) -> T {
    let g = if MAXIMIZE { -g } else { g };
    if DECAY {
        g + c.wd * p
    } else {
        g
    }
}

/// Parameters at least this long are updated in two halves on both cores.
const PAR_MIN_ELEMS: usize = 1 << 15;

/// The loop of [`apply2`]: a function of its own so that its slice arguments are known not to
/// alias (the loop vectorises). It is bound by memory bandwidth. `p: None` reads the parameter
/// from `out` (in place).
#[inline(never)]
fn loop2<T: Float, F: Fn(T, T) -> T>(out: &mut [T], p: Option<&[T]>, g: &[T], f: &F) {
    match p {
        Some(p) => {
            for ((o, &p), &g) in out.iter_mut().zip(p).zip(g) {
                *o = f(p, g)
            }
        }
        None => {
            for (o, &g) in out.iter_mut().zip(g) {
                *o = f(*o, g)
            }
        }
    }
}

/// The loop of [`apply3`], likewise.
#[inline(never)]
fn loop3<T: Float, F: Fn(T, T, &mut T) -> T>(
    out: &mut [T],
    p: Option<&[T]>,
    g: &[T],
    b: &mut [T],
    f: &F,
) {
    match p {
        Some(p) => {
            for (((o, &p), &g), b) in out.iter_mut().zip(p).zip(g).zip(b.iter_mut()) {
                *o = f(p, g, b)
            }
        }
        None => {
            for ((o, &g), b) in out.iter_mut().zip(g).zip(b.iter_mut()) {
                *o = f(*o, g, b)
            }
        }
    }
}

/// `p` split at `h` (both halves `None` when it is).
#[inline(always)]
fn split_opt<T>(p: Option<&[T]>, h: usize) -> (Option<&[T]>, Option<&[T]>) {
    match p {
        Some(p) => {
            let (a, b) = p.split_at(h);
            (Some(a), Some(b))
        }
        None => (None, None),
    }
}

/// `out = f(param, grad)` element by element, split in two halves across threads for large
/// parameters.
#[inline(always)]
fn apply2<T: Float>(o: &mut [T], p: Option<&[T]>, g: &[T], f: impl Fn(T, T) -> T + Sync) {
    let run = |o: &mut [T], p: Option<&[T]>, g: &[T]| loop2(o, p, g, &f);
    if o.len() >= PAR_MIN_ELEMS {
        let h = o.len() / 2;
        let (o0, o1) = o.split_at_mut(h);
        let (p0, p1) = split_opt(p, h);
        let (g0, g1) = g.split_at(h);
        crate::join(|| run(o0, p0, g0), || run(o1, p1, g1));
    } else {
        run(o, p, g);
    }
}

/// As [`apply2`] with the momentum buffer as a fourth operand, updated in place.
#[inline(always)]
fn apply3<T: Float>(
    o: &mut [T],
    p: Option<&[T]>,
    g: &[T],
    b: &mut [T],
    f: impl Fn(T, T, &mut T) -> T + Sync,
) {
    let run = |o: &mut [T], p: Option<&[T]>, g: &[T], b: &mut [T]| loop3(o, p, g, b, &f);
    if o.len() >= PAR_MIN_ELEMS {
        let h = o.len() / 2;
        let (o0, o1) = o.split_at_mut(h);
        let (p0, p1) = split_opt(p, h);
        let (g0, g1) = g.split_at(h);
        let (b0, b1) = b.split_at_mut(h);
        crate::join(|| run(o0, p0, g0, b0), || run(o1, p1, g1, b1));
    } else {
        run(o, p, g, b);
    }
}

/// Plain SGD: `p = p + (-lr)·d`.
fn sgd_plain<T: Float, const MAXIMIZE: bool, const DECAY: bool>(
    c: SgdConsts<T>,
    o: &mut [T],
    p: Option<&[T]>,
    g: &[T],
) {
    apply2(o, p, g, move |p, g| {
        let d = direction::<T, MAXIMIZE, DECAY>(c, g, p);
        p + c.neg_lr * d
    });
}

/// SGD with momentum: `buf = d` on the first step, else `buf·m + (1-dampening)·d`; then
/// `p = p + (-lr)·(d + m·buf)` (Nesterov) or `p + (-lr)·buf`.
#[allow(clippy::too_many_arguments)]
fn sgd_momentum<T: Float, const MAXIMIZE: bool, const DECAY: bool>(
    c: SgdConsts<T>,
    o: &mut [T],
    p: Option<&[T]>,
    g: &[T],
    b: &mut [T],
    first: bool,
    nesterov: bool,
) {
    let dir = move |g, p| direction::<T, MAXIMIZE, DECAY>(c, g, p);
    match (first, nesterov) {
        (true, false) => apply3(o, p, g, b, move |p, g, b| {
            *b = dir(g, p);
            p + c.neg_lr * *b
        }),
        (true, true) => apply3(o, p, g, b, move |p, g, b| {
            let d = dir(g, p);
            *b = d;
            p + c.neg_lr * (d + c.m * *b)
        }),
        (false, false) => apply3(o, p, g, b, move |p, g, b| {
            let d = dir(g, p);
            *b = *b * c.m + c.keep * d;
            p + c.neg_lr * *b
        }),
        (false, true) => apply3(o, p, g, b, move |p, g, b| {
            let d = dir(g, p);
            *b = *b * c.m + c.keep * d;
            p + c.neg_lr * (d + c.m * *b)
        }),
    }
}

impl SgdStep {
    /// One `torch.optim.SGD` update of `param` with `grad`, in one pass: `g = ±grad
    /// (+ wd·p)`; with momentum, `buf = g` on the first step (when `momentum_buffer` is `None`,
    /// it is created), else `buf·m + (1-dampening)·g`, and `g = g + m·buf` (Nesterov) or `buf`;
    /// `p = p + (-lr)·g`. Without momentum the buffer is left alone.
    ///
    /// ```
    /// use antorcha_tensor::{SgdStep, StepParam, Tensor};
    /// let mut p = vec![1.0f32, 2.0];
    /// let g = Tensor::from_vec(vec![0.5f32, -1.0], &[2]);
    /// let hp = SgdStep { lr: 0.1, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };
    /// let mut buf = None;
    /// hp.apply(StepParam::InPlace(&mut p), &g, &mut buf);
    /// assert_eq!(p, vec![1.0 - 0.1 * 0.5, 2.0 + 0.1]);
    /// assert_eq!(buf.unwrap().to_vec(), vec![0.5, -1.0]);
    /// ```
    ///
    /// # Panics
    /// If the output, `grad` or the buffer does not have the parameter's shape.
    #[track_caller]
    pub fn apply<T: Float>(
        &self,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        momentum_buffer: &mut Option<Tensor<T>>,
    ) {
        let hp = self;
        let Operands { ps, o, gs, shape } = param.operands(grad);
        let p = ps.as_deref();
        let c = SgdConsts {
            neg_lr: T::cast(-hp.lr),
            wd: T::cast(hp.weight_decay),
            m: T::cast(hp.momentum),
            keep: T::cast(1.0 - hp.dampening),
        };
        let decay = hp.weight_decay != 0.0;
        if hp.momentum == 0.0 {
            match (hp.maximize, decay) {
                (false, false) => sgd_plain::<T, false, false>(c, o, p, &gs),
                (false, true) => sgd_plain::<T, false, true>(c, o, p, &gs),
                (true, false) => sgd_plain::<T, true, false>(c, o, p, &gs),
                (true, true) => sgd_plain::<T, true, true>(c, o, p, &gs),
            }
            return;
        }
        let first = momentum_buffer.is_none();
        let buf = momentum_buffer.get_or_insert_with(|| Tensor::zeros(shape));
        let b = slice_of(buf, shape, "the momentum buffer");
        let n = hp.nesterov;
        match (hp.maximize, decay) {
            (false, false) => sgd_momentum::<T, false, false>(c, o, p, &gs, b, first, n),
            (false, true) => sgd_momentum::<T, false, true>(c, o, p, &gs, b, first, n),
            (true, false) => sgd_momentum::<T, true, false>(c, o, p, &gs, b, first, n),
            (true, true) => sgd_momentum::<T, true, true>(c, o, p, &gs, b, first, n),
        }
    }
}

impl AdamStep {
    /// One `torch.optim.Adam` (or `AdamW`) update of `param` with `grad`, in one pass and
    /// PyTorch's order: decoupled decay `p *= 1 - lr·wd` or `g += wd·p`;
    /// `m = lerp(m, g, 1-β1)`; `v = v·β2 + ((1-β2)·g)·g`; with `max_exp_avg_sq` (AMSGrad)
    /// `vmax = max(vmax, v)`; `denom = sqrt(v or vmax) / sqrt(1-β2^t) + eps`;
    /// `p += (-(lr / (1-β1^t))·m) / denom`.
    ///
    /// # Panics
    /// If the output, `grad` or a buffer does not have the parameter's shape.
    #[track_caller]
    pub fn apply<T: Float>(
        &self,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        exp_avg: &mut Tensor<T>,
        exp_avg_sq: &mut Tensor<T>,
        max_exp_avg_sq: Option<&mut Tensor<T>>,
    ) {
        let hp = self;
        let Operands { ps, o, gs, shape } = param.operands(grad);
        let (beta1, beta2) = hp.betas;
        let step = hp.step as f64;
        // Python floats, as in PyTorch: `beta ** step`, `lr / bc1`, `bc2 ** 0.5`.
        let bias_correction1 = 1.0 - beta1.powf(step);
        let bias_correction2 = 1.0 - beta2.powf(step);
        let neg_step_size = T::cast(-(hp.lr / bias_correction1));
        let bc2_sqrt = T::cast(bias_correction2.sqrt());
        let eps = T::cast(hp.eps);
        let w1 = T::cast(1.0 - beta1);
        let b2 = T::cast(beta2);
        let c2 = T::cast(1.0 - beta2);
        let wd = T::cast(hp.weight_decay);
        let shrink = T::cast(1.0 - hp.lr * hp.weight_decay);
        let decay = hp.weight_decay != 0.0;
        let (decoupled, maximize) = (hp.decoupled_weight_decay, hp.maximize);
        let m = slice_of(exp_avg, shape, "exp_avg");
        let v = slice_of(exp_avg_sq, shape, "exp_avg_sq");
        let mut vmax = max_exp_avg_sq.map(|t| slice_of(t, shape, "max_exp_avg_sq"));
        for i in 0..o.len() {
            let mut p = ps.as_ref().map_or(o[i], |ps| ps[i]);
            let g = gs[i];
            // The gradient after maximize / L2 decay; decoupled decay shrinks `p` first.
            let g = if maximize { -g } else { g };
            let g = match (decay, decoupled) {
                (true, true) => {
                    p *= shrink;
                    g
                }
                (true, false) => g + wd * p,
                _ => g,
            };
            m[i] = lerp(m[i], g, w1);
            v[i] = v[i] * b2 + (c2 * g) * g;
            let second = match vmax.as_deref_mut() {
                Some(vm) => {
                    vm[i] = nan_max(vm[i], v[i]);
                    vm[i]
                }
                None => v[i],
            };
            let denom = second.sqrt() / bc2_sqrt + eps;
            o[i] = p + (neg_step_size * m[i]) / denom;
        }
    }
}

impl RmspropStep {
    /// One `torch.optim.RMSprop` update of `param` with `grad`, in one pass and PyTorch's
    /// order: `g = ±grad (+ wd·p)`; `sq = sq·α + ((1-α)·g)·g`; centered (with `grad_avg`):
    /// `ga = lerp(ga, g, 1-α)`, `avg = sqrt(sq - ga·ga)`, else `avg = sqrt(sq)`; `avg += eps`;
    /// with `momentum_buffer`: `buf = buf·m + g/avg`, `p += (-lr)·buf`; else
    /// `p += ((-lr)·g)/avg`.
    ///
    /// # Panics
    /// If the output, `grad` or a buffer does not have the parameter's shape.
    #[track_caller]
    pub fn apply<T: Float>(
        &self,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        square_avg: &mut Tensor<T>,
        grad_avg: Option<&mut Tensor<T>>,
        momentum_buffer: Option<&mut Tensor<T>>,
    ) {
        let hp = self;
        let Operands { ps, o, gs, shape } = param.operands(grad);
        let neg_lr = T::cast(-hp.lr);
        let alpha = T::cast(hp.alpha);
        let one_minus_alpha = T::cast(1.0 - hp.alpha);
        let eps = T::cast(hp.eps);
        let wd = T::cast(hp.weight_decay);
        let decay = hp.weight_decay != 0.0;
        let momentum = T::cast(hp.momentum);
        let sq = slice_of(square_avg, shape, "square_avg");
        let mut ga = grad_avg.map(|t| slice_of(t, shape, "grad_avg"));
        let mut buf = momentum_buffer.map(|t| slice_of(t, shape, "momentum_buffer"));
        for i in 0..o.len() {
            let p = ps.as_ref().map_or(o[i], |ps| ps[i]);
            let g = gs[i];
            let g = if hp.maximize { -g } else { g };
            let g = if decay { g + wd * p } else { g };
            sq[i] = sq[i] * alpha + (one_minus_alpha * g) * g;
            let avg = match ga.as_deref_mut() {
                Some(ga) => {
                    ga[i] = lerp(ga[i], g, one_minus_alpha);
                    (sq[i] + -(ga[i] * ga[i])).sqrt()
                }
                None => sq[i].sqrt(),
            } + eps;
            o[i] = match buf.as_deref_mut() {
                Some(b) => {
                    b[i] = b[i] * momentum + g / avg;
                    p + neg_lr * b[i]
                }
                None => p + (neg_lr * g) / avg,
            };
        }
    }
}

impl AdagradStep {
    /// One `torch.optim.Adagrad` update of `param` with `grad`, in one pass:
    /// `g = ±grad (+ wd·p)`; `sum += g·g`; `p += (-clr·g) / (sqrt(sum) + eps)` with
    /// `clr = lr / (1 + (step - 1)·lr_decay)`.
    ///
    /// # Panics
    /// If the output, `grad` or `sum` does not have the parameter's shape.
    #[track_caller]
    pub fn apply<T: Float>(&self, param: StepParam<'_, T>, grad: &Tensor<T>, sum: &mut Tensor<T>) {
        let hp = self;
        let Operands { ps, o, gs, shape } = param.operands(grad);
        let clr = hp.lr / (1.0 + (hp.step as f64 - 1.0) * hp.lr_decay);
        let neg_clr = T::cast(-clr);
        let eps = T::cast(hp.eps);
        let wd = T::cast(hp.weight_decay);
        let decay = hp.weight_decay != 0.0;
        let s = slice_of(sum, shape, "sum");
        for i in 0..o.len() {
            let p = ps.as_ref().map_or(o[i], |ps| ps[i]);
            let g = gs[i];
            let g = if hp.maximize { -g } else { g };
            let g = if decay { g + wd * p } else { g };
            s[i] += g * g;
            let std = s[i].sqrt() + eps;
            o[i] = p + (neg_clr * g) / std;
        }
    }
}

impl<T: Float> Tensor<T> {
    /// One `torch.optim.SGD` update of `param`, written into `self` ([`SgdStep::apply`] with
    /// [`StepParam::Into`]).
    ///
    /// ```
    /// use antorcha_tensor::{SgdStep, Tensor};
    /// let p = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// let g = Tensor::from_vec(vec![0.5f32, -1.0], &[2]);
    /// let hp = SgdStep { lr: 0.1, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };
    /// let (mut out, mut buf) = (Tensor::zeros(&[2]), None);
    /// out.sgd_step_(&p, &g, &mut buf, &hp);
    /// assert_eq!(out.to_vec(), vec![1.0 - 0.1 * 0.5, 2.0 + 0.1]);
    /// assert_eq!(buf.unwrap().to_vec(), vec![0.5, -1.0]);
    /// ```
    ///
    /// # Panics
    /// If `self`, `grad` or the buffer does not have `param`'s shape.
    #[track_caller]
    pub fn sgd_step_(
        &mut self,
        param: &Tensor<T>,
        grad: &Tensor<T>,
        momentum_buffer: &mut Option<Tensor<T>>,
        hp: &SgdStep,
    ) {
        hp.apply(StepParam::Into(param, self), grad, momentum_buffer)
    }

    /// One `torch.optim.Adam` (or `AdamW`) update of `param`, written into `self`
    /// ([`AdamStep::apply`] with [`StepParam::Into`]).
    ///
    /// # Panics
    /// If `self`, `grad` or a buffer does not have `param`'s shape.
    #[track_caller]
    pub fn adam_step_(
        &mut self,
        param: &Tensor<T>,
        grad: &Tensor<T>,
        exp_avg: &mut Tensor<T>,
        exp_avg_sq: &mut Tensor<T>,
        max_exp_avg_sq: Option<&mut Tensor<T>>,
        hp: &AdamStep,
    ) {
        let param = StepParam::Into(param, self);
        hp.apply(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    }

    /// One `torch.optim.RMSprop` update of `param`, written into `self`
    /// ([`RmspropStep::apply`] with [`StepParam::Into`]).
    ///
    /// # Panics
    /// If `self`, `grad` or a buffer does not have `param`'s shape.
    #[track_caller]
    pub fn rmsprop_step_(
        &mut self,
        param: &Tensor<T>,
        grad: &Tensor<T>,
        square_avg: &mut Tensor<T>,
        grad_avg: Option<&mut Tensor<T>>,
        momentum_buffer: Option<&mut Tensor<T>>,
        hp: &RmspropStep,
    ) {
        let param = StepParam::Into(param, self);
        hp.apply(param, grad, square_avg, grad_avg, momentum_buffer)
    }

    /// One `torch.optim.Adagrad` update of `param`, written into `self`
    /// ([`AdagradStep::apply`] with [`StepParam::Into`]).
    ///
    /// # Panics
    /// If `self`, `grad` or `sum` does not have `param`'s shape.
    #[track_caller]
    pub fn adagrad_step_(
        &mut self,
        param: &Tensor<T>,
        grad: &Tensor<T>,
        sum: &mut Tensor<T>,
        hp: &AdagradStep,
    ) {
        hp.apply(StepParam::Into(param, self), grad, sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), &[v.len()])
    }

    #[test]
    fn sgd_with_momentum_matches_its_closed_form() {
        // Two steps with momentum 0.5, dampening 0, lr 0.1 on g = [1, -2] then [1, -2]:
        // buf1 = g, p1 = p0 - 0.1 g; buf2 = 0.5 g + g, p2 = p1 - 0.1 · 1.5 g.
        let hp = SgdStep {
            lr: 0.1,
            momentum: 0.5,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        };
        let (p0, g) = (t(&[1.0, 1.0]), t(&[1.0, -2.0]));
        let (mut p1, mut p2, mut buf) = (Tensor::zeros(&[2]), Tensor::zeros(&[2]), None);
        p1.sgd_step_(&p0, &g, &mut buf, &hp);
        p2.sgd_step_(&p1, &g, &mut buf, &hp);
        assert_eq!(buf.unwrap().to_vec(), vec![1.5, -3.0]);
        let want = [1.0 - 0.1 - 0.1 * 1.5, 1.0 + 0.2 + 0.1 * 3.0];
        assert!(p2
            .to_vec()
            .iter()
            .zip(want)
            .all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn a_strided_gradient_reads_in_row_major_order() {
        let hp = SgdStep {
            lr: 1.0,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        };
        let p = Tensor::<f64>::zeros(&[2, 2]);
        let g = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).t();
        let mut out = Tensor::zeros(&[2, 2]);
        out.sgd_step_(&p, &g, &mut None, &hp);
        assert_eq!(out.to_vec(), vec![-1.0, -3.0, -2.0, -4.0]);
    }

    #[test]
    fn adam_first_step_moves_each_weight_by_lr() {
        // After one bias-corrected step, m̂ = g and v̂ = g², so p moves by lr·g/(|g| + eps).
        let hp = AdamStep {
            lr: 0.01,
            betas: (0.9, 0.999),
            eps: 0.0,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            maximize: false,
            step: 1,
        };
        let (p, g) = (t(&[1.0, 1.0]), t(&[3.0, -0.5]));
        let (mut m, mut v, mut out) = (
            Tensor::zeros(&[2]),
            Tensor::zeros(&[2]),
            Tensor::zeros(&[2]),
        );
        out.adam_step_(&p, &g, &mut m, &mut v, None, &hp);
        let got = out.to_vec();
        assert!(
            (got[0] - 0.99).abs() < 1e-12 && (got[1] - 1.01).abs() < 1e-12,
            "{got:?}"
        );
    }

    /// A parameter of shape [5, 1], a gradient read through a strided layout, and a buffer.
    fn operands() -> (Vec<f64>, Tensor<f64>, Tensor<f64>) {
        let p = vec![0.5, -1.25, 2.0, 0.0, 3.5];
        let g = Tensor::from_vec(
            vec![0.3, -0.7, 1.1, 0.0, -2.2, 0.9, 4.0, -0.1, 0.6, 1.5],
            &[5, 2],
        );
        let g = g.narrow(1, 1, 1);
        assert!(!g.is_contiguous());
        let b = Tensor::from_vec(vec![0.1, 0.2, -0.3, 0.4, 0.05], &[5, 1]);
        (p, g, b)
    }

    /// `run` on the parameter in place and into a spare buffer gives the same bits, buffers
    /// included.
    fn same_both_ways(run: impl Fn(StepParam<'_, f64>, &Tensor<f64>, &mut Tensor<f64>)) {
        let (p, g, b) = operands();
        let (mut inplace, mut b1) = (p.clone(), b.clone());
        run(StepParam::InPlace(&mut inplace), &g, &mut b1);
        let param = Tensor::from_vec(p.clone(), &[5, 1]);
        let (mut out, mut b2) = (Tensor::zeros(&[5, 1]), b.clone());
        run(StepParam::Into(&param, &mut out), &g, &mut b2);
        let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(inplace.clone()), bits(out.to_vec()));
        assert_eq!(bits(b1.to_vec()), bits(b2.to_vec()));
        assert_ne!(inplace, p, "the step moved nothing");
        assert_eq!(param.to_vec(), p, "the parameter read was changed");
    }

    #[test]
    fn in_place_steps_equal_steps_into_a_spare_buffer() {
        for (momentum, nesterov, maximize, wd, first) in [
            (0.0, false, false, 0.0, true),
            (0.0, false, true, 0.1, true),
            (0.9, false, false, 0.0, true),
            (0.9, true, false, 0.01, false),
            (0.5, false, true, 0.01, false),
        ] {
            let hp = SgdStep {
                lr: 0.1,
                momentum,
                dampening: if nesterov { 0.0 } else { 0.2 },
                weight_decay: wd,
                nesterov,
                maximize,
            };
            same_both_ways(|p, g, b| {
                let mut buf = (!first).then(|| b.clone());
                hp.apply(p, g, &mut buf);
                *b = buf.unwrap_or_else(|| b.clone());
            });
        }
        for (amsgrad, decoupled) in [(false, false), (true, true)] {
            let hp = AdamStep {
                lr: 0.01,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.1,
                decoupled_weight_decay: decoupled,
                maximize: false,
                step: 3,
            };
            same_both_ways(|p, g, b| {
                let mut v = b.map_same(|x| x * x);
                let mut vmax = v.map_same(|x| x * 1.5);
                hp.apply(p, g, b, &mut v, amsgrad.then_some(&mut vmax));
                *b = &*b + &(&v + &vmax);
            });
        }
        for (centered, momentum) in [(false, 0.0), (true, 0.9)] {
            let hp = RmspropStep {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                weight_decay: 0.05,
                momentum,
                maximize: true,
            };
            same_both_ways(|p, g, b| {
                let mut sq = b.map_same(|x| x * x + 1.0);
                let mut ga = b.clone();
                let buf = (momentum > 0.0).then_some(&mut *b);
                hp.apply(p, g, &mut sq, centered.then_some(&mut ga), buf);
                *b = &*b + &(&sq + &ga);
            });
        }
        let hp = AdagradStep {
            lr: 0.1,
            lr_decay: 0.01,
            weight_decay: 0.0,
            eps: 1e-10,
            maximize: false,
            step: 2,
        };
        same_both_ways(|p, g, b| hp.apply(p, g, b));
    }

    #[test]
    fn an_empty_parameter_steps_in_place() {
        let hp = AdagradStep {
            lr: 0.1,
            lr_decay: 0.0,
            weight_decay: 0.0,
            eps: 1e-10,
            maximize: false,
            step: 1,
        };
        let mut p: Vec<f64> = vec![];
        let mut sum = Tensor::zeros(&[3, 0]);
        hp.apply(
            StepParam::InPlace(&mut p),
            &Tensor::zeros(&[3, 0]),
            &mut sum,
        );
        assert_eq!(sum.shape(), &[3, 0]);
    }

    #[test]
    #[should_panic(expected = "the parameter has 3 elements, its gradient shape [2]")]
    fn an_in_place_parameter_of_another_length_panics() {
        let hp = SgdStep {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        };
        hp.apply(
            StepParam::InPlace(&mut [1.0, 2.0, 3.0]),
            &t(&[1.0, 2.0]),
            &mut None,
        );
    }

    #[test]
    #[should_panic(expected = "the gradient has shape [1], the parameter [2]")]
    fn a_gradient_of_another_shape_panics() {
        let hp = AdagradStep {
            lr: 0.1,
            lr_decay: 0.0,
            weight_decay: 0.0,
            eps: 1e-10,
            maximize: false,
            step: 1,
        };
        let mut out = Tensor::zeros(&[2]);
        out.adagrad_step_(&t(&[1.0, 2.0]), &t(&[1.0]), &mut Tensor::zeros(&[2]), &hp);
    }
}
