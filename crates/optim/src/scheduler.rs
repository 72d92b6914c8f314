//! Learning-rate schedulers (`torch.optim.lr_scheduler`): `StepLR`, `MultiStepLR`,
//! `ExponentialLR`, `CosineAnnealingLR`, `LinearLR` and `ReduceLROnPlateau`.
//!
//! Every scheduler implements [`LrScheduler`] and is stepped the same way, once per epoch
//! *after* `optimizer.step()`: `scheduler.step(&mut optimizer, metric)?`, where `metric` is the
//! epoch's monitored value (`Some(val_loss)`), which only [`ReduceLROnPlateau`] reads (PyTorch's
//! `scheduler.step(metrics)`) and the epoch-based ones ignore (`None` is fine for them: PyTorch's
//! `scheduler.step()`). Every constructor takes `&mut optimizer` first and returns a `Result`.
//!
//! As in PyTorch, building an epoch-based scheduler records each group's `initial_lr` (its base
//! lr) and takes the first step (epoch 0). The update is PyTorch's chainable (recursive) form,
//! so the learning rates equal PyTorch's to the last bit and several schedulers can act on one
//! optimizer; [`LrScheduler::closed_form_lrs`] gives the closed form.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use antorcha_tensor::Float;

use crate::error::{OptimError, Result};
use crate::optimizer::Optimizer;

/// A learning-rate scheduler (`torch.optim.lr_scheduler.LRScheduler`), stepped once per epoch
/// with the epoch's monitored metric, which only metric-driven schedulers
/// ([`ReduceLROnPlateau`], see [`needs_metric`](LrScheduler::needs_metric)) read.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_optim::{LrScheduler, Optimizer, PlateauOptions, ReduceLROnPlateau, StepLR, SGD};
/// let p = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
/// let mut opt = SGD::new(vec![p], 0.1).unwrap();
/// let mut sched = StepLR::new(&mut opt, 2, 0.5).unwrap();
/// let mut lrs = vec![];
/// for _epoch in 0..5 {
///     lrs.push(opt.lr());
///     opt.step().unwrap();
///     sched.step(&mut opt, None).unwrap(); // scheduler.step()
/// }
/// assert_eq!(lrs, vec![0.1, 0.1, 0.05, 0.05, 0.025]);
/// assert_eq!(sched.closed_form_lrs(4), Some(vec![0.025]));
///
/// // The same loop over any scheduler: pass the validation loss, whoever needs it reads it.
/// fn train<S: LrScheduler>(opt: &mut SGD, sched: &mut S, val_losses: &[f64]) {
///     for &loss in val_losses {
///         opt.step().unwrap();
///         sched.step(opt, Some(loss)).unwrap();
///     }
/// }
/// let mut plateau = ReduceLROnPlateau::new(&mut opt, PlateauOptions::default().patience(0)).unwrap();
/// train(&mut opt, &mut plateau, &[1.0, 1.0]);
/// assert!((opt.lr() - 0.0025).abs() < 1e-12);
/// ```
pub trait LrScheduler {
    /// Advances one epoch and writes the new learning rates into the optimizer's groups:
    /// `scheduler.step()` for the epoch-based schedulers (which ignore `metric`),
    /// `scheduler.step(metrics)` for [`ReduceLROnPlateau`].
    ///
    /// # Errors
    /// A metric-driven scheduler given no metric; [`ReduceLROnPlateau`]'s per-group `min_lrs`
    /// when the optimizer has gained groups since.
    fn step<T: Float, O: Optimizer<T> + ?Sized>(
        &mut self,
        optimizer: &mut O,
        metric: Option<f64>,
    ) -> Result<()>;

    /// Whether [`step`](LrScheduler::step) needs a metric (only [`ReduceLROnPlateau`]).
    fn needs_metric(&self) -> bool {
        false
    }

    /// The epoch reached (`last_epoch`): 0 right after construction.
    fn last_epoch(&self) -> i64;

    /// The learning rates set by the last step (`get_last_lr()`).
    fn last_lr(&self) -> &[f64];

