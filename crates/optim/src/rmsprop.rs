//! RMSprop with momentum and centering (`torch.optim.RMSprop`).

use antorcha_autograd::Var;
use antorcha_tensor::{Float, RmspropStep, StepParam, Tensor};

use crate::error::{non_negative, Result};
use crate::optimizer::{
    export_buffer, hyper_bool, hyper_f64, hyper_known, impl_optimizer, import_buffer,
    import_optional, known_buffers, Algorithm, Core, GroupOptions, Hyper, Optimizer,
    OptimizerState, ParamGroup, ParamState,
};

/// The hyper-parameters of [`RMSprop`], with PyTorch's defaults (`lr = 1e-2`, `alpha = 0.99`,
/// `eps = 1e-8`, no weight decay, no momentum, not centered).
///
/// ```
/// use antorcha_optim::RmspropOptions;
/// let o = RmspropOptions::new(0.01).momentum(0.9).centered(true);
/// assert_eq!((o.alpha, o.eps, o.momentum, o.centered), (0.99, 1e-8, 0.9, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropOptions {
    /// Learning rate (default `1e-2`).
    pub lr: f64,
    /// Smoothing constant of the running average of the squared gradient (default 0.99).
    pub alpha: f64,
    /// Added to the denominator for stability (default `1e-8`).
    pub eps: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Momentum factor (default 0).
    pub momentum: f64,
    /// Normalize by an estimate of the gradient's variance (running mean subtracted).
    pub centered: bool,
    /// Maximize the objective instead of minimizing it.
    pub maximize: bool,
}

