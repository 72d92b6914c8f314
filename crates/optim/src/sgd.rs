//! Stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize
//! (`torch.optim.SGD`).

use antorcha_autograd::Var;
use antorcha_tensor::{Float, SgdStep, StepParam, Tensor};

use crate::error::{non_negative, OptimError, Result};
use crate::optimizer::{
    export_buffer, hyper_bool, hyper_f64, hyper_known, impl_optimizer, import_buffer,
    known_buffers, Algorithm, Core, GroupOptions, Hyper, Optimizer, OptimizerState, ParamGroup,
    ParamState,
};

/// The hyper-parameters of [`SGD`], with PyTorch's defaults (`lr = 1e-3`, everything else off).
///
/// ```
/// use antorcha_optim::SgdOptions;
/// let o = SgdOptions::new(0.1).momentum(0.9).nesterov(true);
/// assert_eq!((o.lr, o.momentum, o.dampening, o.nesterov), (0.1, 0.9, 0.0, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdOptions {
    /// Learning rate (default `1e-3`).
    pub lr: f64,
    /// Momentum factor (default 0: no momentum buffer).
    pub momentum: f64,
    /// Dampening for momentum (default 0); the first step uses the gradient as is.
    pub dampening: f64,
    /// L2 penalty added to the gradient, `g + weight_decay * p` (default 0).
    pub weight_decay: f64,
    /// Nesterov momentum (default off; needs momentum > 0 and dampening 0).
    pub nesterov: bool,
    /// Maximize the objective instead of minimizing it (default off).
    pub maximize: bool,
}

