//! The `Optimizer` trait, parameter groups, the exportable optimizer state, and the machinery
//! every optimizer shares (validation, skipping parameters without a gradient, updating under
//! `no_grad`).

use std::collections::HashSet;
use std::fmt::Debug;

use antorcha_autograd::{no_grad, Var};
use antorcha_tensor::{Float, StepParam, Tensor};

use crate::error::{OptimError, Result};

/// What every optimizer does, like `torch.optim.Optimizer`: update its parameters from their
/// gradients (`step`), clear the gradients (`zero_grad`), expose the learning rate of each
/// parameter group (schedulers change it), and export / restore its state so that training can
/// resume exactly.
///
/// The trait is object safe (`Box<dyn Optimizer<f64>>` works). Each optimizer also has an
/// inherent `add_param_group(params, options)` taking its own options type
/// ([`SgdOptions`](crate::SgdOptions), [`AdamOptions`](crate::AdamOptions), …).
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_optim::{Optimizer, SGD};
/// let w = Var::from_vec(vec![1.0f64, -2.0], &[2]).requires_grad();
/// let mut opt: Box<dyn Optimizer<f64>> = Box::new(SGD::new(vec![w.clone()], 0.5).unwrap());
/// (&w * &w).sum().backward().unwrap();      // grad = 2w
/// opt.step().unwrap();                        // w -= 0.5 * 2w
/// assert_eq!(w.to_vec(), vec![0.0, 0.0]);
/// opt.zero_grad();
/// assert!(w.grad().is_none());
/// ```
pub trait Optimizer<T: Float = f32> {
    /// PyTorch's class name of the algorithm (`"SGD"`, `"Adam"`, `"AdamW"`, …).
    fn name(&self) -> &'static str;

    /// One update of every parameter that has a gradient (`optimizer.step()`). Runs under
    /// `no_grad`, so it records nothing and is allowed on leaves that require grad; parameters
    /// whose gradient is `None` are skipped and keep their state.
    ///
    /// # Errors
    /// [`OptimError::GradShape`] if a gradient's shape is not its parameter's (nothing is
    /// changed for that parameter and the ones after it).
    fn step(&mut self) -> Result<()>;

    /// Sets every parameter's gradient to `None` (`optimizer.zero_grad()`, PyTorch 2's default
    /// `set_to_none=True`).
    fn zero_grad(&self) {
        self.zero_grad_with(true);
    }

    /// `optimizer.zero_grad(set_to_none)`: `true` drops the gradients, `false` fills the existing
    /// ones with zeros in place (keeping their memory).
    fn zero_grad_with(&self, set_to_none: bool) {
        for g in 0..self.num_param_groups() {
            for p in self.group_params(g) {
                if set_to_none {
                    p.zero_grad();
                } else {
                    p.fill_grad_zero();
                }
            }
        }
    }

    /// How many parameter groups there are (`len(optimizer.param_groups)`).
    fn num_param_groups(&self) -> usize;

    /// The parameters of group `group`.
    ///
    /// # Panics
    /// If `group >= num_param_groups()`.
    fn group_params(&self, group: usize) -> &[Var<T>];

    /// The learning rate of group `group` (`optimizer.param_groups[group]["lr"]`).
    ///
    /// # Panics
    /// If `group >= num_param_groups()`.
    fn group_lr(&self, group: usize) -> f64;

    /// Sets the learning rate of group `group`, as a scheduler does. Not validated, as in
    /// PyTorch (assigning `param_groups[i]["lr"]`).
    ///
    /// # Panics
    /// If `group >= num_param_groups()`.
    fn set_group_lr(&mut self, group: usize, lr: f64);

    /// The learning rate group `group` had when the first scheduler was attached
    /// (`param_groups[group]["initial_lr"]`); `None` before that.
    ///
    /// # Panics
    /// If `group >= num_param_groups()`.
    fn group_initial_lr(&self, group: usize) -> Option<f64>;

    /// Sets (or clears) `initial_lr` of group `group`; schedulers use it as their base lr.
    ///
    /// # Panics
    /// If `group >= num_param_groups()`.
    fn set_group_initial_lr(&mut self, group: usize, lr: Option<f64>);

    /// The learning rate of the first group.
    fn lr(&self) -> f64 {
        self.group_lr(0)
    }