    /// Each group's `initial_lr` when the scheduler was built (`base_lrs`);
    /// [`ReduceLROnPlateau`], which has no base lrs in PyTorch, gives the lrs it started from.
    fn base_lrs(&self) -> &[f64];

    /// The learning rates the closed form gives at `epoch`, for each group with a base lr;
    /// `None` for a metric-driven scheduler, whose lrs depend on the metrics.
    fn closed_form_lrs(&self, epoch: i64) -> Option<Vec<f64>>;
}

/// What every epoch-based scheduler keeps.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    base_lrs: Vec<f64>,
    last_epoch: i64,
    last_lr: Vec<f64>,
}

impl Progress {
    /// Records `initial_lr` in each group that has none (PyTorch's `setdefault`) and reads the
    /// base lrs from them.
    fn attach<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &mut O) -> Self {
        let base_lrs = (0..optimizer.num_param_groups())
            .map(|g| match optimizer.group_initial_lr(g) {
                Some(lr) => lr,
                None => {
                    let lr = optimizer.group_lr(g);
                    optimizer.set_group_initial_lr(g, Some(lr));
                    lr
                }
            })
            .collect();
        Progress {
            base_lrs,
            last_epoch: -1,
            last_lr: Vec::new(),
        }
    }

    /// Moves to the next epoch and writes the lrs computed for it (`None`: group unchanged).
    fn commit<T: Float, O: Optimizer<T> + ?Sized>(
        &mut self,
        optimizer: &mut O,
        lrs: Vec<Option<f64>>,
    ) {
        self.last_epoch += 1;
        for (g, lr) in lrs.into_iter().enumerate() {
            if let Some(lr) = lr {
                optimizer.set_group_lr(g, lr);
            }
        }
        self.last_lr = optimizer.lrs();
    }
}

fn scheduler_error(scheduler: &'static str, message: impl Into<String>) -> OptimError {
    OptimError::Scheduler {
        scheduler,
        message: message.into(),
    }
}

macro_rules! impl_scheduler {
    ($ty:ident) => {
        impl LrScheduler for $ty {
            fn step<T: Float, O: Optimizer<T> + ?Sized>(
                &mut self,
                optimizer: &mut O,
                _metric: Option<f64>,
            ) -> Result<()> {
                let lrs = self.next_lrs(optimizer, false);
                self.progress.commit(optimizer, lrs);
                Ok(())
            }

            fn closed_form_lrs(&self, epoch: i64) -> Option<Vec<f64>> {
                Some(self.closed_form(epoch))
            }

            fn last_epoch(&self) -> i64 {
                self.progress.last_epoch
            }

            fn last_lr(&self) -> &[f64] {
                &self.progress.last_lr
            }

            fn base_lrs(&self) -> &[f64] {
                &self.progress.base_lrs
            }
        }

        impl $ty {
            /// Each group's lr for the next epoch (`get_lr()`), `None` where it stays.
            fn next_lrs<T: Float, O: Optimizer<T> + ?Sized>(
                &self,
                optimizer: &O,
                initial: bool,
            ) -> Vec<Option<f64>> {
                let epoch = self.progress.last_epoch + 1;
                (0..optimizer.num_param_groups())
                    .map(|g| {
                        let base = self.progress.base_lrs.get(g).copied();
                        self.rule(optimizer.group_lr(g), base, epoch, initial)
                    })
                    .collect()
            }

            /// Takes PyTorch's initial step (epoch 0) after attaching.
            fn start<T: Float, O: Optimizer<T> + ?Sized>(mut self, optimizer: &mut O) -> Self {
                let lrs = self.next_lrs(optimizer, true);
                self.progress.commit(optimizer, lrs);
                self
            }
        }
    };
}

/// Multiplies the lr by `gamma` every `step_size` epochs (`lr_scheduler.StepLR`):
/// `lr(e) = base · gamma^(e / step_size)`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepLR {
    step_size: u64,
    gamma: f64,
    progress: Progress,
}

