//! `Dropout2d`: dropout of whole channels (feature maps).

use std::sync::Mutex;

use antorcha_autograd::tensor::{with_global_rng, Float, Generator};
use antorcha_autograd::{Tensor, Var};

use crate::activation::check_p;
use crate::error::{NnError, Result};
use crate::module::{Module, Training};

/// Zeroes each channel (`x[n, c]`, a whole feature map) with probability `p` and scales the
/// others by `1 / (1 - p)` while in training mode; passes the input through in eval mode, like
/// `torch.nn.Dropout2d(p)`. A 3-D input is taken as `[N, C, L]`, as PyTorch 2 does (it warns
/// that this will change).
///
/// The masks are drawn as PyTorch's `feature_dropout` draws them (one `bernoulli_(1 - p)` per
/// `(n, c)`, in order), from the global generator or the layer's own when made
/// [`Dropout2d::with_seed`]; see [`Dropout`](crate::Dropout) for which CPUs give PyTorch's
/// masks bit for bit.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Dropout2d, Module};
/// let drop = Dropout2d::with_seed(0.5, 3);
/// let y = drop.forward(&Var::<f64>::ones(&[4, 8, 3, 3])).to_vec();
/// for map in y.chunks(9) {
///     assert!(map.iter().all(|&v| v == 0.0) || map.iter().all(|&v| v == 2.0));
/// }
/// drop.eval();
/// assert_eq!(drop.forward(&Var::<f64>::ones(&[1, 1, 2, 2])).to_vec(), vec![1.0; 4]);
/// ```
#[derive(Debug)]
pub struct Dropout2d {
    p: f64,
    generator: Option<Mutex<Generator>>,
    training: Training,
}

impl Dropout2d {
    /// Channel dropout with probability `p`, drawing from the global generator.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]`; [`Dropout2d::try_new`] returns the error.
    #[track_caller]
    pub fn new(p: f64) -> Self {
        crate::error::ok(Self::try_new(p))
    }

    /// `new`, or an error when `p` is not in `[0, 1]`.
    pub fn try_new(p: f64) -> Result<Self> {
        check_p(p)?;
        Ok(Dropout2d {
            p,
            generator: None,
            training: Training::new(),
        })
    }

    /// Channel dropout with probability `p` and its own generator seeded with `seed`.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]`.
    #[track_caller]
    pub fn with_seed(p: f64, seed: u64) -> Self {
        let mut d = Self::new(p);
        d.generator = Some(Mutex::new(Generator::new(seed)));
        d
    }

    /// The probability of zeroing a channel.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Training mode: drops channels (the same as [`Module::train`], callable without naming
    /// the element type).
    pub fn train(&self) {
        self.training.set(true);
    }

    /// Evaluation mode: passes the input through.
    pub fn eval(&self) {
        self.training.set(false);
    }

    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl<T: Float> Module<T> for Dropout2d {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let training = self.training.get();
        match &self.generator {
            Some(g) => {
                let mut g = g.lock().unwrap_or_else(|p| p.into_inner());
                try_dropout2d(x, self.p, training, &mut g)
            }
            None => with_global_rng(|g| try_dropout2d(x, self.p, training, g)),
        }
    }
    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
    fn extra_repr(&self) -> String {
        format!("p={}, inplace=False", self.p)
    }
}

/// Functional channel dropout (`torch.nn.functional.dropout2d(x, p, training)`) drawing from
/// `g`: the input itself when not `training`, `p = 0` or empty; `x * 0` when `p = 1`;
/// otherwise `x * mask` with a `[N, C, 1, …]` mask of `1 / (1 - p)` (kept, probability
/// `1 - p`) and `0` (`MulBackward0`).
///
/// # Panics
/// If `p` is not in `[0, 1]` or `x` has fewer than 2 dims; [`try_dropout2d`] returns the
/// error.
#[track_caller]
pub fn dropout2d<T: Float>(x: &Var<T>, p: f64, training: bool, g: &mut Generator) -> Var<T> {
    crate::error::ok(try_dropout2d(x, p, training, g))
}

/// `dropout2d`, or an error when `p` is not in `[0, 1]` or `x` has fewer than 2 dims.
pub fn try_dropout2d<T: Float>(
    x: &Var<T>,
    p: f64,
    training: bool,
    g: &mut Generator,
) -> Result<Var<T>> {
    check_p(p)?;
    let shape = x.shape();
    if shape.len() < 2 {
        return Err(NnError::InputShape {
            module: "dropout2d",
            shape,
            message: "feature dropout needs at least 2 dims [N, C, ...]".into(),
        });
    }
    if !training || p == 0.0 || x.numel() == 0 {
        return Ok(x.clone());
    }
    if p == 1.0 {
        return Ok(x.try_mul(&Var::new(Tensor::zeros(&[])))?);
    }
    let keep = 1.0 - p;
    let scale = T::one() / T::cast(keep);
    let (n, c) = (shape[0], shape[1]);
    let mask: Vec<T> = (0..n * c)
        .map(|_| if g.bernoulli(keep) { scale } else { T::zero() })
        .collect();
    let mut mask_shape = vec![n, c];
    mask_shape.resize(shape.len(), 1);
    Ok(x.try_mul(&Var::new(Tensor::from_vec(mask, &mask_shape)))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_probabilities_modes_and_errors() {
        let x = Var::from_vec(vec![1.0f64, -2.0, 3.0, 4.0], &[1, 2, 2]);
        assert_eq!(Dropout2d::new(0.0).forward(&x).to_vec(), x.to_vec());
        assert_eq!(Dropout2d::new(1.0).forward(&x).to_vec(), vec![0.0; 4]);
        let d = Dropout2d::new(0.9);
        d.eval();
        assert_eq!(d.forward(&x).to_vec(), x.to_vec());
        assert!(Dropout2d::try_new(1.5).is_err());
        let err = Module::<f64>::try_forward(&Dropout2d::new(0.5), &Var::zeros(&[3]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 2 dims"), "{err}");
        assert_eq!(
            Module::<f64>::repr(&Dropout2d::new(0.25)),
            "Dropout2d(p=0.25, inplace=False)"
        );
    }

    #[test]
    fn the_gradient_is_the_channel_mask() {
        let drop = Dropout2d::with_seed(0.4, 11);
        let x = Var::<f64>::ones(&[6, 5, 2, 3]).requires_grad();
        let y = drop.forward(&x);
        y.sum().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), y.to_vec());
        assert_eq!(y.grad_fn_name(), Some("MulBackward0"));
    }
}