    /// Sets the learning rate of every group.
    fn set_lr(&mut self, lr: f64) {
        for g in 0..self.num_param_groups() {
            self.set_group_lr(g, lr);
        }
    }

    /// The learning rate of every group, in order.
    fn lrs(&self) -> Vec<f64> {
        (0..self.num_param_groups())
            .map(|g| self.group_lr(g))
            .collect()
    }

    /// Every parameter, group after group (handles: they share value and gradient).
    fn params(&self) -> Vec<Var<T>> {
        (0..self.num_param_groups())
            .flat_map(|g| self.group_params(g).iter().cloned())
            .collect()
    }

    /// A copy of the optimizer's state (`optimizer.state_dict()`): each group's
    /// hyper-parameters and each parameter's buffers and step count, as plain data.
    fn state(&self) -> OptimizerState;

    /// Restores a state from [`state`](Optimizer::state) (`optimizer.load_state_dict`): the
    /// groups' hyper-parameters (learning rates included) and every parameter's buffers, so
    /// that training continues exactly as it would have.
    ///
    /// # Errors
    /// [`OptimError::State`] if the state is from another algorithm, has other group sizes,
    /// buffers of other shapes, or invalid hyper-parameters; the optimizer is then unchanged.
    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
}

/// A hyper-parameter value in an exported state.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Hyper {
    /// A number (`lr`, `momentum`, `eps`, …).
    Float(f64),
    /// A switch (`nesterov`, `maximize`, `amsgrad`, `centered`, …).
    Bool(bool),
    /// A pair of numbers (Adam's `betas`, a Python tuple in PyTorch).
    Pair(f64, f64),
}

/// One saved buffer of one parameter (`exp_avg`, `momentum_buffer`, …), widened to `f64`
/// (exact for `f32` and `f64`), in row-major order.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StateBuffer {
    /// PyTorch's key for the buffer (`"exp_avg"`, `"momentum_buffer"`, `"sum"`, …).
    pub name: String,
    /// The buffer's shape (its parameter's shape).
    pub shape: Vec<usize>,
    /// The elements in row-major order.
    pub data: Vec<f64>,
}

/// The saved state of one parameter (`optimizer.state[p]`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ParamState {
    /// How many steps updated this parameter (`state["step"]`); `0` for SGD, which counts none.
    pub step: u64,
    /// The parameter's buffers.
    pub buffers: Vec<StateBuffer>,
}

/// The saved form of one parameter group (`optimizer.state_dict()["param_groups"][i]`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupState {
    /// Every hyper-parameter of the group by PyTorch's name (`lr`, `momentum`, Adam's `betas`
    /// as one [`Hyper::Pair`], …).
    pub options: Vec<(String, Hyper)>,
    /// The group's `initial_lr`, set by the first scheduler attached.
    pub initial_lr: Option<f64>,
    /// How many parameters the group holds.
    pub num_params: usize,
}

/// An optimizer's whole state as plain data (`optimizer.state_dict()`), to save and restore
/// with [`Optimizer::state`] and [`Optimizer::load_state`]. With the `serde` feature it is
/// `Serialize` + `Deserialize`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OptimizerState {
    /// The algorithm's name (`"SGD"`, `"Adam"`, …).
    pub optimizer: String,
    /// The parameter groups, in order.
    pub groups: Vec<GroupState>,
    /// One entry per parameter, group after group; `None` for a parameter with no state yet.
    pub params: Vec<Option<ParamState>>,
}

/// The hyper-parameters of one optimizer's parameter group ([`SgdOptions`](crate::SgdOptions),
/// [`AdamOptions`](crate::AdamOptions), …): validated, with a learning rate, and convertible to
/// and from the plain form of an [`OptimizerState`].
pub trait GroupOptions: Clone + Debug {
    /// The learning rate.
    fn lr(&self) -> f64;
    /// Replaces the learning rate.
    fn set_lr(&mut self, lr: f64);
    /// Checks every value, with PyTorch's messages (`Invalid learning rate: -0.1`).
    ///
    /// # Errors
    /// [`OptimError::InvalidHyperParameter`] (or [`OptimError::Nesterov`] for SGD).
    fn validate(&self) -> Result<()>;
    /// Every hyper-parameter by PyTorch's name.
    fn to_hyper(&self) -> Vec<(String, Hyper)>;
    /// Reads the hyper-parameters back from [`to_hyper`](GroupOptions::to_hyper)'s form.
    ///
    /// # Errors
    /// A message naming a missing, unknown or mistyped entry.
    fn from_hyper(values: &[(String, Hyper)]) -> std::result::Result<Self, String>;
}