impl Default for RmspropOptions {
    fn default() -> Self {
        RmspropOptions {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl RmspropOptions {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        RmspropOptions {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets the smoothing constant.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets epsilon.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Turns centering on or off.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl GroupOptions for RmspropOptions {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("epsilon value", self.eps)?;
        non_negative("momentum value", self.momentum)?;
        non_negative("weight_decay value", self.weight_decay)?;
        non_negative("alpha value", self.alpha)
    }

    fn to_hyper(&self) -> Vec<(String, Hyper)> {
        vec![
            ("lr".into(), Hyper::Float(self.lr)),
            ("alpha".into(), Hyper::Float(self.alpha)),
            ("eps".into(), Hyper::Float(self.eps)),
            ("weight_decay".into(), Hyper::Float(self.weight_decay)),
            ("momentum".into(), Hyper::Float(self.momentum)),
            ("centered".into(), Hyper::Bool(self.centered)),
            ("maximize".into(), Hyper::Bool(self.maximize)),
        ]
    }

    fn from_hyper(v: &[(String, Hyper)]) -> std::result::Result<Self, String> {
        hyper_known(v, &RmspropOptions::new(0.0).to_hyper())?;
        Ok(RmspropOptions {
            lr: hyper_f64(v, "lr")?,
            alpha: hyper_f64(v, "alpha")?,
            eps: hyper_f64(v, "eps")?,
            weight_decay: hyper_f64(v, "weight_decay")?,
            momentum: hyper_f64(v, "momentum")?,
            centered: hyper_bool(v, "centered")?,
            maximize: hyper_bool(v, "maximize")?,
        })
    }
}

/// RMSprop's per-parameter state.
#[derive(Debug, Clone)]
pub(crate) struct RmspropState<T: Float> {
    step: u64,
    square_avg: Tensor<T>,
    momentum_buffer: Option<Tensor<T>>,
    grad_avg: Option<Tensor<T>>,
}

#[derive(Debug, Clone)]
pub(crate) struct RmspropAlgo;

impl<T: Float> Algorithm<T> for RmspropAlgo {
    type Options = RmspropOptions;
    type State = RmspropState<T>;

    /// PyTorch's `_single_tensor_rmsprop` in the same operation order:
    /// `g = ±grad (+ wd·p)`; `sq = sq·α + ((1-α)·g)·g`; centered: `ga = lerp(ga, g, 1-α)`,
    /// `avg = sqrt(sq - ga·ga)`, else `avg = sqrt(sq)`; `avg += eps`; momentum:
    /// `buf = buf·m + g/avg`, `p += (-lr)·buf`; else `p += ((-lr)·g)/avg`.
    fn update(
        o: &RmspropOptions,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        state: &mut Option<Self::State>,
    ) {
        let st = state.get_or_insert_with(|| RmspropState {
            step: 0,
            square_avg: Tensor::zeros(grad.shape()),
            momentum_buffer: None,
            grad_avg: None,
        });
        // Saturates where PyTorch's float step stops growing: a loaded `u64::MAX` never wraps to 0.
        st.step = st.step.saturating_add(1);
        let hp = RmspropStep {
            lr: o.lr,
            alpha: o.alpha,
            eps: o.eps,
            weight_decay: o.weight_decay,
            momentum: o.momentum,
            maximize: o.maximize,
        };
        // PyTorch keeps these buffers only when the option is on; they start at zero.
        let zeros = || Tensor::zeros(grad.shape());
        let grad_avg = o.centered.then(|| st.grad_avg.get_or_insert_with(zeros));
        let buf = (o.momentum > 0.0).then(|| st.momentum_buffer.get_or_insert_with(zeros));
        hp.apply(param, grad, &mut st.square_avg, grad_avg, buf);
    }

    fn export(state: &Self::State) -> ParamState {
        let mut buffers = vec![export_buffer("square_avg", &state.square_avg)];
        if let Some(b) = &state.momentum_buffer {
            buffers.push(export_buffer("momentum_buffer", b));
        }
        if let Some(g) = &state.grad_avg {
            buffers.push(export_buffer("grad_avg", g));
        }
        ParamState {
            step: state.step,
            buffers,
        }
    }

    fn import(state: &ParamState, shape: &[usize]) -> std::result::Result<Self::State, String> {
        known_buffers(state, &["square_avg", "momentum_buffer", "grad_avg"])?;
        Ok(RmspropState {
            step: state.step,
            square_avg: import_buffer(state, "square_avg", shape)?,
            momentum_buffer: import_optional(state, "momentum_buffer", shape)?,
            grad_avg: import_optional(state, "grad_avg", shape)?,
        })
    }
}

impl_optimizer!(
    /// RMSprop, `torch.optim.RMSprop`: divides the gradient by a running root mean square, with
    /// optional momentum, centering, weight decay and maximize.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_optim::{Optimizer, RMSprop};
    /// let p = Var::from_vec(vec![1.0f64], &[1]).requires_grad();
    /// let mut opt = RMSprop::new(vec![p.clone()], 0.01).unwrap();
    /// (&p * &p).sum().backward().unwrap();        // g = 2
    /// opt.step().unwrap();                          // p -= 0.01 * 2 / sqrt(0.01 * 4)
    /// assert!((p.item() - 0.9).abs() < 1e-7);
    /// ```
    RMSprop, RmspropAlgo, RmspropOptions
);

impl<T: Float> RMSprop<T> {
    /// RMSprop with PyTorch's defaults and learning rate `lr` (`optim.RMSprop(params, lr=lr)`).
    ///
    /// # Errors
    /// A negative `lr` or a bad parameter list.
    pub fn new(params: Vec<Var<T>>, lr: f64) -> Result<Self> {
        Self::with_options(params, RmspropOptions::new(lr))
    }

    /// RMSprop with every option.
    ///
    /// # Errors
    /// Negative lr, eps, momentum, weight decay or alpha; a bad parameter list.
    pub fn with_options(params: Vec<Var<T>>, options: RmspropOptions) -> Result<Self> {
        Self::build(params, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{param, set_grad};

    #[test]
    fn plain_step_by_hand() {
        // alpha 0.75, eps 0: sq = 0.25 * 4 = 1; p -= 1 * 2 / 1.
        let p = param(vec![0.0]);
        let o = RmspropOptions::new(1.0).alpha(0.75).eps(0.0);
        let mut opt = RMSprop::with_options(vec![p.clone()], o).unwrap();
        set_grad(&p, vec![2.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![-2.0]);
    }

    #[test]
    fn centered_with_momentum_by_hand() {
        // alpha 0.5, eps 0, momentum 0.5, g = 2 then 2:
        // step 1: sq = 2, ga = 1, avg = sqrt(2 - 1) = 1, buf = 2, p = -2.
        // step 2: sq = 1 + 2 = 3, ga = 1.5, avg = sqrt(3 - 2.25) = sqrt(0.75),
        //         buf = 1 + 2 / sqrt(0.75), p = -2 - buf.
        let p = param(vec![0.0]);
        let o = RmspropOptions::new(1.0)
            .alpha(0.5)
            .eps(0.0)
            .momentum(0.5)
            .centered(true);
        let mut opt = RMSprop::with_options(vec![p.clone()], o).unwrap();
        set_grad(&p, vec![2.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![-2.0]);
        opt.step().unwrap();
        let expect = -2.0 - (1.0 + 2.0 / 0.75f64.sqrt());
        assert!((p.item() - expect).abs() < 1e-14);
        let st = opt.state();
        let ps = st.params[0].as_ref().unwrap();
        let names: Vec<&str> = ps.buffers.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["square_avg", "momentum_buffer", "grad_avg"]);
        assert_eq!(ps.step, 2);
    }

    #[test]
    fn weight_decay_and_errors() {
        let p = param(vec![1.0]);
        let o = RmspropOptions::new(1.0)
            .alpha(0.0)
            .eps(0.0)
            .weight_decay(1.0);
        let mut opt = RMSprop::with_options(vec![p.clone()], o).unwrap();
        set_grad(&p, vec![1.0]); // g = 1 + 1 = 2, sq = 4, p -= 2/2
        opt.step().unwrap();
        assert_eq!(p.item(), 0.0);
        let e = RMSprop::with_options(vec![p.clone()], RmspropOptions::new(0.1).alpha(-0.5))
            .unwrap_err();
        assert_eq!(e.to_string(), "Invalid alpha value: -0.5");
        let e =
            RMSprop::with_options(vec![p], RmspropOptions::new(0.1).momentum(-0.5)).unwrap_err();
        assert_eq!(e.to_string(), "Invalid momentum value: -0.5");
    }
}
