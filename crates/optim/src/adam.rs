//! Adam (with AMSGrad) and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`).

use antorcha_autograd::Var;
use antorcha_tensor::{AdamStep, Float, StepParam, Tensor};

use crate::error::{non_negative, unit_interval, Result};
use crate::optimizer::{
    export_buffer, hyper_bool, hyper_f64, hyper_known, hyper_pair, impl_optimizer, import_buffer,
    import_optional, known_buffers, Algorithm, Core, GroupOptions, Hyper, Optimizer,
    OptimizerState, ParamGroup, ParamState,
};

/// The hyper-parameters of [`Adam`], with PyTorch's defaults (`lr = 1e-3`,
/// `betas = (0.9, 0.999)`, `eps = 1e-8`, no weight decay). [`AdamW`] has its own
/// [`AdamWOptions`], whose defaults are AdamW's.
///
/// ```
/// use antorcha_optim::AdamOptions;
/// let o = AdamOptions::new(0.01).amsgrad(true);
/// assert_eq!((o.lr, o.betas, o.eps, o.amsgrad), (0.01, (0.9, 0.999), 1e-8, true));
/// assert_eq!(AdamOptions::default().weight_decay, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamOptions {
    /// Learning rate (default `1e-3`).
    pub lr: f64,
    /// Decay rates of the running averages of the gradient and of its square
    /// (default `(0.9, 0.999)`); each in `[0, 1)`.
    pub betas: (f64, f64),
    /// Added to the denominator for stability (default `1e-8`).
    pub eps: f64,
    /// Weight decay (default 0).
    pub weight_decay: f64,
    /// Use the AMSGrad variant: divide by the running maximum of the second moment.
    pub amsgrad: bool,
    /// Maximize the objective instead of minimizing it.
    pub maximize: bool,
    /// Decoupled weight decay (`p *= 1 - lr * weight_decay` before the update; AdamW) instead
    /// of an L2 term added to the gradient (Adam).
    pub decoupled_weight_decay: bool,
}

impl Default for AdamOptions {
    fn default() -> Self {
        AdamOptions {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
            decoupled_weight_decay: false,
        }
    }
}

/// The builder setters Adam's and AdamW's options share (same fields, same meaning; AdamW's
/// weight decay is the decoupled one).
macro_rules! adam_setters {
    () => {
        /// Sets the learning rate.
        pub fn lr(mut self, lr: f64) -> Self {
            self.lr = lr;
            self
        }

        /// Sets `betas`, `(beta1, beta2)` as PyTorch's tuple.
        pub fn betas(mut self, betas: (f64, f64)) -> Self {
            self.betas = betas;
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

        /// Turns AMSGrad on or off.
        pub fn amsgrad(mut self, amsgrad: bool) -> Self {
            self.amsgrad = amsgrad;
            self
        }

        /// Maximizes instead of minimizing.
        pub fn maximize(mut self, maximize: bool) -> Self {
            self.maximize = maximize;
            self
        }
    };
}

impl AdamOptions {
    /// Adam's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamOptions {
            lr,
            ..Self::default()
        }
    }

    adam_setters!();

    /// Decoupled (AdamW) or L2 (Adam) weight decay.
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Self {
        self.decoupled_weight_decay = decoupled;
        self
    }
}