/// Looks up a float hyper-parameter in an exported list.
pub(crate) fn hyper_f64(
    values: &[(String, Hyper)],
    name: &str,
) -> std::result::Result<f64, String> {
    match values.iter().find(|(n, _)| n == name) {
        Some((_, Hyper::Float(v))) => Ok(*v),
        Some(_) => Err(format!("hyper-parameter `{name}` should be a number")),
        None => Err(format!("hyper-parameter `{name}` is missing")),
    }
}

/// Looks up a boolean hyper-parameter in an exported list.
pub(crate) fn hyper_bool(
    values: &[(String, Hyper)],
    name: &str,
) -> std::result::Result<bool, String> {
    match values.iter().find(|(n, _)| n == name) {
        Some((_, Hyper::Bool(v))) => Ok(*v),
        Some(_) => Err(format!("hyper-parameter `{name}` should be a bool")),
        None => Err(format!("hyper-parameter `{name}` is missing")),
    }
}

/// Looks up a pair hyper-parameter (`betas`) in an exported list.
pub(crate) fn hyper_pair(
    values: &[(String, Hyper)],
    name: &str,
) -> std::result::Result<(f64, f64), String> {
    match values.iter().find(|(n, _)| n == name) {
        Some((_, Hyper::Pair(a, b))) => Ok((*a, *b)),
        Some(_) => Err(format!(
            "hyper-parameter `{name}` should be a pair of numbers"
        )),
        None => Err(format!("hyper-parameter `{name}` is missing")),
    }
}

/// Checks that an exported list holds only the names an options type knows: those its own
/// [`GroupOptions::to_hyper`] gives (any instance's list: the names do not depend on the values).
pub(crate) fn hyper_known(
    values: &[(String, Hyper)],
    known: &[(String, Hyper)],
) -> std::result::Result<(), String> {
    let known: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
    match values.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        Some((n, _)) => Err(format!(
            "unknown hyper-parameter `{n}` (expected {known:?})"
        )),
        None => Ok(()),
    }
}

/// A set of parameters sharing hyper-parameters (one of `optimizer.param_groups`).
#[derive(Debug, Clone)]
pub struct ParamGroup<T: Float, O> {
    pub(crate) params: Vec<Var<T>>,
    pub(crate) options: O,
    pub(crate) initial_lr: Option<f64>,
}

impl<T: Float, O> ParamGroup<T, O> {
    /// The group's parameters.
    pub fn params(&self) -> &[Var<T>] {
        &self.params
    }

    /// The group's hyper-parameters.
    pub fn options(&self) -> &O {
        &self.options
    }

    /// The lr this group had when the first scheduler was attached (`initial_lr`).
    pub fn initial_lr(&self) -> Option<f64> {
        self.initial_lr
    }
}

/// One optimization algorithm: its per-group options, its per-parameter state and its update.
pub(crate) trait Algorithm<T: Float> {
    /// The group options.
    type Options: GroupOptions;
    /// What it keeps per parameter.
    type State: Clone + Debug;

    /// Updates one parameter (in place, or into a spare buffer: see [`StepParam`]) from its
    /// gradient, of the parameter's shape, with one of the tensor crate's fused optimizer
    /// kernels, updating the state in place and creating it on the first call.
    fn update(
        options: &Self::Options,
        param: StepParam<'_, T>,
        grad: &Tensor<T>,
        state: &mut Option<Self::State>,
    );

    /// The state as plain data.
    fn export(state: &Self::State) -> ParamState;

    /// Reads a state back for a parameter of shape `shape`.
    fn import(state: &ParamState, shape: &[usize]) -> std::result::Result<Self::State, String>;
}

/// A buffer's plain form.
pub(crate) fn export_buffer<T: Float>(name: &str, a: &Tensor<T>) -> StateBuffer {
    StateBuffer {
        name: name.to_string(),
        shape: a.shape().to_vec(),
        data: a.row_major().iter().map(|x| x.as_f64()).collect(),
    }
}