impl StepLR {
    /// `StepLR(optimizer, step_size, gamma)` (PyTorch's default gamma is 0.1).
    ///
    /// # Errors
    /// A `step_size` of 0.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(
        optimizer: &mut O,
        step_size: u64,
        gamma: f64,
    ) -> Result<Self> {
        if step_size == 0 {
            return Err(scheduler_error("StepLR", "step_size must be at least 1"));
        }
        Ok(StepLR {
            step_size,
            gamma,
            progress: Progress::attach(optimizer),
        }
        .start(optimizer))
    }

    fn rule(&self, lr: f64, _base: Option<f64>, epoch: i64, _initial: bool) -> Option<f64> {
        if epoch == 0 || epoch % self.step_size as i64 != 0 {
            None
        } else {
            Some(lr * self.gamma)
        }
    }

    /// The closed form at `epoch`: `base · gamma^(epoch / step_size)` for each group.
    fn closed_form(&self, epoch: i64) -> Vec<f64> {
        let k = epoch.div_euclid(self.step_size as i64);
        self.progress
            .base_lrs
            .iter()
            .map(|b| b * self.gamma.powf(k as f64))
            .collect()
    }
}

impl_scheduler!(StepLR);

/// Multiplies the lr by `gamma` at each milestone epoch (`lr_scheduler.MultiStepLR`); a
/// milestone listed twice multiplies twice.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStepLR {
    milestones: BTreeMap<i64, u32>,
    gamma: f64,
    progress: Progress,
}

impl MultiStepLR {
    /// `MultiStepLR(optimizer, milestones, gamma)`.
    ///
    /// # Errors
    /// None today; the `Result` keeps the constructors uniform.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(
        optimizer: &mut O,
        milestones: &[i64],
        gamma: f64,
    ) -> Result<Self> {
        let mut counts = BTreeMap::new();
        for &m in milestones {
            *counts.entry(m).or_insert(0u32) += 1;
        }
        Ok(MultiStepLR {
            milestones: counts,
            gamma,
            progress: Progress::attach(optimizer),
        }
        .start(optimizer))
    }

    fn rule(&self, lr: f64, _base: Option<f64>, epoch: i64, _initial: bool) -> Option<f64> {
        self.milestones
            .get(&epoch)
            .map(|&n| lr * self.gamma.powf(n as f64))
    }

    /// The closed form at `epoch`: `base · gamma^(milestones passed)`.
    fn closed_form(&self, epoch: i64) -> Vec<f64> {
        let passed: u32 = self.milestones.range(..=epoch).map(|(_, &n)| n).sum();
        self.progress
            .base_lrs
            .iter()
            .map(|b| b * self.gamma.powf(passed as f64))
            .collect()
    }
}

impl_scheduler!(MultiStepLR);

/// Multiplies the lr by `gamma` every epoch (`lr_scheduler.ExponentialLR`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialLR {
    gamma: f64,
    progress: Progress,
}

impl ExponentialLR {
    /// `ExponentialLR(optimizer, gamma)`.
    ///
    /// # Errors
    /// None today; the `Result` keeps the constructors uniform.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &mut O, gamma: f64) -> Result<Self> {
        Ok(ExponentialLR {
            gamma,
            progress: Progress::attach(optimizer),
        }
        .start(optimizer))
    }

    fn rule(&self, lr: f64, _base: Option<f64>, _epoch: i64, initial: bool) -> Option<f64> {
        if initial {
            None
        } else {
            Some(lr * self.gamma)
        }
    }

    /// The closed form at `epoch`: `base · gamma^epoch`.
    fn closed_form(&self, epoch: i64) -> Vec<f64> {
        self.progress
            .base_lrs
            .iter()
            .map(|b| b * self.gamma.powf(epoch as f64))
            .collect()
    }
}

impl_scheduler!(ExponentialLR);