impl GroupOptions for AdamOptions {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("epsilon value", self.eps)?;
        unit_interval("beta parameter at index 0", self.betas.0)?;
        unit_interval("beta parameter at index 1", self.betas.1)?;
        non_negative("weight_decay value", self.weight_decay)
    }

    fn to_hyper(&self) -> Vec<(String, Hyper)> {
        vec![
            ("lr".into(), Hyper::Float(self.lr)),
            ("betas".into(), Hyper::Pair(self.betas.0, self.betas.1)),
            ("eps".into(), Hyper::Float(self.eps)),
            ("weight_decay".into(), Hyper::Float(self.weight_decay)),
            ("amsgrad".into(), Hyper::Bool(self.amsgrad)),
            ("maximize".into(), Hyper::Bool(self.maximize)),
            (
                "decoupled_weight_decay".into(),
                Hyper::Bool(self.decoupled_weight_decay),
            ),
        ]
    }

    fn from_hyper(v: &[(String, Hyper)]) -> std::result::Result<Self, String> {
        hyper_known(v, &AdamOptions::new(0.0).to_hyper())?;
        Ok(AdamOptions {
            lr: hyper_f64(v, "lr")?,
            betas: hyper_pair(v, "betas")?,
            eps: hyper_f64(v, "eps")?,
            weight_decay: hyper_f64(v, "weight_decay")?,
            amsgrad: hyper_bool(v, "amsgrad")?,
            maximize: hyper_bool(v, "maximize")?,
            decoupled_weight_decay: hyper_bool(v, "decoupled_weight_decay")?,
        })
    }
}

/// The hyper-parameters of [`AdamW`], with PyTorch's AdamW defaults (`lr = 1e-3`,
/// `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 1e-2`); the weight decay is always
/// decoupled (`p *= 1 - lr * weight_decay` before each update).
///
/// ```
/// use antorcha_optim::AdamWOptions;
/// let o = AdamWOptions::default();
/// assert_eq!((o.lr, o.betas, o.eps, o.weight_decay), (1e-3, (0.9, 0.999), 1e-8, 1e-2));
/// assert_eq!(AdamWOptions::new(0.1).weight_decay(0.0).weight_decay, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWOptions {
    /// Learning rate (default `1e-3`).
    pub lr: f64,
    /// Decay rates of the running averages of the gradient and of its square
    /// (default `(0.9, 0.999)`); each in `[0, 1)`.
    pub betas: (f64, f64),
    /// Added to the denominator for stability (default `1e-8`).
    pub eps: f64,
    /// Decoupled weight decay (default `1e-2`).
    pub weight_decay: f64,
    /// Use the AMSGrad variant.
    pub amsgrad: bool,
    /// Maximize the objective instead of minimizing it.
    pub maximize: bool,
}

impl Default for AdamWOptions {
    fn default() -> Self {
        let adam = AdamOptions::default();
        AdamWOptions {
            lr: adam.lr,
            betas: adam.betas,
            eps: adam.eps,
            weight_decay: 1e-2,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamWOptions {
    /// AdamW's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamWOptions {
            lr,
            ..Self::default()
        }
    }

    adam_setters!();

    /// The same update as Adam's options with decoupled weight decay.
    fn to_adam(self) -> AdamOptions {
        AdamOptions {
            lr: self.lr,
            betas: self.betas,
            eps: self.eps,
            weight_decay: self.weight_decay,
            amsgrad: self.amsgrad,
            maximize: self.maximize,
            decoupled_weight_decay: true,
        }
    }
}

impl GroupOptions for AdamWOptions {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn validate(&self) -> Result<()> {
        self.to_adam().validate()
    }

    /// Adam's names, `decoupled_weight_decay` always `true`, as PyTorch's AdamW exports.
    fn to_hyper(&self) -> Vec<(String, Hyper)> {
        self.to_adam().to_hyper()
    }

    fn from_hyper(v: &[(String, Hyper)]) -> std::result::Result<Self, String> {
        let o = AdamOptions::from_hyper(v)?;
        if !o.decoupled_weight_decay {
            return Err("AdamW's `decoupled_weight_decay` must be true".to_string());
        }
        Ok(AdamWOptions {
            lr: o.lr,
            betas: o.betas,
            eps: o.eps,
            weight_decay: o.weight_decay,
            amsgrad: o.amsgrad,
            maximize: o.maximize,
        })
    }
}

/// Adam's per-parameter state.
#[derive(Debug, Clone)]
pub(crate) struct AdamState<T: Float> {
    step: u64,
    exp_avg: Tensor<T>,
    exp_avg_sq: Tensor<T>,
    max_exp_avg_sq: Option<Tensor<T>>,
}

#[derive(Debug, Clone)]
pub(crate) struct AdamAlgo;

/// AdamW: Adam's update and state, with [`AdamWOptions`].
#[derive(Debug, Clone)]
pub(crate) struct AdamWAlgo;

impl<T: Float> Algorithm<T> for AdamWAlgo {
    type Options = AdamWOptions;
    type State = AdamState<T>;

