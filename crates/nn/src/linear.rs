//! `Linear`: `y = x Wᵀ + b`, with PyTorch's default initialisation.

use antorcha_autograd::tensor::{with_global_rng, Float, Generator};
use antorcha_autograd::{Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Module, Training};
use crate::params::{check_weight_and_bias, default_weight_and_bias};

/// A fully connected layer, like `torch.nn.Linear(in_features, out_features, bias)`:
/// `y = x @ weight.T + bias` over the last dim of `x`.
///
/// The weight (`[out_features, in_features]`) and bias (`[out_features]`) start uniform in
/// about `±1/sqrt(in_features)`, PyTorch's default (Kaiming-uniform with `a = sqrt(5)`): after
/// `manual_seed(s)`, `Linear::new(i, o)` holds the same numbers as `nn.Linear(i, o)` after
/// `torch.manual_seed(s)`.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Linear, Module};
/// let fc: Linear = Linear::new(3, 2); // f32, PyTorch's default dtype
/// let y = fc.forward(&Var::ones(&[5, 3]));
/// assert_eq!(y.shape(), vec![5, 2]);
/// assert_eq!(fc.weight().shape(), vec![2, 3]);
/// ```
#[derive(Debug)]
pub struct Linear<T: Float = f32> {
    weight: Var<T>,
    bias: Option<Var<T>>,
    training: Training,
}

impl<T: Float> Linear<T> {
    /// A layer with a bias, initialised from the global generator (follows `manual_seed`).
    pub fn new(in_features: usize, out_features: usize) -> Self {
        Self::with_options(in_features, out_features, true)
    }

    /// A layer with or without a bias, initialised from the global generator.
    pub fn with_options(in_features: usize, out_features: usize, bias: bool) -> Self {
        with_global_rng(|g| Self::with_generator(in_features, out_features, bias, g))
    }

    /// A layer initialised from `g` as PyTorch's `reset_parameters` does: the weight by
    /// `kaiming_uniform_(a=sqrt(5))`, then the bias uniform in `±1/sqrt(in_features)` (0 when
    /// `in_features` is 0), PyTorch's values bit for bit for the same generator state.
    pub fn with_generator(
        in_features: usize,
        out_features: usize,
        bias: bool,
        g: &mut Generator,
    ) -> Self {
        let (weight, bias) = default_weight_and_bias(&[out_features, in_features], bias, g);
        Self::from_parts(weight, bias).expect("shapes made to fit")
    }

    /// A layer with the given weight `[out_features, in_features]` and optional bias
    /// `[out_features]` (copied in as parameters that require grad).
    pub fn from_parts(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        check_weight_and_bias(
            "Linear",
            &["out_features", "in_features"],
            &weight,
            bias.as_ref(),
        )?;
        Ok(Linear {
            weight: Var::new(weight).requires_grad(),
            bias: bias.map(|b| Var::new(b).requires_grad()),
            training: Training::new(),
        })
    }

    /// The weight, `[out_features, in_features]`.
    pub fn weight(&self) -> &Var<T> {
        &self.weight
    }

    /// The bias, `[out_features]`, if the layer has one.
    pub fn bias(&self) -> Option<&Var<T>> {
        self.bias.as_ref()
    }

