//! Modules without parameters: activations, `Softmax`, `Flatten`, `Identity` and `Dropout`.

use std::sync::Mutex;

use antorcha_autograd::tensor::ndarray::{ArrayD, IxDyn};
use antorcha_autograd::tensor::{with_global_rng, Float, Generator};
use antorcha_autograd::{Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Module, Training};

macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            training: Training,
        }

        impl $name {
            #[doc = concat!("A new `", stringify!($name), "` module.")]
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl<T: Float> Module<T> for $name {
            fn try_forward(&self, $x: &Var<T>) -> Result<Var<T>> {
                Ok($body)
            }
            fn training_flag(&self) -> Option<&Training> {
                Some(&self.training)
            }
        }
    };
}

activation!(
    /// `max(x, 0)` elementwise, like `torch.nn.ReLU()`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_nn::{Module, ReLU};
    /// let y = ReLU::new().forward(&Var::from_vec(vec![-1.0f32, 2.0], &[2]));
    /// assert_eq!(y.to_vec(), vec![0.0, 2.0]);
    /// ```
    ReLU,
    |x| x.relu()
);
activation!(
    /// `1 / (1 + exp(-x))` elementwise, like `torch.nn.Sigmoid()`.
    Sigmoid,
    |x| x.sigmoid()
);
activation!(
    /// `tanh(x)` elementwise, like `torch.nn.Tanh()`.
    Tanh,
    |x| x.tanh()
);
activation!(
    /// Returns its input, like `torch.nn.Identity()` (a placeholder in a `Sequential`).
    Identity,
    |x| x.clone()
);

/// `exp(x) / sum(exp(x))` along `dim`, like `torch.nn.Softmax(dim)`.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Module, Softmax};
/// let p = Softmax::new(-1).forward(&Var::from_vec(vec![0.0f64, 0.0], &[1, 2]));
/// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
/// ```
#[derive(Debug, Clone)]
pub struct Softmax {
    dim: isize,
    training: Training,
}

impl Softmax {
    /// Softmax over `dim` (negative counts from the end).
    pub fn new(dim: isize) -> Self {
        Softmax {
            dim,
            training: Training::new(),
        }
    }
}

impl<T: Float> Module<T> for Softmax {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(x.try_softmax(self.dim)?)
    }
    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
    fn extra_repr(&self) -> String {
        format!("dim={}", self.dim)
    }
}

/// `log(softmax(x))` along `dim`, computed stably, like `torch.nn.LogSoftmax(dim)`; pairs
/// with [`NLLLoss`](crate::NLLLoss).
#[derive(Debug, Clone)]
pub struct LogSoftmax {
    dim: isize,
    training: Training,
}

impl LogSoftmax {
    /// Log-softmax over `dim` (negative counts from the end).
    pub fn new(dim: isize) -> Self {
        LogSoftmax {
            dim,
            training: Training::new(),
        }
    }
}

impl<T: Float> Module<T> for LogSoftmax {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(x.try_log_softmax(self.dim)?)
    }
    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
    fn extra_repr(&self) -> String {
        format!("dim={}", self.dim)
    }
}

/// Flattens dims `start_dim..=end_dim` into one, like `torch.nn.Flatten()` (which keeps the
/// batch dim: `start_dim = 1`, `end_dim = -1`).
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Flatten, Module};
/// assert_eq!(Flatten::new().forward(&Var::<f32>::zeros(&[64, 1, 28, 28])).shape(), vec![64, 784]);
/// ```
#[derive(Debug, Clone)]
pub struct Flatten {
    start_dim: isize,
    end_dim: isize,
    training: Training,
}

impl Flatten {
    /// Flattens every dim after the first (the batch dim).
    pub fn new() -> Self {
        Self::with_dims(1, -1)
    }

    /// Flattens dims `start_dim..=end_dim` (negative counts from the end).
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Self {
        Flatten {
            start_dim,
            end_dim,
            training: Training::new(),
        }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten::new()
    }
}

impl<T: Float> Module<T> for Flatten {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(x.try_flatten(self.start_dim, self.end_dim)?)
    }
    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
    fn extra_repr(&self) -> String {
        format!("start_dim={}, end_dim={}", self.start_dim, self.end_dim)
    }
}

/// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)` while in
/// training mode; passes the input through in eval mode, like `torch.nn.Dropout(p)`.
///
/// Masks are drawn when the layer runs, from the global generator like PyTorch (so after
/// `manual_seed(s)` a model's init and dropout masks follow PyTorch's stream), or from the
/// layer's own generator when made [`Dropout::with_seed`]. Each element is kept when a 53-bit
/// uniform double is below `1 - p`, PyTorch's default CPU `bernoulli_` kernel, so the masks
/// equal PyTorch's on CPUs where that kernel runs (AMD, ARM); on Intel CPUs PyTorch builds
/// with MKL draw `bernoulli_` from MKL's own stream (`VSL_BRNG_MCG31`), which is not
/// reproduced.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Dropout, Module};
/// let drop = Dropout::with_seed(0.5, 1);
/// let y = drop.forward(&Var::<f64>::ones(&[1000]));
/// assert!(y.to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
/// drop.eval();
/// assert_eq!(drop.forward(&Var::<f64>::ones(&[3])).to_vec(), vec![1.0; 3]);
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    generator: Option<Mutex<Generator>>,
    training: Training,
}

impl Dropout {
    /// Dropout with probability `p`, drawing its masks from the global generator.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]`; [`Dropout::try_new`] returns the error.
    #[track_caller]
    pub fn new(p: f64) -> Self {
        crate::error::ok(Self::try_new(p))
    }

    /// `new`, or an error when `p` is not in `[0, 1]`.
    pub fn try_new(p: f64) -> Result<Self> {
        check_p(p)?;
        Ok(Dropout {
            p,
            generator: None,
            training: Training::new(),
        })
    }