    fn update(
        o: &AdamWOptions,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        state: &mut Option<Self::State>,
    ) {
        <AdamAlgo as Algorithm<T>>::update(&o.to_adam(), param, grad, state)
    }

    fn export(state: &Self::State) -> ParamState {
        <AdamAlgo as Algorithm<T>>::export(state)
    }

    fn import(state: &ParamState, shape: &[usize]) -> std::result::Result<Self::State, String> {
        <AdamAlgo as Algorithm<T>>::import(state, shape)
    }
}

impl<T: Float> Algorithm<T> for AdamAlgo {
    type Options = AdamOptions;
    type State = AdamState<T>;

    /// PyTorch's `_single_tensor_adam` in the same operation order: decoupled decay
    /// `p *= 1 - lr·wd` or `g += wd·p`; `m = lerp(m, g, 1-β1)`; `v = v·β2 + ((1-β2)·g)·g`;
    /// `denom = sqrt(v or max v) / sqrt(1-β2^t) + eps`; `p += (-(lr / (1-β1^t))·m) / denom`.
    fn update(
        o: &AdamOptions,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        state: &mut Option<Self::State>,
    ) {
        let st = state.get_or_insert_with(|| AdamState {
            step: 0,
            exp_avg: Tensor::zeros(grad.shape()),
            exp_avg_sq: Tensor::zeros(grad.shape()),
            max_exp_avg_sq: None,
        });
        // Saturates where PyTorch's float step stops growing: a loaded `u64::MAX` never wraps to 0.
        st.step = st.step.saturating_add(1);
        let hp = AdamStep {
            lr: o.lr,
            betas: o.betas,
            eps: o.eps,
            weight_decay: o.weight_decay,
            decoupled_weight_decay: o.decoupled_weight_decay,
            maximize: o.maximize,
            step: st.step,
        };
        let vmax = o.amsgrad.then(|| {
            st.max_exp_avg_sq
                .get_or_insert_with(|| Tensor::zeros(grad.shape()))
        });
        hp.apply(param, grad, &mut st.exp_avg, &mut st.exp_avg_sq, vmax);
    }

    fn export(state: &Self::State) -> ParamState {
        let mut buffers = vec![
            export_buffer("exp_avg", &state.exp_avg),
            export_buffer("exp_avg_sq", &state.exp_avg_sq),
        ];
        if let Some(m) = &state.max_exp_avg_sq {
            buffers.push(export_buffer("max_exp_avg_sq", m));
        }
        ParamState {
            step: state.step,
            buffers,
        }
    }

    fn import(state: &ParamState, shape: &[usize]) -> std::result::Result<Self::State, String> {
        known_buffers(state, &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])?;
        Ok(AdamState {
            step: state.step,
            exp_avg: import_buffer(state, "exp_avg", shape)?,
            exp_avg_sq: import_buffer(state, "exp_avg_sq", shape)?,
            max_exp_avg_sq: import_optional(state, "max_exp_avg_sq", shape)?,
        })
    }
}

impl_optimizer!(
    /// Adam, `torch.optim.Adam`: running averages of the gradient and of its square with bias
    /// correction, optionally AMSGrad, L2 weight decay and maximize.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_optim::{Adam, Optimizer};
    /// let p = Var::from_vec(vec![1.0f64, -1.0], &[2]).requires_grad();
    /// let mut opt = Adam::new(vec![p.clone()], 0.1).unwrap();
    /// (&p * &p).sum().backward().unwrap();
    /// opt.step().unwrap();
    /// // the first Adam step moves each coordinate by lr against the gradient's sign
    /// let v = p.to_vec();
    /// assert!((v[0] - 0.9).abs() < 1e-7 && (v[1] + 0.9).abs() < 1e-7);
    /// ```
    Adam, AdamAlgo, AdamOptions
);