    /// The size of each input's last dim.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The size of each output's last dim.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<T: Float> Module<T> for Linear<T> {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let shape = x.shape();
        let in_features = self.in_features();
        if shape.last() != Some(&in_features) {
            return Err(NnError::InputShape {
                module: "Linear",
                shape,
                message: format!(
                    "the last dim must be in_features={in_features} (weight {:?})",
                    self.weight.shape()
                ),
            });
        }
        // One fused op (`AddmmBackward0`): the weight goes into GEMM as a transposed view,
        // forward and backward, instead of a copied `weight.t()`.
        Ok(x.try_linear(&self.weight, self.bias.as_ref())?)
    }

    fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }

    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}",
            self.in_features(),
            self.out_features(),
            if self.bias.is_some() { "True" } else { "False" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use antorcha_autograd::tensor::Generator;

    #[test]
    fn forward_is_x_wt_plus_b() {
        let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let b = Tensor::from_vec(vec![0.5, -1.0], &[2]);
        let fc = Linear::<f64>::from_parts(w, Some(b)).unwrap();
        let x = Var::from_vec(vec![1.0, 0.0, -1.0, 2.0, 1.0, 0.0], &[2, 3]);
        // [1,0,-1]·[1,2,3] = -2, ·[4,5,6] = -2; [2,1,0]·… = 4, 13.
        assert_eq!(fc.forward(&x).to_vec(), vec![-1.5, -3.0, 4.5, 12.0]);
        // A 1-D input is one sample; extra leading dims are batch dims.
        assert_eq!(
            fc.forward(&Var::from_vec(vec![1.0, 0.0, -1.0], &[3]))
                .shape(),
            vec![2]
        );
        assert_eq!(fc.forward(&Var::zeros(&[4, 5, 3])).shape(), vec![4, 5, 2]);
        assert_eq!(fc.forward(&Var::zeros(&[0, 3])).shape(), vec![0, 2]);
    }

    #[test]
    fn default_init_is_uniform_in_one_over_sqrt_fan_in() {
        let mut rng = Generator::new(0);
        let fc = Linear::<f64>::with_generator(100, 50, true, &mut rng);
        let bound = 0.1;
        let w = fc.weight().to_vec();
        assert!(w.iter().all(|x| x.abs() < bound));
        // U(-b, b) has variance b²/3.
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        assert!((var - bound * bound / 3.0).abs() < 3e-4, "{var}");
        assert!(fc.bias().unwrap().to_vec().iter().all(|x| x.abs() < bound));
        assert!(fc.weight().needs_grad() && fc.weight().is_leaf());
        // Seeded construction repeats.
        let again = Linear::<f64>::with_generator(100, 50, true, &mut Generator::new(0));
        assert_eq!(again.weight().to_vec(), w);
        let empty = Linear::<f32>::new(0, 3);
        assert_eq!(empty.forward(&Var::zeros(&[2, 0])).shape(), vec![2, 3]);
    }

    #[test]
    fn gradients_reach_weight_and_bias() {
        let fc =
            Linear::<f64>::from_parts(Tensor::ones(&[1, 2]), Some(Tensor::zeros(&[1]))).unwrap();
        let x = Var::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        fc.forward(&x).sum().backward().unwrap();
        assert_eq!(fc.weight().grad().unwrap().to_vec(), vec![4.0, 6.0]);
        assert_eq!(fc.bias().unwrap().grad().unwrap().to_vec(), vec![2.0]);
    }

    #[test]
    fn forward_is_one_fused_op_with_the_numbers_of_matmul_plus_bias() {
        let mut rng = Generator::new(1);
        let fc = Linear::<f32>::with_generator(300, 40, true, &mut rng);
        let x = Var::new(Tensor::uniform_from(&[64, 300], -1.0, 1.0, &mut rng));
        let y = fc.forward(&x);
        assert_eq!(y.grad_fn_name(), Some("AddmmBackward0"));
        let (w, b) = (fc.weight().data(), fc.bias().unwrap().data());
        assert_eq!(y.data(), &x.data().matmul(&w.t()) + &b);
        // Gradients: dW = gᵀ·x, db = Σ_rows g, exactly as the composed ops give them.
        y.sum().backward().unwrap();
        let g = Tensor::<f32>::ones(&[64, 40]);
        assert_eq!(fc.weight().grad().unwrap(), g.t().matmul(&x.data()));
        assert_eq!(fc.bias().unwrap().grad().unwrap(), g.sum_dim(0, false));
        let no_bias = Linear::<f32>::with_generator(3, 2, false, &mut rng);
        assert_eq!(
            no_bias.forward(&Var::ones(&[1, 3])).grad_fn_name(),
            Some("MmBackward0")
        );
    }

    #[test]
    fn wrong_inputs_and_parts_are_errors() {
        let fc = Linear::<f32>::new(3, 2);
        let err = fc
            .try_forward(&Var::zeros(&[2, 4]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in_features=3") && err.contains("[2, 4]"),
            "{err}"
        );
        assert!(fc.try_forward(&Var::scalar(1.0)).is_err());
        assert!(Linear::<f32>::from_parts(Tensor::zeros(&[3]), None).is_err());
        let err = Linear::<f32>::from_parts(Tensor::zeros(&[2, 3]), Some(Tensor::zeros(&[3])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bias must have shape [2]"), "{err}");
    }
}