/// Reads buffer `name` of a saved parameter state back, checking its shape against `shape`.
pub(crate) fn import_buffer<T: Float>(
    state: &ParamState,
    name: &str,
    shape: &[usize],
) -> std::result::Result<Tensor<T>, String> {
    let b = find_buffer(state, name).ok_or_else(|| format!("buffer `{name}` is missing"))?;
    import_found::<T>(b, shape)
}

/// Reads an optional buffer `name` back (`None` when absent).
pub(crate) fn import_optional<T: Float>(
    state: &ParamState,
    name: &str,
    shape: &[usize],
) -> std::result::Result<Option<Tensor<T>>, String> {
    find_buffer(state, name)
        .map(|b| import_found::<T>(b, shape))
        .transpose()
}

fn find_buffer<'a>(state: &'a ParamState, name: &str) -> Option<&'a StateBuffer> {
    state.buffers.iter().find(|b| b.name == name)
}

fn import_found<T: Float>(
    b: &StateBuffer,
    shape: &[usize],
) -> std::result::Result<Tensor<T>, String> {
    if b.shape != shape {
        return Err(format!(
            "buffer `{}` has shape {:?} but its parameter has shape {:?}",
            b.name, b.shape, shape
        ));
    }
    let n: usize = shape.iter().product();
    if b.data.len() != n {
        return Err(format!(
            "buffer `{}` of shape {:?} holds {} values instead of {}",
            b.name,
            b.shape,
            b.data.len(),
            n
        ));
    }
    let data = b.data.iter().map(|&x| T::cast(x)).collect();
    Tensor::try_from_vec(data, shape).map_err(|e| e.to_string())
}

/// Checks that a saved state holds no buffer other than `known`.
pub(crate) fn known_buffers(state: &ParamState, known: &[&str]) -> std::result::Result<(), String> {
    match state
        .buffers
        .iter()
        .find(|b| !known.contains(&b.name.as_str()))
    {
        Some(b) => Err(format!(
            "unknown buffer `{}` (expected {:?})",
            b.name, known
        )),
        None => Ok(()),
    }
}

/// The groups, the per-parameter states and the loop every optimizer shares.
#[derive(Debug, Clone)]
pub(crate) struct Core<T: Float, A: Algorithm<T>> {
    pub(crate) name: &'static str,
    pub(crate) groups: Vec<ParamGroup<T, A::Options>>,
    /// `state[g][i]` belongs to `groups[g].params[i]`.
    pub(crate) state: Vec<Vec<Option<A::State>>>,
    /// `spares[g][i]`: the buffer `groups[g].params[i]`'s next value is written into when it
    /// cannot be updated in place (its value before the last such step); `None` while it is
    /// updated in place.
    spares: Vec<Vec<Option<Tensor<T>>>>,
}

impl<T: Float, A: Algorithm<T>> Core<T, A> {
    /// An optimizer over one group.
    pub(crate) fn new(
        name: &'static str,
        params: Vec<Var<T>>,
        options: A::Options,
    ) -> Result<Self> {
        options.validate()?;
        if params.is_empty() {
            return Err(OptimError::EmptyParams { optimizer: name });
        }
        let mut core = Core {
            name,
            groups: Vec::new(),
            state: Vec::new(),
            spares: Vec::new(),
        };
        core.add_param_group(params, options)?;
        Ok(core)
    }

    /// Adds a group after checking its options and that its parameters are new leaves.
    pub(crate) fn add_param_group(
        &mut self,
        params: Vec<Var<T>>,
        options: A::Options,
    ) -> Result<()> {
        options.validate()?;
        let mut seen: HashSet<usize> = self
            .groups
            .iter()
            .flat_map(|g| g.params.iter().map(|p| p.id()))
            .collect();
        for (index, p) in params.iter().enumerate() {
            if let Some(grad_fn) = p.grad_fn_name() {
                return Err(OptimError::NonLeaf {
                    optimizer: self.name,
                    index,
                    shape: p.shape(),
                    grad_fn,
                });
            }
            if !seen.insert(p.id()) {
                return Err(OptimError::DuplicateParam {
                    optimizer: self.name,
                    shape: p.shape(),
                });
            }
        }
        self.state.push(vec![None; params.len()]);
        self.spares.push(vec![None; params.len()]);
        self.groups.push(ParamGroup {
            params,
            options,
            initial_lr: None,
        });
        Ok(())
    }