/// Cosine annealing from the base lr down to `eta_min` over `t_max` epochs
/// (`lr_scheduler.CosineAnnealingLR`), in PyTorch's recursive form: without restarts, the lr
/// rises again after `t_max` and is back at the base lr at `2 t_max`.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_optim::{CosineAnnealingLR, LrScheduler, Optimizer, SGD};
/// let mut opt = SGD::new(vec![Var::<f64>::zeros(&[1]).requires_grad()], 1.0).unwrap();
/// let mut sched = CosineAnnealingLR::new(&mut opt, 2, 0.0).unwrap();
/// sched.step(&mut opt, None).unwrap();
/// assert!((opt.lr() - 0.5).abs() < 1e-15);
/// sched.step(&mut opt, None).unwrap();
/// assert!(opt.lr().abs() < 1e-15);
/// sched.step(&mut opt, None).unwrap();
/// assert!((opt.lr() - 0.5).abs() < 1e-15);   // rising after t_max
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CosineAnnealingLR {
    t_max: u64,
    eta_min: f64,
    progress: Progress,
}

impl CosineAnnealingLR {
    /// `CosineAnnealingLR(optimizer, T_max, eta_min)` (PyTorch's default `eta_min` is 0).
    ///
    /// # Errors
    /// A `t_max` of 0.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(
        optimizer: &mut O,
        t_max: u64,
        eta_min: f64,
    ) -> Result<Self> {
        if t_max == 0 {
            return Err(scheduler_error(
                "CosineAnnealingLR",
                "T_max must be at least 1",
            ));
        }
        Ok(CosineAnnealingLR {
            t_max,
            eta_min,
            progress: Progress::attach(optimizer),
        }
        .start(optimizer))
    }

    fn rule(&self, lr: f64, base: Option<f64>, epoch: i64, initial: bool) -> Option<f64> {
        let t_max = self.t_max as i64;
        let t = self.t_max as f64;
        let eta_min = self.eta_min;
        if initial {
            None
        } else if (epoch - 1 - t_max).rem_euclid(2 * t_max) == 0 {
            // PyTorch zips these two branches with base_lrs: groups added later keep their lr.
            base.map(|base| lr + (base - eta_min) * (1.0 - (PI / t).cos()) / 2.0)
        } else {
            base?;
            Some(
                (1.0 + (PI * epoch as f64 / t).cos()) / (1.0 + (PI * (epoch - 1) as f64 / t).cos())
                    * (lr - eta_min)
                    + eta_min,
            )
        }
    }

    /// The closed form at `epoch`: `eta_min + (base - eta_min)(1 + cos(π epoch / t_max)) / 2`.
    fn closed_form(&self, epoch: i64) -> Vec<f64> {
        let t = self.t_max as f64;
        self.progress
            .base_lrs
            .iter()
            .map(|b| {
                self.eta_min + (b - self.eta_min) * (1.0 + (PI * epoch as f64 / t).cos()) / 2.0
            })
            .collect()
    }
}

impl_scheduler!(CosineAnnealingLR);

/// Scales the lr linearly from `start_factor · base` to `end_factor · base` over
/// `total_iters` epochs, then keeps it (`lr_scheduler.LinearLR`; a warm-up with
/// `end_factor = 1`).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearLR {
    start_factor: f64,
    end_factor: f64,
    total_iters: u64,
    progress: Progress,
}