impl<T: Float> Adam<T> {
    /// Adam with PyTorch's defaults and learning rate `lr` (`optim.Adam(params, lr=lr)`).
    ///
    /// # Errors
    /// A negative `lr` or a bad parameter list.
    pub fn new(params: Vec<Var<T>>, lr: f64) -> Result<Self> {
        Self::with_options(params, AdamOptions::new(lr))
    }

    /// Adam with every option.
    ///
    /// # Errors
    /// Negative lr, eps or weight decay; a beta outside `[0, 1)`; a bad parameter list.
    pub fn with_options(params: Vec<Var<T>>, options: AdamOptions) -> Result<Self> {
        Self::build(params, options)
    }
}

impl_optimizer!(
    /// AdamW, `torch.optim.AdamW`: Adam with decoupled weight decay (`p *= 1 - lr * wd` before
    /// each update), default weight decay `1e-2`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_optim::{AdamW, Optimizer};
    /// let p = Var::from_vec(vec![2.0f64], &[1]).requires_grad();
    /// let mut opt = AdamW::new(vec![p.clone()], 0.1).unwrap();
    /// p.set_grad(Some(antorcha_autograd::Tensor::from_vec(vec![0.0], &[1])));
    /// opt.step().unwrap();
    /// assert_eq!(p.item(), 2.0 * (1.0 - 0.1 * 0.01)); // only the decay acts on a zero gradient
    /// ```
    AdamW, AdamWAlgo, AdamWOptions
);

impl<T: Float> AdamW<T> {
    /// AdamW with PyTorch's defaults and learning rate `lr` (`optim.AdamW(params, lr=lr)`).
    ///
    /// # Errors
    /// A negative `lr` or a bad parameter list.
    pub fn new(params: Vec<Var<T>>, lr: f64) -> Result<Self> {
        Self::with_options(params, AdamWOptions::new(lr))
    }