    /// Replaces group `group`'s options after validating them.
    pub(crate) fn set_group_options(&mut self, group: usize, options: A::Options) -> Result<()> {
        options.validate()?;
        self.groups[group].options = options;
        Ok(())
    }

    /// Each parameter is updated in place, under its lock, when it alone owns its storage (the
    /// usual case: backward has released the graph's saved copies), so nothing is copied or
    /// allocated. Otherwise something else shares its value (a graph saved it, a `data()`
    /// handle), which must keep the old value: the new value is then written into a spare
    /// buffer from the current one, with no lock held, and swapped in; the old value becomes
    /// the next step's spare. Either way the version is bumped, so a graph that saved the
    /// parameter reports the change at backward.
    pub(crate) fn step(&mut self) -> Result<()> {
        let _guard = no_grad();
        let states = self.state.iter_mut().zip(self.spares.iter_mut());
        for (group, (states, spares)) in self.groups.iter().zip(states) {
            let slots = states.iter_mut().zip(spares.iter_mut());
            for (p, (state, spare)) in group.params.iter().zip(slots) {
                let Some(grad) = p.grad() else { continue };
                let options = &group.options;
                let in_place = p.update_in_place_(|shape, data| {
                    // Compared in place (slice equality calls `memcmp`).
                    if !shape.iter().eq(grad.shape()) {
                        return Err(shape.to_vec());
                    }
                    A::update(options, StepParam::InPlace(data), &grad, state);
                    Ok(())
                })?;
                let done = match in_place {
                    Some(done) => {
                        // The spare from an earlier shared step is not needed any more.
                        if spare.is_some() {
                            *spare = None;
                        }
                        done
                    }
                    None => Self::step_into_spare(p, options, &grad, state, spare)?,
                };
                if let Err(param) = done {
                    return Err(OptimError::GradShape {
                        optimizer: self.name,
                        grad: grad.shape().to_vec(),
                        param,
                    });
                }
            }
        }
        Ok(())
    }

    /// [`Core::step`]'s update of one parameter whose value something else shares: written
    /// into `spare` (or a new buffer) and swapped in; `Err(param shape)` on a gradient of
    /// another shape, with nothing changed.
    fn step_into_spare(
        p: &Var<T>,
        options: &A::Options,
        grad: &Tensor<T>,
        state: &mut Option<A::State>,
        spare: &mut Option<Tensor<T>>,
    ) -> Result<std::result::Result<(), Vec<usize>>> {
        let mut done = Ok(());
        p.update_(|t| {
            if t.shape() != grad.shape() {
                done = Err(t.shape().to_vec());
                return;
            }
            let mut out = spare
                .take()
                .filter(|s| s.shape() == t.shape())
                .and_then(|mut s| s.get_mut().is_some().then_some(s))
                .unwrap_or_else(|| Tensor::zeros(t.shape()));
            A::update(options, StepParam::Into(t, &mut out), grad, state);
            *spare = Some(std::mem::replace(t, out));
        })?;
        Ok(done)
    }

    pub(crate) fn export(&self) -> OptimizerState {
        OptimizerState {
            optimizer: self.name.to_string(),
            groups: self
                .groups
                .iter()
                .map(|g| GroupState {
                    options: g.options.to_hyper(),
                    initial_lr: g.initial_lr,
                    num_params: g.params.len(),
                })
                .collect(),
            params: self
                .state
                .iter()
                .flatten()
                .map(|s| s.as_ref().map(A::export))
                .collect(),
        }
    }

