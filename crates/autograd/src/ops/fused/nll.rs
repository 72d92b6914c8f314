//! The negative log-likelihood loss as one node, as PyTorch records it (`NllLossBackward0`,
//! `NllLoss2DBackward0` for images), so cross-entropy's graph is torchviz's: `NllLossBackward0`
//! over `LogSoftmaxBackward0`.

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::error::{AutogradError, Result};
use crate::node::{Attr, Saved};
use crate::var::{needs_graph, Var};

/// How a loss combines the per-sample losses, like PyTorch's `reduction=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean (`'mean'`, the default); with class weights, the weighted mean.
    #[default]
    Mean,
    /// The sum (`'sum'`).
    Sum,
    /// No reduction (`'none'`): one loss per element or sample.
    None,
}

impl Reduction {
    /// PyTorch's number for it (`reduction: 1` in pictures).
    fn code(self) -> i64 {
        match self {
            Reduction::None => 0,
            Reduction::Mean => 1,
            Reduction::Sum => 2,
        }
    }
}

fn invalid(message: String) -> AutogradError {
    AutogradError::Invalid {
        op: "nll_loss",
        message,
    }
}

impl<T: Float> Var<T> {
    /// The negative log-likelihood of `target`'s classes under the log-probabilities `self`
    /// (`[C]` with a 0-d target, `[N, C]` with `[N]`, `[N, C, d1, …]` with `[N, d1, …]`),
    /// like `F.nll_loss(self, target, weight, ignore_index=…, reduction=…)`: targets equal to
    /// `ignore_index` add nothing and weigh nothing in the mean. Recorded as
    /// `NllLossBackward0` (`NllLoss2DBackward0` for 3 or more dims, viewed to 4 as PyTorch
    /// does), or an error naming the shapes that do not fit or the class out of range.
    ///
    /// ```
    /// use antorcha_autograd::{Reduction, Tensor, Var};
    /// let logp = Var::from_vec(vec![-0.5f64, -1.0, -2.0, -0.25], &[2, 2]).requires_grad();
    /// let target = Tensor::from_vec(vec![1i64, 0], &[2]);
    /// let loss = logp.try_nll_loss(&target, None, -100, Reduction::Mean).unwrap();
    /// assert_eq!(loss.item(), 1.5);
    /// assert_eq!(loss.grad_fn_name(), Some("NllLossBackward0"));
    /// ```
    #[track_caller]
    pub fn try_nll_loss(
        &self,
        target: &Tensor<i64>,
        weight: Option<&Tensor<T>>,
        ignore_index: i64,
        reduction: Reduction,
    ) -> Result<Var<T>> {
        let shape = self.shape();
        let nd = shape.len();
        let mut expected = shape.clone();
        if nd > 0 {
            expected.remove(if nd == 1 { 0 } else { 1 });
        }
        if nd == 0 || target.shape() != expected.as_slice() {
            return Err(invalid(format!(
                "input of shape {shape:?} takes a target of shape {expected:?}, got {:?}",
                target.shape()
            )));
        }
        if nd == 3 || nd > 4 {
            // PyTorch's nll_loss_nd: the trailing dims as one, in an image of height 1.
            let (n, c) = (shape[0] as isize, shape[1] as isize);
            let input = self.try_reshape(&[n, c, 1, -1])?;
            let flat = target.try_reshape(&[n, 1, -1])?;
            let out = input.try_nll_loss(&flat, weight, ignore_index, reduction)?;
            if reduction != Reduction::None {
                return Ok(out);
            }
            let back: Vec<isize> = target.shape().iter().map(|&d| d as isize).collect();
            return out.try_reshape(&back);
        }
        let classes = shape[if nd == 1 { 0 } else { 1 }];
        if let Some(w) = weight {
            if w.shape() != [classes] {
                return Err(invalid(format!(
                    "weight of shape {:?} for {classes} classes",
                    w.shape()
                )));
            }
        }
        let (n, s) = if nd == 1 {
            (1, 1)
        } else {
            (shape[0], shape[2..].iter().product())
        };
        let weights = weight.map(|w| w.to_vec());
        let targets = target.row_major();
        let x = self.data();
        let x = x.row_major();
        // The loss of each sample, and -w at its target class (the gradient's pattern).
        let mut losses = Vec::with_capacity(n * s);
        let mut coef = vec![T::zero(); n * classes * s];
        let mut total = 0.0f64;
        for i in 0..n {
            for j in 0..s {
                let t = targets[i * s + j];
                if t == ignore_index {
                    losses.push(T::zero());
                    continue;
                }
                if t < 0 || t as usize >= classes {
                    return Err(invalid(format!(
                        "target {t} is out of bounds for {classes} classes"
                    )));
                }
                let at = (i * classes + t as usize) * s + j;
                let w = weights.as_ref().map_or(T::one(), |w| w[t as usize]);
                losses.push(-(x[at] * w));
                coef[at] = -w;
                total += w.as_f64();
            }
        }
        let losses = Tensor::from_vec(losses, target.shape());
        let plain_mean = weight.is_none() && !targets.contains(&ignore_index);
        let value = match reduction {
            Reduction::None => losses,
            Reduction::Sum => losses.sum(),
            Reduction::Mean if plain_mean => losses.mean(),
            Reduction::Mean => losses.sum().div_scalar(T::cast(total)),
        };
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let coef = Tensor::from_vec(coef, &shape);
        let name = if nd == 4 {
            "NllLoss2DBackward0"
        } else {
            "NllLossBackward0"
        };
        let total_weight = Var::new(Tensor::scalar(T::cast(total)));
        let saved = smallvec![
            ("self", Some(Saved::var(self))),
            ("target", Some(Saved::Index(Box::new(target.clone())))),
            ("total_weight", Some(Saved::var(&total_weight))),
            ("weight", weight.map(|w| Saved::var(&Var::new(w.clone())))),
        ];
        let attrs = smallvec![
            ("ignore_index", Attr::UInt(ignore_index as u64)),
            ("reduction", Attr::Int(reduction.code())),
        ];
        Ok(Var::from_op(
            value,
            name,
            &[self],
            saved,
            attrs,
            Box::new(move |g, _, _| {
                // d loss / d x = -w at each sample's target, times the sample's gradient.
                let g = match reduction {
                    Reduction::None if nd > 1 => g.try_unsqueeze(1)?,
                    Reduction::Mean if total == 0.0 => g.mul_scalar(T::zero()),
                    Reduction::Mean if plain_mean => g.div_scalar(T::cast((n * s) as f64)),
                    Reduction::Mean => g.div_scalar(T::cast(total)),
                    _ => g.clone(),
                };
                Ok(smallvec![Some(&Var::new(coef.clone()) * &g)])
            }),
        ))
    }
}