impl LinearLR {
    /// `LinearLR(optimizer, start_factor, end_factor, total_iters)` (PyTorch's defaults are
    /// `1/3`, `1.0`, `5`). Sets the lr to `start_factor · lr` at once.
    ///
    /// # Errors
    /// `start_factor` outside `(0, 1]`, `end_factor` outside `[0, 1]`, `total_iters` of 0.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(
        optimizer: &mut O,
        start_factor: f64,
        end_factor: f64,
        total_iters: u64,
    ) -> Result<Self> {
        if !(start_factor > 0.0 && start_factor <= 1.0) {
            return Err(scheduler_error(
                "LinearLR",
                format!("Starting multiplicative factor expected to be greater than 0 and less or equal to 1 (got {start_factor:?})."),
            ));
        }
        if !(0.0..=1.0).contains(&end_factor) {
            return Err(scheduler_error(
                "LinearLR",
                format!("Ending multiplicative factor expected to be between 0 and 1 (got {end_factor:?})."),
            ));
        }
        if total_iters == 0 {
            return Err(scheduler_error(
                "LinearLR",
                "total_iters must be at least 1",
            ));
        }
        Ok(LinearLR {
            start_factor,
            end_factor,
            total_iters,
            progress: Progress::attach(optimizer),
        }
        .start(optimizer))
    }

    fn rule(&self, lr: f64, _base: Option<f64>, epoch: i64, initial: bool) -> Option<f64> {
        let total = self.total_iters as i64;
        let (s, e) = (self.start_factor, self.end_factor);
        if epoch == 0 {
            Some(lr * s)
        } else if initial || epoch > total {
            None
        } else {
            Some(lr * (1.0 + (e - s) / (total as f64 * s + (epoch - 1) as f64 * (e - s))))
        }
    }

    /// The closed form at `epoch`:
    /// `base · (start + (end - start) · min(total_iters, epoch) / total_iters)`.
    fn closed_form(&self, epoch: i64) -> Vec<f64> {
        let total = self.total_iters as f64;
        let done = (self.total_iters as i64).min(epoch) as f64;
        self.progress
            .base_lrs
            .iter()
            .map(|b| b * (self.start_factor + (self.end_factor - self.start_factor) * done / total))
            .collect()
    }
}

impl_scheduler!(LinearLR);

/// Whether a smaller or a larger metric is better (`mode` of `ReduceLROnPlateau`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (a loss); PyTorch's `"min"`.
    Min,
    /// Higher is better (an accuracy); PyTorch's `"max"`.
    Max,
}

/// How the improvement threshold is measured (`threshold_mode` of `ReduceLROnPlateau`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Relative: better than `best · (1 ∓ threshold)`; PyTorch's `"rel"`.
    Rel,
    /// Absolute: better than `best ∓ threshold`; PyTorch's `"abs"`.
    Abs,
}

/// The options of [`ReduceLROnPlateau`], with PyTorch's defaults (`mode = Min`,
/// `factor = 0.1`, `patience = 10`, `threshold = 1e-4`, `Rel`, no cooldown, `min_lr = 0`,
/// `eps = 1e-8`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlateauOptions {
    /// Whether lower or higher metrics are better.
    pub mode: PlateauMode,
    /// `new_lr = lr · factor`; must be below 1.
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing.
    pub patience: u64,
    /// Minimal change that counts as an improvement.
    pub threshold: f64,
    /// Relative or absolute threshold.
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting bad epochs again.
    pub cooldown: u64,
    /// Lower bound of every group's lr.
    pub min_lr: f64,
    /// A lower bound per group, overriding `min_lr` (must have one entry per group).
    pub min_lrs: Option<Vec<f64>>,
    /// Reductions smaller than this are skipped.
    pub eps: f64,
}

impl Default for PlateauOptions {
    fn default() -> Self {
        PlateauOptions {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            min_lrs: None,
            eps: 1e-8,
        }
    }
}

impl PlateauOptions {
    /// Sets the mode.
    pub fn mode(mut self, mode: PlateauMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the reduction factor.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Sets the patience.
    pub fn patience(mut self, patience: u64) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the threshold.
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Sets the threshold mode.
    pub fn threshold_mode(mut self, threshold_mode: ThresholdMode) -> Self {
        self.threshold_mode = threshold_mode;
        self
    }

    /// Sets the cooldown.
    pub fn cooldown(mut self, cooldown: u64) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Sets one lower bound for every group.
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self.min_lrs = None;
        self
    }

    /// Sets a lower bound per group.
    pub fn min_lrs(mut self, min_lrs: Vec<f64>) -> Self {
        self.min_lrs = Some(min_lrs);
        self
    }

    /// Sets the minimal reduction.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
}