    /// AdamW with every option (`AdamWOptions::default()` is PyTorch's AdamW: weight decay
    /// `1e-2`).
    ///
    /// # Errors
    /// Negative lr, eps or weight decay; a beta outside `[0, 1)`; a bad parameter list.
    pub fn with_options(params: Vec<Var<T>>, options: AdamWOptions) -> Result<Self> {
        Self::build(params, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{param, set_grad};

    #[test]
    fn two_adam_steps_by_hand() {
        // beta1 = 0.5, beta2 = 0.75, eps = 0, lr = 1.
        // step 1, g = 2: m = 1, v = 1; m̂ = 2, v̂ = 4; p -= 2 / 2 = 1.
        // step 2, g = 4: m = 0.5 + 2 = 2.5, v = 0.75 + 4 = 4.75;
        //   bc1 = 0.75, bc2 = 1 - 0.5625 = 0.4375; p -= (2.5/0.75) / sqrt(4.75/0.4375).
        let p = param(vec![0.0]);
        let o = AdamOptions::new(1.0).betas((0.5, 0.75)).eps(0.0);
        let mut opt = Adam::with_options(vec![p.clone()], o).unwrap();
        set_grad(&p, vec![2.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![-1.0]);
        set_grad(&p, vec![4.0]);
        opt.step().unwrap();
        let expect = -1.0 - (2.5 / 0.75) / (4.75f64 / 0.4375).sqrt();
        assert!(
            (p.item() - expect).abs() < 1e-14,
            "{} vs {expect}",
            p.item()
        );
        let st = opt.state();
        let ps = st.params[0].as_ref().unwrap();
        assert_eq!(ps.step, 2);
        assert_eq!(ps.buffers[0].data, vec![2.5]);
        assert_eq!(ps.buffers[1].data, vec![4.75]);
    }

    #[test]
    fn amsgrad_keeps_the_largest_second_moment() {
        // beta2 = 0.5: v1 = 0.5*16 = 8, v2 = 4 + 0.5*0 = 4 → max stays 8.
        let p = param(vec![0.0]);
        let o = AdamOptions::new(1.0)
            .betas((0.0, 0.5))
            .amsgrad(true)
            .eps(0.0);
        let mut opt = Adam::with_options(vec![p.clone()], o).unwrap();
        set_grad(&p, vec![4.0]);
        opt.step().unwrap();
        set_grad(&p, vec![0.0]);
        opt.step().unwrap();
        let st = opt.state();
        let b = &st.params[0].as_ref().unwrap().buffers;
        assert_eq!(b[1].data, vec![4.0]);
        assert_eq!((b[2].name.as_str(), b[2].data[0]), ("max_exp_avg_sq", 8.0));
    }

    #[test]
    fn maximize_goes_uphill_and_adamw_decays() {
        let p = param(vec![0.0]);
        let mut opt =
            Adam::with_options(vec![p.clone()], AdamOptions::new(0.1).maximize(true)).unwrap();
        set_grad(&p, vec![1.0]);
        opt.step().unwrap();
        assert!((p.item() - 0.1).abs() < 1e-7);
        let q = param(vec![1.0]);
        let mut opt = AdamW::new(vec![q.clone()], 0.5).unwrap();
        assert_eq!(opt.name(), "AdamW");
        assert_eq!(opt.defaults().weight_decay, 0.01);
        set_grad(&q, vec![0.0]);
        opt.step().unwrap();
        assert_eq!(q.item(), 1.0 - 0.5 * 0.01);
        // The options' Default is AdamW's too: the same decay through with_options.
        let q = param(vec![1.0]);
        let o = AdamWOptions {
            lr: 0.5,
            ..AdamWOptions::default()
        };
        let mut opt = AdamW::with_options(vec![q.clone()], o).unwrap();
        set_grad(&q, vec![0.0]);
        opt.step().unwrap();
        assert_eq!(q.item(), 1.0 - 0.5 * 0.01);
        // L2 decay in Adam turns a zero gradient into wd * p
        let r = param(vec![1.0]);
        let mut opt =
            Adam::with_options(vec![r.clone()], AdamOptions::new(0.5).weight_decay(0.1)).unwrap();
        set_grad(&r, vec![0.0]);
        opt.step().unwrap();
        assert!((r.item() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn bad_betas_and_eps() {
        let p = param(vec![0.0]);
        let e = Adam::with_options(vec![p.clone()], AdamOptions::new(0.1).betas((1.0, 0.9)))
            .unwrap_err();
        assert_eq!(e.to_string(), "Invalid beta parameter at index 0: 1.0");
        let e = Adam::with_options(vec![p.clone()], AdamOptions::new(0.1).betas((0.9, -0.1)))
            .unwrap_err();
        assert_eq!(e.to_string(), "Invalid beta parameter at index 1: -0.1");
        let e = AdamW::with_options(vec![p], AdamWOptions::new(0.1).eps(-1e-8)).unwrap_err();
        assert_eq!(e.to_string(), "Invalid epsilon value: -1e-8");
    }

    #[test]
    fn state_export_import_between_adam_and_adamw_is_refused() {
        let p = param(vec![0.0]);
        let mut a = Adam::new(vec![p.clone()], 0.1).unwrap();
        set_grad(&p, vec![1.0]);
        a.step().unwrap();
        let mut w = AdamW::new(vec![p.clone()], 0.1).unwrap();
        assert!(w.load_state(&a.state()).is_err());
        let mut b = Adam::new(vec![p], 0.3).unwrap();
        b.load_state(&a.state()).unwrap();
        assert_eq!(b.state(), a.state());
    }
}