    pub(crate) fn import(&mut self, saved: &OptimizerState) -> Result<()> {
        let err = |message: String| OptimError::State {
            optimizer: self.name,
            message,
        };
        if saved.optimizer != self.name {
            return Err(err(format!(
                "the state was saved by {}, not {}",
                saved.optimizer, self.name
            )));
        }
        if saved.groups.len() != self.groups.len() {
            return Err(err(format!(
                "loaded state has {} parameter groups, this optimizer has {}",
                saved.groups.len(),
                self.groups.len()
            )));
        }
        let total: usize = self.groups.iter().map(|g| g.params.len()).sum();
        if saved.params.len() != total {
            return Err(err(format!(
                "loaded state has {} parameter states, this optimizer has {} parameters",
                saved.params.len(),
                total
            )));
        }
        let mut options = Vec::with_capacity(self.groups.len());
        let mut states = Vec::with_capacity(self.groups.len());
        let mut flat = saved.params.iter();
        for (gi, (group, gs)) in self.groups.iter().zip(&saved.groups).enumerate() {
            if gs.num_params != group.params.len() {
                return Err(err(format!(
                    "loaded parameter group {gi} has {} parameters, this optimizer's has {}",
                    gs.num_params,
                    group.params.len()
                )));
            }
            let o = A::Options::from_hyper(&gs.options)
                .map_err(|m| err(format!("parameter group {gi}: {m}")))?;
            o.validate()
                .map_err(|e| err(format!("parameter group {gi}: {e}")))?;
            options.push(o);
            let mut group_states = Vec::with_capacity(group.params.len());
            for (pi, p) in group.params.iter().enumerate() {
                let ps = flat.next().expect("length checked");
                let st = match ps {
                    None => None,
                    Some(ps) => Some(
                        A::import(ps, &p.shape())
                            .map_err(|m| err(format!("parameter {pi} of group {gi}: {m}")))?,
                    ),
                };
                group_states.push(st);
            }
            states.push(group_states);
        }
        for ((group, o), gs) in self.groups.iter_mut().zip(options).zip(&saved.groups) {
            group.options = o;
            group.initial_lr = gs.initial_lr;
        }
        self.state = states;
        Ok(())
    }
}

/// Defines an optimizer `struct $ty<T>` (its docs given first) over a `Core` running `$algo`,
/// with its constructor helper, the group methods and [`Optimizer`].
macro_rules! impl_optimizer {
    ($(#[$meta:meta])* $ty:ident, $algo:ty, $options:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $ty<T: Float = f32> {
            core: Core<T, $algo>,
            defaults: $options,
        }

        impl<T: Float> $ty<T> {
            /// The optimizer over `params` with `options` as its defaults, named as in PyTorch
            /// (`stringify!($ty)`: "SGD", "Adam", …) in errors and saved states.
            fn build(params: Vec<Var<T>>, options: $options) -> Result<Self> {
                Ok($ty {
                    core: Core::new(stringify!($ty), params, options)?,
                    defaults: options,
                })
            }

            /// Adds a parameter group with its own options (`optimizer.add_param_group`); start
            /// from [`defaults`](Self::defaults) to change only some of them, e.g.
            /// `Options { lr: 0.01, ..opt.defaults().clone() }`.
            ///
            /// # Errors
            /// Invalid options, a parameter that is not a leaf, or one already in a group.
            pub fn add_param_group(
                &mut self,
                params: Vec<Var<T>>,
                options: $options,
            ) -> Result<()> {
                self.core.add_param_group(params, options)
            }

            /// The options the optimizer was built with (`optimizer.defaults`).
            pub fn defaults(&self) -> &$options {
                &self.defaults
            }

            /// The parameter groups (`optimizer.param_groups`).
            pub fn param_groups(&self) -> &[ParamGroup<T, $options>] {
                &self.core.groups
            }

            /// Replaces the options of group `group` (like assigning
            /// `param_groups[group][key]`), after validating them; the state is kept.
            ///
            /// # Errors
            /// Invalid options.
            ///
            /// # Panics
            /// If `group >= num_param_groups()`.
            pub fn set_group_options(&mut self, group: usize, options: $options) -> Result<()> {
                self.core.set_group_options(group, options)
            }
        }

        impl<T: Float> Optimizer<T> for $ty<T> {
            fn name(&self) -> &'static str {
                self.core.name
            }

            fn step(&mut self) -> Result<()> {
                self.core.step()
            }

            fn num_param_groups(&self) -> usize {
                self.core.groups.len()
            }

            fn group_params(&self, group: usize) -> &[Var<T>] {
                &self.core.groups[group].params
            }

            fn group_lr(&self, group: usize) -> f64 {
                self.core.groups[group].options().lr()
            }

            fn set_group_lr(&mut self, group: usize, lr: f64) {
                self.core.groups[group].options.set_lr(lr);
            }

            fn group_initial_lr(&self, group: usize) -> Option<f64> {
                self.core.groups[group].initial_lr
            }

            fn set_group_initial_lr(&mut self, group: usize, lr: Option<f64>) {
                self.core.groups[group].initial_lr = lr;
            }

            fn state(&self) -> OptimizerState {
                self.core.export()
            }

            fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
                self.core.import(state)
            }
        }
    };
}
pub(crate) use impl_optimizer;
