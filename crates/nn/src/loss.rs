//! Loss functions with PyTorch's formulas and reductions: `MSELoss`, `L1Loss`,
//! `CrossEntropyLoss` (class indices, class weights, `ignore_index`, `label_smoothing`),
//! `NLLLoss` and `BCEWithLogitsLoss` (in the numerically stable form). Each is built from
//! differentiable ops, so its gradient comes from autograd; the class losses end in one
//! `NllLossBackward0` node (`Var::try_nll_loss`), so their graphs are PyTorch's.

use antorcha_autograd::tensor::Float;
use antorcha_autograd::{Tensor, Var};

use crate::error::{ok, NnError, Result};

pub use antorcha_autograd::Reduction;

/// `loss` reduced as `reduction` says.
fn reduce<T: Float>(reduction: Reduction, loss: Var<T>) -> Var<T> {
    match reduction {
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
        Reduction::None => loss,
    }
}

fn same_shape<T: Float>(op: &'static str, input: &Var<T>, target: &Var<T>) -> Result<()> {
    let (a, b) = (input.shape(), target.shape());
    if a != b {
        return Err(NnError::InputShape {
            module: op,
            shape: a,
            message: format!(
                "the target's shape {b:?} must equal the input's (PyTorch would broadcast them with a warning; that is almost always a bug, e.g. [N, 1] against [N]: reshape one of them)"
            ),
        });
    }
    Ok(())
}

macro_rules! plain_loss {
    ($(#[$doc:meta])* $name:ident => $try_name:ident($target:ty)) => {
        $(#[$doc])*
        ///
        /// # Panics
        #[doc = concat!("When [`", stringify!($try_name), "`] returns an error (shapes that do not fit, a class index out of range).")]
        #[track_caller]
        pub fn $name<T: Float>(input: &Var<T>, target: $target) -> Var<T> {
            ok($try_name(input, target))
        }
    };
}

macro_rules! loss_methods {
    ($target:ty) => {
        /// The loss of `input` against `target` (`loss_fn(input, target)`).
        ///
        /// # Panics
        /// When [`try_forward`](Self::try_forward) returns an error.
        #[track_caller]
        pub fn forward<T: Float>(&self, input: &Var<T>, target: $target) -> Var<T> {
            ok(self.try_forward(input, target))
        }

        /// Sets the reduction (`reduction='sum'` …).
        pub fn reduction(mut self, reduction: Reduction) -> Self {
            self.reduction = reduction;
            self
        }
    };
}

/// The mean squared error `(input - target)²`, like `torch.nn.MSELoss(reduction=…)`.
/// The shapes must be equal.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::MSELoss;
/// let loss = MSELoss::new().forward(&Var::from_vec(vec![1.0f32, 3.0], &[2]), &Var::from_vec(vec![0.0, 1.0], &[2]));
/// assert_eq!(loss.item(), 2.5);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MSELoss {
    reduction: Reduction,
}

impl MSELoss {
    /// Mean reduction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss, or an error when the shapes differ.
    pub fn try_forward<T: Float>(&self, input: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
        same_shape("MSELoss", input, target)?;
        let d = input.try_sub(target)?;
        Ok(reduce(self.reduction, d.try_mul(&d)?))
    }

    loss_methods!(&Var<T>);
}

/// The mean absolute error `|input - target|`, like `torch.nn.L1Loss(reduction=…)`.
/// The shapes must be equal.
#[derive(Debug, Clone, Default)]
pub struct L1Loss {
    reduction: Reduction,
}

impl L1Loss {
    /// Mean reduction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss, or an error when the shapes differ.
    pub fn try_forward<T: Float>(&self, input: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
        same_shape("L1Loss", input, target)?;
        Ok(reduce(self.reduction, input.try_sub(target)?.abs()))
    }

    loss_methods!(&Var<T>);
}

/// Binary cross-entropy on logits, `-[t·log σ(x) + (1-t)·log(1-σ(x))]`, computed in the stable
/// form `max(x, 0) - x·t + log(1 + exp(-|x|))`, like `torch.nn.BCEWithLogitsLoss(weight=…,
/// reduction=…, pos_weight=…)`. The shapes must be equal.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::BCEWithLogitsLoss;
/// let x = Var::from_vec(vec![0.0f64, 100.0], &[2]);
/// let t = Var::from_vec(vec![1.0, 1.0], &[2]);
/// let loss = BCEWithLogitsLoss::new().forward(&x, &t);
/// assert!((loss.item() - std::f64::consts::LN_2 / 2.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BCEWithLogitsLoss {
    reduction: Reduction,
    pos_weight: Option<Vec<f64>>,
    weight: Option<Tensor<f64>>,
}