/// Reduces the lr by `factor` when a metric has stopped improving for `patience` epochs
/// (`lr_scheduler.ReduceLROnPlateau`); step it with the metric after each validation.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_optim::{LrScheduler, Optimizer, PlateauOptions, ReduceLROnPlateau, SGD};
/// let mut opt = SGD::new(vec![Var::<f32>::zeros(&[1]).requires_grad()], 0.1).unwrap();
/// let opts = PlateauOptions::default().factor(0.5).patience(1);
/// let mut sched = ReduceLROnPlateau::new(&mut opt, opts).unwrap();
/// for loss in [1.0, 0.5, 0.5, 0.5] {
///     sched.step(&mut opt, Some(loss)).unwrap(); // scheduler.step(loss)
/// }
/// assert!(sched.step(&mut opt, None).is_err()); // it needs the metric
/// assert_eq!(opt.lr(), 0.05); // two epochs without improvement > patience 1
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceLROnPlateau {
    options: PlateauOptions,
    min_lrs: Vec<f64>,
    best: f64,
    num_bad_epochs: u64,
    cooldown_counter: u64,
    last_epoch: i64,
    last_lr: Vec<f64>,
    start_lrs: Vec<f64>,
}

impl ReduceLROnPlateau {
    /// `ReduceLROnPlateau(optimizer, mode, factor, patience, threshold, threshold_mode,
    /// cooldown, min_lr, eps)`.
    ///
    /// # Errors
    /// `factor >= 1`, or `min_lrs` whose length is not the number of groups.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(
        optimizer: &mut O,
        options: PlateauOptions,
    ) -> Result<Self> {
        if options.factor.is_nan() || options.factor >= 1.0 {
            return Err(scheduler_error(
                "ReduceLROnPlateau",
                format!("Factor should be < 1.0 (got {:?}).", options.factor),
            ));
        }
        let groups = optimizer.num_param_groups();
        let min_lrs = match &options.min_lrs {
            Some(v) if v.len() != groups => {
                return Err(scheduler_error(
                    "ReduceLROnPlateau",
                    format!("expected {groups} min_lrs, got {}", v.len()),
                ))
            }
            Some(v) => v.clone(),
            None => vec![options.min_lr; groups],
        };
        let best = match options.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        Ok(ReduceLROnPlateau {
            options,
            min_lrs,
            best,
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
            last_lr: optimizer.lrs(),
            start_lrs: optimizer.lrs(),
        })
    }

    fn is_better(&self, a: f64, best: f64) -> bool {
        let t = self.options.threshold;
        match (self.options.mode, self.options.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + t,
        }
    }

    fn reduce_lr<T: Float, O: Optimizer<T> + ?Sized>(&mut self, optimizer: &mut O) -> Result<()> {
        let groups = optimizer.num_param_groups();
        if groups != self.min_lrs.len() {
            if self.options.min_lrs.is_some() {
                return Err(scheduler_error(
                    "ReduceLROnPlateau",
                    format!(
                        "The number of param groups in the optimizer ({groups}) differs from when ReduceLROnPlateau was initialized ({}), usually due to a new param group being added to the optimizer; give as many min_lrs as groups",
                        self.min_lrs.len()
                    ),
                ));
            }
            self.min_lrs = vec![self.options.min_lr; groups];
        }
        for (g, &min_lr) in self.min_lrs.iter().enumerate() {
            let old = optimizer.group_lr(g);
            let new = (old * self.options.factor).max(min_lr);
            if old - new > self.options.eps {
                optimizer.set_group_lr(g, new);
            }
        }
        Ok(())
    }

    /// The best metric seen so far.
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Epochs since the last improvement (reset by a reduction and during cooldown).
    pub fn num_bad_epochs(&self) -> u64 {
        self.num_bad_epochs
    }
}

