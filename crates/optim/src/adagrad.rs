//! Adagrad with learning-rate decay (`torch.optim.Adagrad`).

use antorcha_autograd::Var;
use antorcha_tensor::{AdagradStep, Float, StepParam, Tensor};

use crate::error::{non_negative, Result};
use crate::optimizer::{
    export_buffer, hyper_bool, hyper_f64, hyper_known, impl_optimizer, import_buffer,
    known_buffers, Algorithm, Core, GroupOptions, Hyper, Optimizer, OptimizerState, ParamGroup,
    ParamState,
};

/// The hyper-parameters of [`Adagrad`], with PyTorch's defaults (`lr = 1e-2`, `lr_decay = 0`,
/// `weight_decay = 0`, `initial_accumulator_value = 0`, `eps = 1e-10`).
///
/// ```
/// use antorcha_optim::AdagradOptions;
/// let o = AdagradOptions::new(0.1).lr_decay(0.05).initial_accumulator_value(0.1);
/// assert_eq!((o.lr, o.lr_decay, o.initial_accumulator_value, o.eps), (0.1, 0.05, 0.1, 1e-10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradOptions {
    /// Learning rate (default `1e-2`).
    pub lr: f64,
    /// Learning-rate decay: step `t` uses `lr / (1 + (t - 1) * lr_decay)` (default 0).
    pub lr_decay: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients (default 0).
    pub initial_accumulator_value: f64,
    /// Added to the denominator for stability (default `1e-10`).
    pub eps: f64,
    /// Maximize the objective instead of minimizing it.
    pub maximize: bool,
}