impl BCEWithLogitsLoss {
    /// Mean reduction, no positive weight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Weighs the positive term of each class (the input's last dim) by `pos_weight`
    /// (`pos_weight=torch.tensor([...])`): above 1 raises recall, below 1 precision.
    pub fn pos_weight(mut self, pos_weight: &[f64]) -> Self {
        self.pos_weight = Some(pos_weight.to_vec());
        self
    }

    /// Rescales each element's loss by `weight`, broadcast to the input's shape before the
    /// reduction (`weight=`): `[C]` weighs classes, `[N, 1]` samples. The mean stays the plain
    /// mean of the weighted losses, as in PyTorch.
    pub fn weight(mut self, weight: &Tensor<f64>) -> Self {
        self.weight = Some(weight.clone());
        self
    }

    /// The loss, or an error when the shapes differ, `pos_weight` does not fit the last dim or
    /// `weight` does not broadcast to the input.
    pub fn try_forward<T: Float>(&self, input: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
        same_shape("BCEWithLogitsLoss", input, target)?;
        let weight = match &self.weight {
            None => None,
            Some(w) => {
                let shape = input.shape();
                let fits = antorcha_autograd::tensor::broadcast_shapes(
                    "BCEWithLogitsLoss",
                    w.shape(),
                    &shape,
                )
                .is_ok_and(|b| b == shape);
                if !fits {
                    return Err(NnError::invalid(
                        "BCEWithLogitsLoss",
                        format!(
                            "weight of shape {:?} does not broadcast to the input's shape {shape:?}",
                            w.shape()
                        ),
                    ));
                }
                Some(Var::new(w.map(|&v| T::cast(v))))
            }
        };
        let x = input;
        // One mask for both kinks, so the gradient at x = 0 is exactly σ(0) - t.
        let nonneg = x.data().ge_scalar(T::zero());
        let neg_x = x.neg();
        let abs_x = Var::try_where(&nonneg, x, &neg_x)?;
        let relu_neg_x = neg_x.try_masked_fill(&nonneg, T::zero())?;
        // softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0) = -log σ(x).
        let softplus_neg = abs_x
            .neg()
            .exp()
            .add_scalar(T::one())
            .log()
            .try_add(&relu_neg_x)?;
        let one_minus_t = target.rsub_scalar(T::one());
        let positive = match &self.pos_weight {
            None => softplus_neg,
            Some(pw) => {
                let shape = x.shape();
                let last = shape.last().copied().unwrap_or(1);
                if pw.len() != last && pw.len() != 1 {
                    return Err(NnError::invalid(
                        "BCEWithLogitsLoss",
                        format!(
                            "pos_weight has {} entries; it needs 1 or one per class of the input's last dim ({last})",
                            pw.len()
                        ),
                    ));
                }
                let pw = Var::new(Tensor::from_vec(
                    pw.iter().map(|&w| T::cast(w - 1.0)).collect(),
                    &[pw.len()],
                ));
                // log_weight = (pos_weight - 1) * t + 1
                let log_weight = target.try_mul(&pw)?.add_scalar(T::one());
                log_weight.try_mul(&softplus_neg)?
            }
        };
        let loss = one_minus_t.try_mul(x)?.try_add(&positive)?;
        let loss = match weight {
            Some(w) => loss.try_mul(&w)?,
            None => loss,
        };
        Ok(reduce(self.reduction, loss))
    }

    loss_methods!(&Var<T>);
}

/// The setters of the options every class-index loss has (`self.opts: ClassOptions`).
macro_rules! class_options {
    () => {
        /// Sets the reduction.
        pub fn reduction(mut self, reduction: Reduction) -> Self {
            self.opts.reduction = reduction;
            self
        }

        /// Weighs each class's loss (`weight=`); the mean becomes the weighted mean.
        pub fn weight(mut self, weight: &[f64]) -> Self {
            self.opts.weight = Some(weight.to_vec());
            self
        }

        /// Targets equal to `index` add nothing and do not count in the mean (`ignore_index=`).
        pub fn ignore_index(mut self, index: i64) -> Self {
            self.opts.ignore_index = index;
            self
        }
    };
}