impl LrScheduler for ReduceLROnPlateau {
    /// Records one epoch's metric and reduces the lr of every group if it has not improved for
    /// more than `patience` epochs (`scheduler.step(metrics)`).
    ///
    /// # Errors
    /// No metric; per-group `min_lrs` were given and the optimizer has gained groups since.
    fn step<T: Float, O: Optimizer<T> + ?Sized>(
        &mut self,
        optimizer: &mut O,
        metric: Option<f64>,
    ) -> Result<()> {
        let Some(metric) = metric else {
            return Err(scheduler_error(
                "ReduceLROnPlateau",
                "step needs the epoch's metric: scheduler.step(&mut optimizer, Some(val_loss))",
            ));
        };
        self.last_epoch += 1;
        if self.is_better(metric, self.best) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0; // bad epochs in cooldown do not count
        }
        if self.num_bad_epochs > self.options.patience {
            self.reduce_lr(optimizer)?;
            self.cooldown_counter = self.options.cooldown;
            self.num_bad_epochs = 0;
        }
        self.last_lr = optimizer.lrs();
        Ok(())
    }

    fn needs_metric(&self) -> bool {
        true
    }

    /// Epochs stepped so far.
    fn last_epoch(&self) -> i64 {
        self.last_epoch
    }

    fn last_lr(&self) -> &[f64] {
        &self.last_lr
    }

    fn base_lrs(&self) -> &[f64] {
        &self.start_lrs
    }

    fn closed_form_lrs(&self, _epoch: i64) -> Option<Vec<f64>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SgdOptions, SGD};
    use antorcha_autograd::Var;

    fn sgd(lr: f64) -> SGD<f64> {
        SGD::new(vec![Var::zeros(&[1]).requires_grad()], lr).unwrap()
    }

    fn run<S: LrScheduler>(opt: &mut SGD<f64>, sched: &mut S, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let lr = opt.lr();
                sched.step(opt, None).unwrap();
                lr
            })
            .collect()
    }

    #[test]
    fn multistep_with_repeated_milestone_and_closed_form() {
        let mut opt = sgd(1.0);
        let mut s = MultiStepLR::new(&mut opt, &[2, 4, 4], 0.5).unwrap();
        assert_eq!(
            run(&mut opt, &mut s, 6),
            vec![1.0, 1.0, 0.5, 0.5, 0.125, 0.125]
        );
        assert_eq!(s.closed_form_lrs(4), Some(vec![0.125]));
        assert_eq!(s.closed_form_lrs(3), Some(vec![0.5]));
        assert_eq!(s.last_epoch(), 6);
        assert_eq!(s.base_lrs(), &[1.0]);
        assert_eq!(s.last_lr(), &[0.125]);
    }

    #[test]
    fn second_scheduler_uses_initial_lr_and_both_chain() {
        let mut opt = sgd(1.0);
        let mut warm = LinearLR::new(&mut opt, 0.5, 1.0, 2).unwrap();
        assert_eq!(opt.lr(), 0.5);
        let mut decay = ExponentialLR::new(&mut opt, 0.5).unwrap();
        assert_eq!(decay.base_lrs(), &[1.0]); // initial_lr, not the warmed-up 0.5
        assert_eq!(opt.group_initial_lr(0), Some(1.0));
        let mut lrs = vec![];
        for _ in 0..3 {
            lrs.push(opt.lr());
            warm.step(&mut opt, None).unwrap();
            decay.step(&mut opt, None).unwrap();
        }
        // epoch 1: 0.5 · (1 + 0.5/1) = 0.75, · 0.5; epoch 2: · (1 + 0.5/1.5) · 0.5
        assert_eq!(lrs, vec![0.5, 0.375, 0.375 * (1.0 + 0.5 / 1.5) * 0.5]);
    }

    #[test]
    fn groups_added_later() {
        let mut opt = sgd(1.0);
        let mut s = CosineAnnealingLR::new(&mut opt, 4, 0.0).unwrap();
        opt.add_param_group(vec![Var::zeros(&[1]).requires_grad()], SgdOptions::new(0.3))
            .unwrap();
        s.step(&mut opt, None).unwrap();
        assert_eq!(opt.group_lr(1), 0.3); // no base lr: left alone, as PyTorch's zip does
        let mut e = StepLR::new(&mut opt, 1, 0.5).unwrap();
        e.step(&mut opt, None).unwrap();
        assert_eq!(opt.group_lr(1), 0.15);
        assert_eq!(e.base_lrs(), &[1.0, 0.3]);
    }

    #[test]
    fn constructor_errors() {
        let mut opt = sgd(0.1);
        assert!(StepLR::new(&mut opt, 0, 0.5).is_err());
        assert!(CosineAnnealingLR::new(&mut opt, 0, 0.0).is_err());
        let e = LinearLR::new(&mut opt, 0.0, 1.0, 5).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("LinearLR: Starting multiplicative factor"),
            "{e}"
        );
        assert!(LinearLR::new(&mut opt, 0.5, 1.5, 5).is_err());
        assert!(LinearLR::new(&mut opt, 0.5, 1.0, 0).is_err());
        let e =
            ReduceLROnPlateau::new(&mut opt, PlateauOptions::default().factor(1.0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ReduceLROnPlateau: Factor should be < 1.0 (got 1.0)."
        );
        let e = ReduceLROnPlateau::new(&mut opt, PlateauOptions::default().min_lrs(vec![0.0, 0.0]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ReduceLROnPlateau: expected 1 min_lrs, got 2"
        );
        assert_eq!(opt.lr(), 0.1); // failed constructions do not touch the lr
    }

    #[test]
    fn plateau_max_abs_cooldown_min_lr_eps() {
        let mut opt = sgd(1.0);
        let o = PlateauOptions::default()
            .mode(PlateauMode::Max)
            .threshold_mode(ThresholdMode::Abs)
            .threshold(0.1)
            .factor(0.5)
            .patience(0)
            .cooldown(1)
            .min_lr(0.3);
        let mut s = ReduceLROnPlateau::new(&mut opt, o).unwrap();
        let mut lrs = vec![];
        // 1.0 best; 1.05 not better by 0.1 → bad 1 > 0 → 0.5, cooldown 1;
        // 1.0 bad but in cooldown (counter 1 → 0, bad reset); 0.9 bad → 0.3 (min_lr);
        // 0.9 in cooldown; 0.9 bad → max(0.15, 0.3) = 0.3, no change; 2.0 better.
        for m in [1.0, 1.05, 1.0, 0.9, 0.9, 0.9, 2.0] {
            s.step(&mut opt, Some(m)).unwrap();
            lrs.push(opt.lr());
        }
        assert_eq!(lrs, vec![1.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]);
        assert_eq!(s.best(), 2.0);
        assert_eq!(s.last_epoch(), 7);
        assert_eq!(s.num_bad_epochs(), 0);

        // eps: a reduction smaller than eps is skipped
        let mut opt = sgd(1e-9);
        let mut s =
            ReduceLROnPlateau::new(&mut opt, PlateauOptions::default().patience(0).factor(0.5))
                .unwrap();
        s.step(&mut opt, Some(1.0)).unwrap();
        s.step(&mut opt, Some(1.0)).unwrap();
        assert_eq!(opt.lr(), 1e-9);
        assert_eq!(s.last_lr(), &[1e-9]);
    }

    #[test]
    fn plateau_per_group_min_lrs_and_new_groups() {
        let mut opt = sgd(1.0);
        let o = PlateauOptions::default().patience(0).min_lrs(vec![0.0]);
        let mut s = ReduceLROnPlateau::new(&mut opt, o).unwrap();
        opt.add_param_group(vec![Var::zeros(&[1]).requires_grad()], SgdOptions::new(1.0))
            .unwrap();
        s.step(&mut opt, Some(1.0)).unwrap();
        assert!(s.step(&mut opt, Some(1.0)).is_err());
        // a single min_lr follows new groups
        let mut opt = sgd(1.0);
        let mut s =
            ReduceLROnPlateau::new(&mut opt, PlateauOptions::default().patience(0)).unwrap();
        opt.add_param_group(vec![Var::zeros(&[1]).requires_grad()], SgdOptions::new(1.0))
            .unwrap();
        s.step(&mut opt, Some(1.0)).unwrap();
        s.step(&mut opt, Some(1.0)).unwrap();
        assert_eq!(opt.lrs(), vec![0.1, 0.1]);
    }
}