    /// Dropout with probability `p` and its own generator seeded with `seed`
    /// (`torch.Generator().manual_seed(seed)`).
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]`.
    #[track_caller]
    pub fn with_seed(p: f64, seed: u64) -> Self {
        crate::error::ok(Self::try_with_seed(p, seed))
    }

    /// `with_seed`, or an error when `p` is not in `[0, 1]`.
    pub fn try_with_seed(p: f64, seed: u64) -> Result<Self> {
        check_p(p)?;
        Ok(Dropout {
            p,
            generator: Some(Mutex::new(Generator::new(seed))),
            training: Training::new(),
        })
    }

    /// The probability of zeroing an element.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Training mode: drops elements (`dropout.train()`; the same as [`Module::train`],
    /// callable without naming the element type).
    pub fn train(&self) {
        self.training.set(true);
    }

    /// Evaluation mode: passes the input through (`dropout.eval()`).
    pub fn eval(&self) {
        self.training.set(false);
    }

    /// Whether the layer is in training mode (`dropout.training`).
    pub fn is_training(&self) -> bool {
        self.training.get()
    }
}

pub(crate) fn check_p(p: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(NnError::invalid(
            "Dropout",
            format!("dropout probability has to be between 0 and 1, but got {p}"),
        ));
    }
    Ok(())
}

impl<T: Float> Module<T> for Dropout {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        check_p(self.p)?;
        if !self.training.get() || self.p == 0.0 {
            return Ok(x.clone());
        }
        // The mask is drawn under the generator's lock; the product is made outside it.
        let shape = x.shape();
        let mask = match &self.generator {
            Some(g) => {
                let mut g = g.lock().unwrap_or_else(|p| p.into_inner());
                dropout_mask::<T>(&shape, self.p, &mut g)
            }
            None => with_global_rng(|g| dropout_mask::<T>(&shape, self.p, g)),
        };
        Ok(x.try_mul(&Var::new(mask))?)
    }
    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
    fn extra_repr(&self) -> String {
        format!("p={}, inplace=False", self.p)
    }
}

/// Functional dropout (`torch.nn.functional.dropout(x, p, training)`) drawing from `g`:
/// the input itself when not `training` or `p = 0`, zeros when `p = 1`; otherwise each element
/// is kept with probability `1 - p` (PyTorch's CPU `bernoulli_(1 - p)`) and scaled by
/// `1 / (1 - p)`, computed in `T` as PyTorch does.
///
/// # Panics
/// If `p` is not in `[0, 1]`; [`try_dropout`] returns the error.
#[track_caller]
pub fn dropout<T: Float>(x: &Var<T>, p: f64, training: bool, g: &mut Generator) -> Var<T> {
    crate::error::ok(try_dropout(x, p, training, g))
}

/// `dropout`, or an error when `p` is not in `[0, 1]`.
pub fn try_dropout<T: Float>(
    x: &Var<T>,
    p: f64,
    training: bool,
    g: &mut Generator,
) -> Result<Var<T>> {
    check_p(p)?;
    if !training || p == 0.0 {
        return Ok(x.clone());
    }
    let mask = dropout_mask::<T>(&x.shape(), p, g);
    Ok(x.try_mul(&Var::new(mask))?)
}

/// Dropout's mask for `0 < p <= 1`: zeros for `p = 1` (no draws, as in PyTorch), else
/// `bernoulli_(1 - p)` divided by `1 - p` in `T`.
fn dropout_mask<T: Float>(shape: &[usize], p: f64, g: &mut Generator) -> Tensor<T> {
    if p == 1.0 {
        return Tensor::zeros(shape);
    }
    let keep = 1.0 - p;
    let scale = T::one() / T::cast(keep);
    Tensor::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        if g.bernoulli(keep) {
            scale
        } else {
            T::zero()
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_match_their_formulas() {
        let x = Var::from_vec(vec![-2.0f64, 0.0, 3.0], &[3]);
        assert_eq!(ReLU::new().forward(&x).to_vec(), vec![0.0, 0.0, 3.0]);
        let s = Sigmoid::new().forward(&x).to_vec();
        assert!((s[0] - 1.0 / (1.0 + 2f64.exp())).abs() < 1e-15 && s[1] == 0.5);
        let t = Tanh::new().forward(&x).to_vec();
        assert!((t[2] - 3f64.tanh()).abs() < 1e-15);
        assert_eq!(Identity::new().forward(&x).to_vec(), x.to_vec());
        let p = Softmax::new(0).forward(&x).to_vec();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        let lp = LogSoftmax::new(-1).forward(&x).to_vec();
        assert!(lp.iter().zip(&p).all(|(a, b)| (a - b.ln()).abs() < 1e-12));
        assert!(Module::<f64>::try_forward(&Softmax::new(1), &x).is_err());
        // 0-d and empty inputs go through.
        assert_eq!(ReLU::new().forward(&Var::scalar(-1.0f32)).item(), 0.0);
        assert_eq!(
            Tanh::new().forward(&Var::<f32>::zeros(&[0, 2])).shape(),
            vec![0, 2]
        );
    }

    #[test]
    fn flatten_keeps_the_batch_dim() {
        let x = Var::<f32>::zeros(&[2, 3, 4, 5]);
        assert_eq!(Flatten::new().forward(&x).shape(), vec![2, 60]);
        assert_eq!(Flatten::with_dims(1, 2).forward(&x).shape(), vec![2, 12, 5]);
        assert_eq!(Flatten::with_dims(0, -1).forward(&x).shape(), vec![120]);
        assert!(Module::<f32>::try_forward(&Flatten::new(), &Var::zeros(&[3])).is_err());
        assert_eq!(
            Module::<f32>::extra_repr(&Flatten::new()),
            "start_dim=1, end_dim=-1"
        );
    }

    #[test]
    fn dropout_drops_the_right_share_and_scales_the_rest() {
        let drop = Dropout::with_seed(0.25, 7);
        let x = Var::<f64>::ones(&[20_000]).requires_grad();
        let y = drop.forward(&x);
        let v = y.to_vec();
        let zeros = v.iter().filter(|&&e| e == 0.0).count() as f64 / v.len() as f64;
        assert!((zeros - 0.25).abs() < 0.01, "{zeros}");
        assert!(v.iter().all(|&e| e == 0.0 || (e - 4.0 / 3.0).abs() < 1e-15));
        // The gradient is the same mask.
        y.sum().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), v);
        // Same seed, same masks; the next call draws a new mask.
        let again = Dropout::with_seed(0.25, 7);
        assert_eq!(again.forward(&Var::<f64>::ones(&[20_000])).to_vec(), v);
        assert_ne!(again.forward(&Var::<f64>::ones(&[20_000])).to_vec(), v);
    }

    #[test]
    fn dropout_edge_probabilities_and_modes() {
        let x = Var::from_vec(vec![1.0f32, -2.0], &[2]);
        assert_eq!(Dropout::new(0.0).forward(&x).to_vec(), x.to_vec());
        assert_eq!(Dropout::new(1.0).forward(&x).to_vec(), vec![0.0, 0.0]);
        let d = Dropout::new(0.9);
        d.eval();
        assert!(!d.is_training() && !Module::<f32>::is_training(&d));
        assert_eq!(d.forward(&x).to_vec(), x.to_vec());
        assert!(Dropout::try_new(1.5).is_err());
        assert!(Dropout::try_new(-0.1)
            .unwrap_err()
            .to_string()
            .contains("between 0 and 1"));
        assert!(Dropout::try_new(f64::NAN).is_err());
    }
}