/// Options shared by the class-index losses.
#[derive(Debug, Clone)]
struct ClassOptions {
    reduction: Reduction,
    weight: Option<Vec<f64>>,
    ignore_index: i64,
}

impl Default for ClassOptions {
    fn default() -> Self {
        ClassOptions {
            reduction: Reduction::Mean,
            weight: None,
            ignore_index: -100,
        }
    }
}

/// `input` (`[N, C, d…]`) and `target` (`[N, d…]`) after checking them; an unbatched `[C]`
/// input with a 0-d target becomes a batch of one.
struct ClassBatch<T: Float> {
    input: Var<T>,
    target: Tensor<i64>,
    classes: usize,
    unbatched: bool,
}

fn class_batch<T: Float>(
    op: &'static str,
    input: &Var<T>,
    target: &Tensor<i64>,
    opts: &ClassOptions,
) -> Result<ClassBatch<T>> {
    let shape = input.shape();
    let (input, target, unbatched) = if shape.len() == 1 {
        if target.ndim() != 0 {
            return Err(NnError::InputShape {
                module: op,
                shape,
                message: format!(
                    "an unbatched input [C] takes a 0-d target, got target shape {:?}",
                    target.shape()
                ),
            });
        }
        (input.try_unsqueeze(0)?, target.reshape(&[1]), true)
    } else {
        (input.clone(), target.clone(), false)
    };
    let shape = input.shape();
    if shape.is_empty() {
        return Err(NnError::InputShape {
            module: op,
            shape,
            message: "expected input [N, C] (or [C], or [N, C, d1, …])".into(),
        });
    }
    let mut expected = shape.clone();
    expected.remove(1);
    if target.shape() != expected.as_slice() {
        return Err(NnError::InputShape {
            module: op,
            shape: shape.clone(),
            message: format!(
                "the target must hold one class index per sample: expected shape {expected:?}, got {:?}",
                target.shape()
            ),
        });
    }
    let classes = shape[1];
    if let Some(w) = &opts.weight {
        if w.len() != classes {
            return Err(NnError::invalid(
                op,
                format!(
                    "weight has {} entries but the input has {classes} classes",
                    w.len()
                ),
            ));
        }
    }
    if let Some(&bad) = target
        .view()
        .iter()
        .find(|&&t| t != opts.ignore_index && (t < 0 || t as usize >= classes))
    {
        return Err(NnError::invalid(
            op,
            format!("target {bad} is out of bounds for {classes} classes"),
        ));
    }
    Ok(ClassBatch {
        input,
        target,
        classes,
        unbatched,
    })
}

/// The negative log-likelihood of `target`'s classes under `logp` (checked by
/// [`class_batch`]), reduced: one `NllLossBackward0` node, as PyTorch records it.
fn nll<T: Float>(logp: &Var<T>, target: &Tensor<i64>, opts: &ClassOptions) -> Result<Var<T>> {
    let weight = opts
        .weight
        .as_ref()
        .map(|w| Tensor::from_vec(w.iter().map(|&v| T::cast(v)).collect(), &[w.len()]));
    Ok(logp.try_nll_loss(target, weight.as_ref(), opts.ignore_index, opts.reduction)?)
}

/// The sum of the per-sample weights (the weighted mean's divisor): each target's class
/// weight, 0 where ignored.
fn total_weight(target: &Tensor<i64>, opts: &ClassOptions) -> f64 {
    target
        .view()
        .iter()
        .filter(|&&t| t != opts.ignore_index)
        .map(|&t| opts.weight.as_ref().map_or(1.0, |w| w[t as usize]))
        .sum()
}

fn finish<T: Float>(loss: Var<T>, b: &ClassBatch<T>, reduction: Reduction) -> Result<Var<T>> {
    if b.unbatched && reduction == Reduction::None {
        return Ok(loss.try_squeeze_dim(0)?);
    }
    Ok(loss)
}