impl Default for SgdOptions {
    fn default() -> Self {
        SgdOptions {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

impl SgdOptions {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SgdOptions {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Sets the weight decay (L2 penalty).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl GroupOptions for SgdOptions {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("momentum value", self.momentum)?;
        non_negative("weight_decay value", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::Nesterov {
                momentum: self.momentum,
                dampening: self.dampening,
            });
        }
        Ok(())
    }

    fn to_hyper(&self) -> Vec<(String, Hyper)> {
        vec![
            ("lr".into(), Hyper::Float(self.lr)),
            ("momentum".into(), Hyper::Float(self.momentum)),
            ("dampening".into(), Hyper::Float(self.dampening)),
            ("weight_decay".into(), Hyper::Float(self.weight_decay)),
            ("nesterov".into(), Hyper::Bool(self.nesterov)),
            ("maximize".into(), Hyper::Bool(self.maximize)),
        ]
    }

    fn from_hyper(v: &[(String, Hyper)]) -> std::result::Result<Self, String> {
        hyper_known(v, &SgdOptions::new(0.0).to_hyper())?;
        Ok(SgdOptions {
            lr: hyper_f64(v, "lr")?,
            momentum: hyper_f64(v, "momentum")?,
            dampening: hyper_f64(v, "dampening")?,
            weight_decay: hyper_f64(v, "weight_decay")?,
            nesterov: hyper_bool(v, "nesterov")?,
            maximize: hyper_bool(v, "maximize")?,
        })
    }
}

/// SGD's per-parameter state: the momentum buffer (only when momentum is on).
#[derive(Debug, Clone)]
pub(crate) struct SgdState<T: Float> {
    momentum_buffer: Tensor<T>,
}

#[derive(Debug, Clone)]
pub(crate) struct SgdAlgo;

impl<T: Float> Algorithm<T> for SgdAlgo {
    type Options = SgdOptions;
    type State = SgdState<T>;

    /// PyTorch's `_single_tensor_sgd` as one fused kernel ([`SgdStep::apply`]).
    fn update(
        o: &SgdOptions,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        state: &mut Option<Self::State>,
    ) {
        let hp = SgdStep {
            lr: o.lr,
            momentum: o.momentum,
            dampening: o.dampening,
            weight_decay: o.weight_decay,
            nesterov: o.nesterov,
            maximize: o.maximize,
        };
        if o.momentum == 0.0 {
            // No buffer: the state stays `None`.
            hp.apply(param, grad, &mut None);
            return;
        }
        let mut buf = state.take().map(|s| s.momentum_buffer);
        hp.apply(param, grad, &mut buf);
        *state = buf.map(|momentum_buffer| SgdState { momentum_buffer });
    }

    fn export(state: &Self::State) -> ParamState {
        ParamState {
            step: 0,
            buffers: vec![export_buffer("momentum_buffer", &state.momentum_buffer)],
        }
    }

    fn import(state: &ParamState, shape: &[usize]) -> std::result::Result<Self::State, String> {
        known_buffers(state, &["momentum_buffer"])?;
        Ok(SgdState {
            momentum_buffer: import_buffer(state, "momentum_buffer", shape)?,
        })
    }
}

impl_optimizer!(
    /// Stochastic gradient descent, `torch.optim.SGD`, with every option (momentum, dampening,
    /// Nesterov, weight decay, maximize) and PyTorch's exact update order.
    ///
    /// The notebook's Example 3 (`optimizer = optim.SGD([a, b], lr=lr)`):
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_optim::{Optimizer, SGD};
    /// let x = Var::from_vec(vec![0.0f64, 0.25, 0.5, 0.75, 1.0], &[5, 1]);
    /// let y = Var::from_vec(vec![1.0f64, 1.5, 2.0, 2.5, 3.0], &[5, 1]); // y = 1 + 2x
    /// let a = Var::from_vec(vec![0.0f64], &[1]).requires_grad();
    /// let b = Var::from_vec(vec![0.0f64], &[1]).requires_grad();
    /// let lr = 0.1;
    /// let mut opt = SGD::new(vec![a.clone(), b.clone()], lr).unwrap();
    /// for _epoch in 0..2000 {
    ///     let yhat = &a + &b * &x;
    ///     let loss = (&y - &yhat).powf(2.0).mean();
    ///     loss.backward().unwrap();
    ///     opt.step().unwrap();
    ///     opt.zero_grad();
    /// }
    /// assert!((a.item() - 1.0).abs() < 1e-6 && (b.item() - 2.0).abs() < 1e-6);
    /// ```
    SGD, SgdAlgo, SgdOptions
);

impl<T: Float> SGD<T> {
    /// Plain SGD over `params` with learning rate `lr` (`optim.SGD(params, lr=lr)`).
    ///
    /// # Errors
    /// [`OptimError::InvalidHyperParameter`] for a negative (or NaN) `lr`;
    /// [`OptimError::EmptyParams`], [`OptimError::NonLeaf`], [`OptimError::DuplicateParam`]
    /// for a bad parameter list.
    pub fn new(params: Vec<Var<T>>, lr: f64) -> Result<Self> {
        Self::with_options(params, SgdOptions::new(lr))
    }

    /// SGD with every option (`optim.SGD(params, lr, momentum, dampening, weight_decay,
    /// nesterov, maximize=…)`).
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_optim::{SgdOptions, SGD};
    /// let p = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
    /// let bad = SGD::with_options(vec![p], SgdOptions::new(0.1).nesterov(true));
    /// assert_eq!(
    ///     bad.unwrap_err().to_string(),
    ///     "Nesterov momentum requires a momentum and zero dampening (got momentum 0.0, dampening 0.0)"
    /// );
    /// ```
    ///
    /// # Errors
    /// Negative lr, momentum or weight decay; Nesterov without momentum or with dampening;
    /// a bad parameter list.
    pub fn with_options(params: Vec<Var<T>>, options: SgdOptions) -> Result<Self> {
        Self::build(params, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{param, set_grad};
    use antorcha_autograd::Tensor;

    /// PyTorch's `_single_tensor_sgd` on one element, the reference for the fast loops.
    fn reference(o: &SgdOptions, p: f32, g: f32, buf: Option<f32>) -> (f32, f32) {
        let g = if o.maximize { -g } else { g };
        let d = if o.weight_decay != 0.0 {
            g + o.weight_decay as f32 * p
        } else {
            g
        };
        if o.momentum == 0.0 {
            return (p + (-o.lr as f32) * d, 0.0);
        }
        let (m, keep) = (o.momentum as f32, (1.0 - o.dampening) as f32);
        let b = match buf {
            None => d,
            Some(b) => b * m + keep * d,
        };
        let d = if o.nesterov { d + m * b } else { b };
        (p + (-o.lr as f32) * d, b)
    }

    #[test]
    fn fast_loops_match_the_elementwise_rule_in_every_layout() {
        // 256 x 160 = 40960 elements: above the two-thread split; a transposed copy takes the
        // strided (Zip) path.
        let (r, c) = (256, 160);
        let vals = |seed: u32| -> Vec<f32> {
            (0..r * c)
                .map(|i| {
                    ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32
                        / (1 << 24) as f32
                        - 0.5
                })
                .collect()
        };
        for maximize in [false, true] {
            for wd in [0.0, 0.01] {
                for (mom, damp, nest) in [
                    (0.0, 0.0, false),
                    (0.9, 0.0, false),
                    (0.9, 0.1, false),
                    (0.9, 0.0, true),
                ] {
                    let o = SgdOptions::new(0.05)
                        .momentum(mom)
                        .dampening(damp)
                        .nesterov(nest)
                        .weight_decay(wd)
                        .maximize(maximize);
                    let p0 = vals(1);
                    let flat = Var::from_vec(p0.clone(), &[r, c]).requires_grad();
                    let strided_t = Tensor::from_vec(p0.clone(), &[r, c]).t().contiguous().t();
                    assert!(!strided_t.is_contiguous());
                    let strided = Var::new(strided_t).requires_grad();
                    let mut o1 = SGD::with_options(vec![flat.clone()], o).unwrap();
                    let mut o2 = SGD::with_options(vec![strided.clone()], o).unwrap();
                    let (mut want, mut buf): (Vec<f32>, Option<Vec<f32>>) = (p0, None);
                    for step in 0..3u32 {
                        let g = vals(100 + step);
                        flat.set_grad(Some(Tensor::from_vec(g.clone(), &[r, c])));
                        strided.set_grad(Some(
                            Tensor::from_vec(g.clone(), &[r, c]).t().contiguous().t(),
                        ));
                        o1.step().unwrap();
                        o2.step().unwrap();
                        let mut nb = vec![0.0; r * c];
                        for i in 0..r * c {
                            let (p, b) = reference(&o, want[i], g[i], buf.as_ref().map(|b| b[i]));
                            want[i] = p;
                            nb[i] = b;
                        }
                        buf = Some(nb);
                        assert_eq!(flat.to_vec(), want, "{o:?} step {step}");
                        assert_eq!(strided.to_vec(), want, "{o:?} step {step} (strided)");
                    }
                }
            }
        }
    }

    #[test]
    fn plain_step_is_p_minus_lr_g() {
        let p = param(vec![1.0, -2.0]);
        let mut opt = SGD::new(vec![p.clone()], 0.5).unwrap();
        set_grad(&p, vec![2.0, 4.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![0.0, -4.0]);
        assert_eq!(p.grad().unwrap().to_vec(), vec![2.0, 4.0]); // step keeps the grad
    }

    #[test]
    fn momentum_first_step_uses_gradient_as_is_then_dampens() {
        // momentum 0.5, dampening 0.5: buf1 = g1 = 2; buf2 = 0.5*2 + 0.5*4 = 3.
        let p = param(vec![0.0]);
        let opts = SgdOptions::new(1.0).momentum(0.5).dampening(0.5);
        let mut opt = SGD::with_options(vec![p.clone()], opts).unwrap();
        set_grad(&p, vec![2.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![-2.0]);
        set_grad(&p, vec![4.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![-5.0]);
        let st = opt.state();
        assert_eq!(st.params[0].as_ref().unwrap().buffers[0].data, vec![3.0]);
    }

    #[test]
    fn nesterov_weight_decay_maximize() {
        // g = -1 (maximize of grad 1) + 0.5 * 2 (wd * p) = 0; buf = 0; step = 0 + 0.9*0.
        let p = param(vec![2.0]);
        let opts = SgdOptions::new(0.1)
            .momentum(0.9)
            .nesterov(true)
            .weight_decay(0.5)
            .maximize(true);
        let mut opt = SGD::with_options(vec![p.clone()], opts).unwrap();
        set_grad(&p, vec![1.0]);
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![2.0]);
        // Nesterov, no decay: g = 1, buf = 1, d = 1 + 0.9 = 1.9.
        let q = param(vec![0.0]);
        let mut opt = SGD::with_options(
            vec![q.clone()],
            SgdOptions::new(1.0).momentum(0.9).nesterov(true),
        )
        .unwrap();
        set_grad(&q, vec![1.0]);
        opt.step().unwrap();
        assert_eq!(q.to_vec(), vec![-1.9]);
    }

    #[test]
    fn params_without_grad_are_skipped_and_zero_grad_clears() {
        let p = param(vec![1.0]);
        let q = param(vec![1.0]);
        let mut opt = SGD::with_options(
            vec![p.clone(), q.clone()],
            SgdOptions::new(1.0).momentum(0.9),
        )
        .unwrap();
        set_grad(&p, vec![1.0]);
        opt.step().unwrap();
        assert_eq!((p.item(), q.item()), (0.0, 1.0));
        let st = opt.state();
        assert!(st.params[0].is_some() && st.params[1].is_none());
        opt.zero_grad();
        assert!(p.grad().is_none() && q.grad().is_none());
        set_grad(&q, vec![3.0]);
        opt.zero_grad_with(false);
        assert_eq!(q.grad().unwrap().to_vec(), vec![0.0]);
    }

    #[test]
    fn groups_have_their_own_lr() {
        let p = param(vec![1.0]);
        let q = param(vec![1.0]);
        let mut opt = SGD::new(vec![p.clone()], 0.1).unwrap();
        opt.add_param_group(
            vec![q.clone()],
            SgdOptions {
                lr: 0.5,
                ..*opt.defaults()
            },
        )
        .unwrap();
        assert_eq!(opt.lrs(), vec![0.1, 0.5]);
        set_grad(&p, vec![1.0]);
        set_grad(&q, vec![1.0]);
        opt.step().unwrap();
        assert_eq!((p.item(), q.item()), (0.9, 0.5));
        opt.set_lr(0.25);
        assert_eq!(opt.lrs(), vec![0.25, 0.25]);
        opt.set_group_lr(1, 1.0);
        assert_eq!((opt.lr(), opt.group_lr(1)), (0.25, 1.0));
        assert_eq!(opt.params().len(), 2);
        assert_eq!(opt.param_groups()[1].options().lr, 1.0);
        // the same parameter twice is refused
        let err = opt
            .add_param_group(vec![p.clone()], SgdOptions::new(0.1))
            .unwrap_err();
        assert!(matches!(err, OptimError::DuplicateParam { .. }), "{err}");
    }

    #[test]
    fn step_works_on_f32_and_on_0d_and_empty_params() {
        let p = Var::from_vec(vec![1.0f32, 2.0], &[2, 1]).requires_grad();
        let s = Var::scalar(3.0f32).requires_grad();
        let e = Var::<f32>::zeros(&[0, 3]).requires_grad();
        let mut opt = SGD::new(vec![p.clone(), s.clone(), e.clone()], 0.5).unwrap();
        (&p.sum() + &s.powf(2.0) + e.sum()).backward().unwrap();
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![0.5, 1.5]);
        assert_eq!(s.item(), 0.0);
        assert_eq!(e.shape(), vec![0, 3]);
    }

    #[test]
    fn bad_lists_are_errors() {
        let err = SGD::<f64>::new(vec![], 0.1).unwrap_err();
        assert_eq!(err.to_string(), "SGD got an empty parameter list");
        let p = param(vec![1.0]);
        let err = SGD::new(vec![p.clone(), p.clone()], 0.1).unwrap_err();
        assert!(matches!(err, OptimError::DuplicateParam { .. }));
        let nonleaf = &p * 2.0;
        let err = SGD::new(vec![nonleaf], 0.1).unwrap_err();
        assert!(
            err.to_string().contains("can't optimize a non-leaf Tensor"),
            "{err}"
        );
    }

    #[test]
    fn steps_write_in_place_and_leave_held_values_alone() {
        let p = param(vec![1.0, 2.0, 3.0]);
        let opts = SgdOptions::new(0.5).momentum(0.9);
        let mut opt = SGD::with_options(vec![p.clone()], opts).unwrap();
        let ptr = |p: &Var<f64>| p.data().view().as_ptr() as usize;
        let mut seen = Vec::new();
        for _ in 0..3 {
            set_grad(&p, vec![1.0, 1.0, 1.0]);
            opt.step().unwrap();
            seen.push(ptr(&p));
        }
        // Nothing else holds the value: each step writes into its storage.
        assert_eq!((seen[0], seen[0]), (seen[1], seen[2]));
        // A value someone still holds is never written to: the new one goes elsewhere.
        let held = p.data();
        let before = held.to_vec();
        set_grad(&p, vec![1.0, 1.0, 1.0]);
        opt.step().unwrap();
        opt.step().unwrap();
        assert_eq!(held.to_vec(), before);
        assert_ne!(p.to_vec(), before);
        assert_ne!(ptr(&p), held.view().as_ptr() as usize);
    }

    #[test]
    fn a_param_cannot_change_shape_under_the_optimizer() {
        let p = param(vec![1.0, 2.0]);
        let mut opt = SGD::new(vec![p.clone()], 0.1).unwrap();
        p.set_grad(Some(Tensor::from_vec(vec![1.0, 1.0], &[2])));
        // An in-place update keeps the shape, so a grad always fits its param.
        let err = antorcha_autograd::with_no_grad(|| {
            p.update_(|t| *t = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]))
        })
        .unwrap_err();
        assert!(err.to_string().contains("[3]"), "{err}");
        opt.step().unwrap();
        assert_eq!(p.to_vec(), vec![0.9, 1.9]);
    }

    #[test]
    fn state_round_trip_and_bad_states() {
        let p = param(vec![1.0, 2.0]);
        let opts = SgdOptions::new(0.1).momentum(0.9);
        let mut opt = SGD::with_options(vec![p.clone()], opts).unwrap();
        set_grad(&p, vec![1.0, -1.0]);
        opt.step().unwrap();
        opt.set_lr(0.05);
        let st = opt.state();
        assert_eq!(st.optimizer, "SGD");
        assert_eq!(st.groups[0].num_params, 1);
        let mut fresh = SGD::with_options(vec![p.clone()], SgdOptions::new(0.3)).unwrap();
        fresh.load_state(&st).unwrap();
        assert_eq!(fresh.state(), st);
        assert_eq!(fresh.lr(), 0.05);
        assert_eq!(fresh.param_groups()[0].options().momentum, 0.9);

        let mut bad = st.clone();
        bad.params[0].as_mut().unwrap().buffers[0].shape = vec![3];
        let err = fresh.load_state(&bad).unwrap_err();
        assert!(err.to_string().contains("has shape [3]"), "{err}");
        let mut bad = st.clone();
        bad.optimizer = "Adam".into();
        assert!(fresh.load_state(&bad).is_err());
        let mut bad = st.clone();
        bad.groups[0].options[0].1 = Hyper::Float(-1.0);
        let err = fresh.load_state(&bad).unwrap_err();
        assert!(
            err.to_string().contains("Invalid learning rate: -1.0"),
            "{err}"
        );
        let mut bad = st.clone();
        bad.groups[0]
            .options
            .push(("betas".into(), Hyper::Float(0.9)));
        let err = fresh.load_state(&bad).unwrap_err().to_string();
        assert!(
            err.contains("unknown hyper-parameter `betas`") && err.contains("\"nesterov\""),
            "{err}"
        );
        let mut bad = st;
        bad.groups.push(bad.groups[0].clone());
        assert!(fresh.load_state(&bad).is_err());
        assert_eq!(fresh.lr(), 0.05); // failed loads change nothing
    }
}