impl Default for AdagradOptions {
    fn default() -> Self {
        AdagradOptions {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

impl AdagradOptions {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdagradOptions {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets the learning-rate decay.
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the accumulator's starting value.
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// Sets epsilon.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl GroupOptions for AdagradOptions {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("lr_decay value", self.lr_decay)?;
        non_negative("weight_decay value", self.weight_decay)?;
        non_negative(
            "initial_accumulator_value value",
            self.initial_accumulator_value,
        )?;
        non_negative("epsilon value", self.eps)
    }

    fn to_hyper(&self) -> Vec<(String, Hyper)> {
        vec![
            ("lr".into(), Hyper::Float(self.lr)),
            ("lr_decay".into(), Hyper::Float(self.lr_decay)),
            ("weight_decay".into(), Hyper::Float(self.weight_decay)),
            (
                "initial_accumulator_value".into(),
                Hyper::Float(self.initial_accumulator_value),
            ),
            ("eps".into(), Hyper::Float(self.eps)),
            ("maximize".into(), Hyper::Bool(self.maximize)),
        ]
    }

    fn from_hyper(v: &[(String, Hyper)]) -> std::result::Result<Self, String> {
        hyper_known(v, &AdagradOptions::new(0.0).to_hyper())?;
        Ok(AdagradOptions {
            lr: hyper_f64(v, "lr")?,
            lr_decay: hyper_f64(v, "lr_decay")?,
            weight_decay: hyper_f64(v, "weight_decay")?,
            initial_accumulator_value: hyper_f64(v, "initial_accumulator_value")?,
            eps: hyper_f64(v, "eps")?,
            maximize: hyper_bool(v, "maximize")?,
        })
    }
}

/// Adagrad's per-parameter state.
#[derive(Debug, Clone)]
pub(crate) struct AdagradState<T: Float> {
    step: u64,
    sum: Tensor<T>,
}

#[derive(Debug, Clone)]
pub(crate) struct AdagradAlgo;

impl<T: Float> Algorithm<T> for AdagradAlgo {
    type Options = AdagradOptions;
    type State = AdagradState<T>;

    /// PyTorch's `_single_tensor_adagrad` in the same operation order:
    /// `g = ±grad (+ wd·p)`; `clr = lr / (1 + (t-1)·lr_decay)`; `sum = sum + g·g`;
    /// `p += ((-clr)·g) / (sqrt(sum) + eps)`.
    fn update(
        o: &AdagradOptions,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        state: &mut Option<Self::State>,
    ) {
        // PyTorch fills the accumulator when the optimizer is built; filling it before the
        // first update is the same (nothing reads it in between).
        let st = state.get_or_insert_with(|| AdagradState {
            step: 0,
            sum: Tensor::full(grad.shape(), T::cast(o.initial_accumulator_value)),
        });
        // Saturates where PyTorch's float step stops growing: a loaded `u64::MAX` never wraps to 0.
        st.step = st.step.saturating_add(1);
        let hp = AdagradStep {
            lr: o.lr,
            lr_decay: o.lr_decay,
            weight_decay: o.weight_decay,
            eps: o.eps,
            maximize: o.maximize,
            step: st.step,
        };
        hp.apply(param, grad, &mut st.sum);
    }

    fn export(state: &Self::State) -> ParamState {
        ParamState {
            step: state.step,
            buffers: vec![export_buffer("sum", &state.sum)],
        }
    }

    fn import(state: &ParamState, shape: &[usize]) -> std::result::Result<Self::State, String> {
        known_buffers(state, &["sum"])?;
        Ok(AdagradState {
            step: state.step,
            sum: import_buffer(state, "sum", shape)?,
        })
    }
}

impl_optimizer!(
    /// Adagrad, `torch.optim.Adagrad`: divides the gradient by the root of the sum of all squared
    /// gradients so far, with optional lr decay, weight decay and maximize.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_optim::{Adagrad, Optimizer};
    /// let p = Var::from_vec(vec![1.0f64], &[1]).requires_grad();
    /// let mut opt = Adagrad::new(vec![p.clone()], 0.5).unwrap();
    /// (&p * &p).sum().backward().unwrap();   // g = 2, sum = 4
    /// opt.step().unwrap();                     // p -= 0.5 * 2 / (2 + 1e-10)
    /// assert!((p.item() - 0.5).abs() < 1e-9);
    /// ```
    Adagrad, AdagradAlgo, AdagradOptions
);

impl<T: Float> Adagrad<T> {
    /// Adagrad with PyTorch's defaults and learning rate `lr` (`optim.Adagrad(params, lr=lr)`).
    ///
    /// # Errors
    /// A negative `lr` or a bad parameter list.
    pub fn new(params: Vec<Var<T>>, lr: f64) -> Result<Self> {
        Self::with_options(params, AdagradOptions::new(lr))
    }

    /// Adagrad with every option.
    ///
    /// # Errors
    /// Negative lr, lr decay, weight decay, initial accumulator value or eps; a bad parameter
    /// list.
    pub fn with_options(params: Vec<Var<T>>, options: AdagradOptions) -> Result<Self> {
        Self::build(params, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use antorcha_autograd::Tensor;

    #[test]
    fn lr_decay_and_initial_accumulator_by_hand() {
        // lr 1, lr_decay 1, initial 5, eps 0; g = 2 twice.
        // step 1: clr = 1, sum = 9, p -= 2/3.  step 2: clr = 1/2, sum = 13, p -= 0.5*2/sqrt(13).
        let p = Var::from_vec(vec![0.0f64], &[1]).requires_grad();
        let o = AdagradOptions::new(1.0)
            .lr_decay(1.0)
            .initial_accumulator_value(5.0)
            .eps(0.0);
        let mut opt = Adagrad::with_options(vec![p.clone()], o).unwrap();
        p.set_grad(Some(Tensor::from_vec(vec![2.0], &[1])));
        opt.step().unwrap();
        assert_eq!(p.item(), -2.0 / 3.0);
        opt.step().unwrap();
        let expect = -2.0 / 3.0 - 1.0 / 13f64.sqrt();
        assert!((p.item() - expect).abs() < 1e-15);
        let st = opt.state();
        assert_eq!(st.params[0].as_ref().unwrap().buffers[0].data, vec![13.0]);
        assert_eq!(st.params[0].as_ref().unwrap().step, 2);
    }

    #[test]
    fn errors_use_pytorch_wording() {
        let p = Var::from_vec(vec![0.0f64], &[1]).requires_grad();
        let cases = [
            (AdagradOptions::new(-0.1), "Invalid learning rate: -0.1"),
            (
                AdagradOptions::new(0.1).lr_decay(-1.0),
                "Invalid lr_decay value: -1.0",
            ),
            (
                AdagradOptions::new(0.1).weight_decay(-1.0),
                "Invalid weight_decay value: -1.0",
            ),
            (
                AdagradOptions::new(0.1).initial_accumulator_value(-1.0),
                "Invalid initial_accumulator_value value: -1.0",
            ),
            (
                AdagradOptions::new(0.1).eps(-1.0),
                "Invalid epsilon value: -1.0",
            ),
        ];
        for (o, msg) in cases {
            let e = Adagrad::with_options(vec![p.clone()], o).unwrap_err();
            assert_eq!(e.to_string(), msg);
        }
    }
}