/// The negative log-likelihood loss on log-probabilities (`[N, C]`, `[C]` or
/// `[N, C, d1, …]`) and class indices (`[N]`, `[]` or `[N, d1, …]`), like
/// `torch.nn.NLLLoss(weight=…, ignore_index=-100, reduction=…)`. Use after `LogSoftmax`.
#[derive(Debug, Clone, Default)]
pub struct NLLLoss {
    opts: ClassOptions,
}

impl NLLLoss {
    /// Mean reduction, no class weights, `ignore_index = -100`.
    pub fn new() -> Self {
        Self::default()
    }

    class_options!();

    /// The loss, or an error for shapes that do not fit or a class index out of range.
    pub fn try_forward<T: Float>(&self, input: &Var<T>, target: &Tensor<i64>) -> Result<Var<T>> {
        class_batch("NLLLoss", input, target, &self.opts)?;
        nll(input, target, &self.opts)
    }

    /// The loss of `input` against `target` (`loss_fn(input, target)`).
    ///
    /// # Panics
    /// When [`try_forward`](Self::try_forward) returns an error.
    #[track_caller]
    pub fn forward<T: Float>(&self, input: &Var<T>, target: &Tensor<i64>) -> Var<T> {
        ok(self.try_forward(input, target))
    }
}

/// Cross-entropy between logits (`[N, C]`, `[C]` or `[N, C, d1, …]`) and class indices
/// (`[N]`, `[]` or `[N, d1, …]`): `log_softmax` over dim 1, then the negative log-likelihood,
/// like `torch.nn.CrossEntropyLoss(weight=…, ignore_index=-100, reduction=…,
/// label_smoothing=…)`.
///
/// ```
/// use antorcha_autograd::{Tensor, Var};
/// use antorcha_nn::CrossEntropyLoss;
/// let logits = Var::from_vec(vec![0.0f64, 0.0, 0.0, 0.0], &[2, 2]);
/// let target = Tensor::from_vec(vec![0i64, 1], &[2]);
/// let loss = CrossEntropyLoss::new().forward(&logits, &target);
/// assert!((loss.item() - std::f64::consts::LN_2).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CrossEntropyLoss {
    opts: ClassOptions,
    label_smoothing: f64,
}

impl CrossEntropyLoss {
    /// Mean reduction, no class weights, `ignore_index = -100`, no label smoothing.
    pub fn new() -> Self {
        Self::default()
    }

    class_options!();

    /// Mixes the one-hot target with the uniform distribution: `ε` in `[0, 1]`
    /// (`label_smoothing=`); checked at `forward`.
    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }

    /// The loss, or an error for shapes that do not fit, a class index out of range or a
    /// label smoothing outside `[0, 1]`.
    pub fn try_forward<T: Float>(&self, input: &Var<T>, target: &Tensor<i64>) -> Result<Var<T>> {
        let eps = self.smoothing()?;
        let b = class_batch("CrossEntropyLoss", input, target, &self.opts)?;
        let logp = input.try_log_softmax(if b.unbatched { 0 } else { 1 })?;
        let nll = nll(&logp, target, &self.opts)?;
        if eps == 0.0 {
            return Ok(nll);
        }
        let total = total_weight(&b.target, &self.opts);
        let b = ClassBatch {
            input: if b.unbatched {
                logp.try_unsqueeze(0)?
            } else {
                logp
            },
            ..b
        };
        let nll = if b.unbatched && self.opts.reduction == Reduction::None {
            nll.try_unsqueeze(0)?
        } else {
            nll
        };
        // The smoothing term: -Σ_c w_c log p_c per sample, 0 where the target is ignored.
        let weighted = match &self.opts.weight {
            Some(w) => b
                .input
                .try_mul(&class_weights(w, b.classes, b.input.ndim()))?,
            None => b.input.clone(),
        };
        let mut smooth = weighted.try_sum_dim(1, false)?.neg();
        let ignored = b.target.map(|&t| t == self.opts.ignore_index);
        if ignored.any() {
            smooth = smooth.try_masked_fill(&ignored, T::zero())?;
        }
        let smooth = match self.opts.reduction {
            Reduction::None => smooth,
            Reduction::Sum => smooth.sum(),
            Reduction::Mean => smooth.sum().div_scalar(T::cast(total)),
        };
        let loss = nll
            .mul_scalar(T::cast(1.0 - eps))
            .try_add(&smooth.mul_scalar(T::cast(eps / b.classes as f64)))?;
        finish(loss, &b, self.opts.reduction)
    }

    /// The loss of `input` against `target` (`loss_fn(input, target)`).
    ///
    /// # Panics
    /// When [`try_forward`](Self::try_forward) returns an error.
    #[track_caller]
    pub fn forward<T: Float>(&self, input: &Var<T>, target: &Tensor<i64>) -> Var<T> {
        ok(self.try_forward(input, target))
    }

    /// Cross-entropy against class probabilities, a `target` of the input's shape (each
    /// sample's values along dim 1 a distribution), like `loss_fn(input, probs)` in PyTorch:
    /// `-Σ_c w_c·y_c·log_softmax(x)_c` per sample, with `y` mixed with the uniform distribution
    /// by label smoothing. The mean divides by the number of samples, not by the weights;
    /// `ignore_index` does not apply.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_nn::CrossEntropyLoss;
    /// let logits = Var::from_vec(vec![0.0f64, 0.0], &[1, 2]);
    /// let probs = Var::from_vec(vec![0.25, 0.75], &[1, 2]);
    /// let loss = CrossEntropyLoss::new().forward_probs(&logits, &probs);
    /// assert!((loss.item() - std::f64::consts::LN_2).abs() < 1e-12);
    /// ```
    pub fn try_forward_probs<T: Float>(&self, input: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
        let eps = self.smoothing()?;
        same_shape("CrossEntropyLoss", input, target)?;
        let unbatched = input.ndim() == 1;
        let (x, y) = if unbatched {
            (input.try_unsqueeze(0)?, target.try_unsqueeze(0)?)
        } else {
            (input.clone(), target.clone())
        };
        let shape = x.shape();
        if shape.len() < 2 {
            return Err(NnError::InputShape {
                module: "CrossEntropyLoss",
                shape,
                message: "expected input [N, C] (or [C], or [N, C, d1, …])".into(),
            });
        }
        let classes = shape[1];
        let y = if eps > 0.0 {
            y.mul_scalar(T::cast(1.0 - eps))
                .add_scalar(T::cast(eps / classes as f64))
        } else {
            y
        };
        let mut terms = x.try_log_softmax(1)?.try_mul(&y)?;
        if let Some(w) = &self.opts.weight {
            if w.len() != classes {
                return Err(NnError::invalid(
                    "CrossEntropyLoss",
                    format!(
                        "weight has {} entries but the input has {classes} classes",
                        w.len()
                    ),
                ));
            }
            terms = terms.try_mul(&class_weights(w, classes, shape.len()))?;
        }
        let per_sample = terms.try_sum_dim(1, false)?.neg();
        let loss = reduce(self.opts.reduction, per_sample);
        if unbatched && self.opts.reduction == Reduction::None {
            return Ok(loss.try_squeeze_dim(0)?);
        }
        Ok(loss)
    }

    /// The label smoothing, checked to lie in `[0, 1]`.
    fn smoothing(&self) -> Result<f64> {
        let eps = self.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(NnError::invalid(
                "CrossEntropyLoss",
                format!("label_smoothing must be between 0.0 and 1.0, got {eps}"),
            ));
        }
        Ok(eps)
    }

    /// The loss of `input` against class probabilities `target` (`loss_fn(input, probs)`).
    ///
    /// # Panics
    /// When `try_forward_probs` returns an error.
    #[track_caller]
    pub fn forward_probs<T: Float>(&self, input: &Var<T>, target: &Var<T>) -> Var<T> {
        ok(self.try_forward_probs(input, target))
    }
}

/// Class weights `w` as a var shaped to multiply `[N, C, d…]` along dim 1.
fn class_weights<T: Float>(w: &[f64], classes: usize, ndim: usize) -> Var<T> {
    let mut shape = vec![1isize; ndim];
    shape[1] = classes as isize;
    Var::new(Tensor::from_vec(w.iter().map(|&v| T::cast(v)).collect(), &[classes]).reshape(&shape))
}

/// `F.mse_loss(input, target)` (mean), or an error when the shapes differ.
pub fn try_mse_loss<T: Float>(input: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    MSELoss::new().try_forward(input, target)
}

/// `F.l1_loss(input, target)` (mean), or an error when the shapes differ.
pub fn try_l1_loss<T: Float>(input: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    L1Loss::new().try_forward(input, target)
}

/// `F.binary_cross_entropy_with_logits(input, target)` (mean), or an error when the shapes
/// differ.
pub fn try_binary_cross_entropy_with_logits<T: Float>(
    input: &Var<T>,
    target: &Var<T>,
) -> Result<Var<T>> {
    BCEWithLogitsLoss::new().try_forward(input, target)
}

/// `F.cross_entropy(logits, target)` (mean), or an error for shapes that do not fit or a
/// class index out of range.
pub fn try_cross_entropy<T: Float>(input: &Var<T>, target: &Tensor<i64>) -> Result<Var<T>> {
    CrossEntropyLoss::new().try_forward(input, target)
}

/// `F.nll_loss(log_probs, target)` (mean), or an error for shapes that do not fit or a class
/// index out of range.
pub fn try_nll_loss<T: Float>(input: &Var<T>, target: &Tensor<i64>) -> Result<Var<T>> {
    NLLLoss::new().try_forward(input, target)
}

plain_loss!(
    /// `F.mse_loss(input, target)`: the mean of `(input - target)²`.
    mse_loss => try_mse_loss(&Var<T>)
);
plain_loss!(
    /// `F.l1_loss(input, target)`: the mean of `|input - target|`.
    l1_loss => try_l1_loss(&Var<T>)
);
plain_loss!(
    /// `F.binary_cross_entropy_with_logits(input, target)`: the mean binary cross-entropy of
    /// `σ(input)` against `target`, computed stably.
    binary_cross_entropy_with_logits => try_binary_cross_entropy_with_logits(&Var<T>)
);
plain_loss!(
    /// `F.cross_entropy(logits, target)`: the mean cross-entropy of logits against class
    /// indices.
    ///
    /// ```
    /// use antorcha_autograd::{Tensor, Var};
    /// use antorcha_nn::functional::cross_entropy;
    /// let logits = Var::from_vec(vec![2.0f32, 0.0, 0.0, 2.0], &[2, 2]);
    /// let loss = cross_entropy(&logits, &Tensor::from_vec(vec![0i64, 1], &[2]));
    /// assert!((loss.item() - (1.0f32 + (-2.0f32).exp()).ln()).abs() < 1e-6);
    /// ```
    cross_entropy => try_cross_entropy(&Tensor<i64>)
);
plain_loss!(
    /// `F.nll_loss(log_probs, target)`: the mean of `-log_probs[i, target[i]]`.
    nll_loss => try_nll_loss(&Tensor<i64>)
);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(data: &[f64], shape: &[usize]) -> Var<f64> {
        Var::from_vec(data.to_vec(), shape)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn regression_losses_and_reductions() {
        let x = v(&[1.0, -2.0, 3.0], &[3]);
        let t = v(&[0.0, 0.0, 1.0], &[3]);
        assert!(close(mse_loss(&x, &t).item(), 3.0));
        assert!(close(
            MSELoss::new()
                .reduction(Reduction::Sum)
                .forward(&x, &t)
                .item(),
            9.0
        ));
        assert_eq!(
            MSELoss::new()
                .reduction(Reduction::None)
                .forward(&x, &t)
                .to_vec(),
            vec![1.0, 4.0, 4.0]
        );
        assert!(close(l1_loss(&x, &t).item(), 5.0 / 3.0));
        assert_eq!(
            L1Loss::new()
                .reduction(Reduction::None)
                .forward(&x, &t)
                .to_vec(),
            vec![1.0, 2.0, 2.0]
        );
        assert!(close(
            L1Loss::new()
                .reduction(Reduction::Sum)
                .forward(&x, &t)
                .item(),
            5.0
        ));
        // Empty input: mean is NaN, as in PyTorch; sum is 0.
        let e = Var::<f64>::zeros(&[0]);
        assert!(mse_loss(&e, &e).item().is_nan());
        assert_eq!(
            MSELoss::new()
                .reduction(Reduction::Sum)
                .forward(&e, &e)
                .item(),
            0.0
        );
        let err = try_mse_loss(&v(&[1.0, 2.0], &[2, 1]), &v(&[1.0, 2.0], &[2]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[2, 1]") && err.contains("[2]"), "{err}");
        assert!(try_l1_loss(&v(&[1.0], &[1]), &v(&[], &[0])).is_err());
    }

    #[test]
    fn bce_with_logits_is_stable_and_has_the_right_gradient_at_zero() {
        let x = v(&[0.0, 1000.0, -1000.0, 2.0], &[4]).requires_grad();
        let t = v(&[1.0, 1.0, 1.0, 0.0], &[4]);
        let per = BCEWithLogitsLoss::new()
            .reduction(Reduction::None)
            .forward(&x, &t)
            .to_vec();
        let sp = |z: f64| (1.0 + z.exp()).ln();
        assert!(close(per[0], std::f64::consts::LN_2));
        assert_eq!(per[1], 0.0);
        assert!(close(per[2], 1000.0));
        assert!(close(per[3], sp(2.0)));
        binary_cross_entropy_with_logits(&x, &t).backward().unwrap();
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let g = x.grad().unwrap().to_vec();
        let expected = [sig(0.0) - 1.0, 0.0, -1.0, sig(2.0)];
        for (a, e) in g.iter().zip(expected) {
            assert!(close(*a, e / 4.0), "{g:?}");
        }
    }

    #[test]
    fn bce_pos_weight_scales_the_positive_term() {
        let x = v(&[0.5, -0.5, 1.5, 0.0], &[2, 2]);
        let t = v(&[1.0, 0.0, 0.5, 1.0], &[2, 2]);
        let per = BCEWithLogitsLoss::new()
            .pos_weight(&[3.0, 0.5])
            .reduction(Reduction::None)
            .forward(&x, &t)
            .to_vec();
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let pw = [3.0, 0.5, 3.0, 0.5];
        for i in 0..4 {
            let (xi, ti) = (x.to_vec()[i], t.to_vec()[i]);
            let expected = -(pw[i] * ti * sig(xi).ln() + (1.0 - ti) * (1.0 - sig(xi)).ln());
            assert!(
                (per[i] - expected).abs() < 1e-12,
                "{i}: {} vs {expected}",
                per[i]
            );
        }
        assert!(BCEWithLogitsLoss::new()
            .pos_weight(&[1.0, 2.0, 3.0])
            .try_forward(&x, &t)
            .is_err());
    }

    #[test]
    fn cross_entropy_by_hand() {
        // Row 0: logits [0, ln 3] -> p = [1/4, 3/4]; row 1: [0, 0] -> [1/2, 1/2].
        let x = v(&[0.0, 3f64.ln(), 0.0, 0.0], &[2, 2]);
        let t = Tensor::from_vec(vec![1i64, 0], &[2]);
        let per = CrossEntropyLoss::new()
            .reduction(Reduction::None)
            .forward(&x, &t)
            .to_vec();
        assert!(close(per[0], -(0.75f64).ln()) && close(per[1], 2f64.ln()));
        assert!(close(cross_entropy(&x, &t).item(), (per[0] + per[1]) / 2.0));
        // Weights: weighted mean.
        let w = CrossEntropyLoss::new()
            .weight(&[2.0, 1.0])
            .forward(&x, &t)
            .item();
        assert!(close(w, (1.0 * per[0] + 2.0 * per[1]) / 3.0));
        // Ignored targets add nothing and do not count.
        let ti = Tensor::from_vec(vec![1i64, -100], &[2]);
        assert!(close(cross_entropy(&x, &ti).item(), per[0]));
        let none = CrossEntropyLoss::new()
            .reduction(Reduction::None)
            .forward(&x, &ti)
            .to_vec();
        assert_eq!(none[1], 0.0);
        // Label smoothing ε: (1-ε)·nll + ε/C·(-Σ log p).
        let eps = 0.2;
        let s = CrossEntropyLoss::new()
            .label_smoothing(eps)
            .reduction(Reduction::None)
            .forward(&x, &t)
            .to_vec();
        let smooth0 = -((0.25f64).ln() + (0.75f64).ln());
        assert!(close(s[0], (1.0 - eps) * per[0] + eps / 2.0 * smooth0));
        // Unbatched: [C] logits with a 0-d target.
        let u = cross_entropy(&v(&[0.0, 3f64.ln()], &[2]), &Tensor::scalar(1i64));
        assert!(close(u.item(), per[0]));
        let un = CrossEntropyLoss::new()
            .reduction(Reduction::None)
            .forward(&v(&[0.0, 0.0], &[2]), &Tensor::scalar(0i64));
        assert_eq!(un.shape(), Vec::<usize>::new());
    }

    #[test]
    fn cross_entropy_over_extra_dims_and_nll() {
        // [N=1, C=2, d=2]: the class dim is 1.
        let x = v(&[0.0, 0.0, 3f64.ln(), 0.0], &[1, 2, 2]);
        let t = Tensor::from_vec(vec![1i64, 1], &[1, 2]);
        let per = CrossEntropyLoss::new()
            .reduction(Reduction::None)
            .forward(&x, &t);
        assert_eq!(per.shape(), vec![1, 2]);
        let per = per.to_vec();
        assert!(close(per[0], -(0.75f64).ln()) && close(per[1], 2f64.ln()));
        let logp = v(&[-1.0, -2.0, -3.0, -4.0], &[2, 2]);
        let t = Tensor::from_vec(vec![0i64, 1], &[2]);
        assert!(close(nll_loss(&logp, &t).item(), 2.5));
        assert!(close(
            NLLLoss::new()
                .reduction(Reduction::Sum)
                .forward(&logp, &t)
                .item(),
            5.0
        ));
        assert!(close(
            NLLLoss::new().weight(&[1.0, 3.0]).forward(&logp, &t).item(),
            13.0 / 4.0
        ));
        assert!(NLLLoss::new().ignore_index(0).forward(&logp, &t).item() == 4.0);
    }

    #[test]
    fn weight_and_probability_target_errors() {
        let x = v(&[0.0; 6], &[2, 3]);
        let t = v(&[0.5; 6], &[2, 3]);
        let bad = BCEWithLogitsLoss::new().weight(&Tensor::from_vec(vec![1.0, 2.0], &[2]));
        let e = bad.try_forward(&x, &t).unwrap_err().to_string();
        assert!(e.contains("[2]") && e.contains("[2, 3]"), "{e}");
        // A per-sample weight [N, 1] broadcasts; a zero weight drops that sample's loss.
        let w = Tensor::from_vec(vec![1.0, 0.0], &[2, 1]);
        let l = BCEWithLogitsLoss::new()
            .weight(&w)
            .reduction(Reduction::None)
            .forward(&x, &t);
        assert_eq!(l.to_vec()[3..], [0.0, 0.0, 0.0]);

        let ce = CrossEntropyLoss::new();
        let e = ce
            .try_forward_probs(&x, &v(&[0.5; 4], &[2, 2]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[2, 3]") && e.contains("[2, 2]"), "{e}");
        let e = ce
            .clone()
            .weight(&[1.0, 2.0])
            .try_forward_probs(&x, &t)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 entries") && e.contains("3 classes"), "{e}");
        let e = ce
            .label_smoothing(1.5)
            .try_forward_probs(&x, &t)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label_smoothing"), "{e}");
        let e = CrossEntropyLoss::new()
            .try_forward_probs(&Var::scalar(1.0), &Var::scalar(1.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[N, C]"), "{e}");
    }

    #[test]
    fn class_loss_errors() {
        let x = v(&[0.0; 6], &[2, 3]);
        let err = try_cross_entropy(&x, &Tensor::from_vec(vec![0i64, 3], &[2]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("target 3 is out of bounds for 3 classes"),
            "{err}"
        );
        assert!(try_cross_entropy(&x, &Tensor::from_vec(vec![-1i64, 0], &[2])).is_err());
        let err = try_cross_entropy(&x, &Tensor::from_vec(vec![0i64, 1, 2], &[3]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected shape [2]"), "{err}");
        assert!(try_nll_loss(&v(&[0.0], &[1]), &Tensor::from_vec(vec![0i64], &[1])).is_err());
        assert!(try_nll_loss(&Var::scalar(0.0f64), &Tensor::scalar(0i64)).is_err());
        assert!(CrossEntropyLoss::new()
            .weight(&[1.0])
            .try_forward(&x, &Tensor::from_vec(vec![0i64, 1], &[2]))
            .is_err());
        assert!(CrossEntropyLoss::new()
            .label_smoothing(1.5)
            .try_forward(&x, &Tensor::from_vec(vec![0i64, 1], &[2]))
            .is_err());
    }
}
