//! `Var`: a tensor that can require grad and remembers the op that made it.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};

use antorcha_tensor::ndarray::{Dimension, IxDyn};
use antorcha_tensor::{broadcast_shapes, Float, Tensor, TensorError};

use crate::error::{ok, AutogradError, Result};
use crate::grad_mode::is_grad_enabled;
use crate::graph::NodeRef;
use crate::in_place::InPlace;
use crate::node::{lock, Attrs, Edge, Hook, Node, NodeArc, SavedList};
use crate::rule::{BackwardFn, Rule};

/// A tensor in the autograd graph, like a `torch.Tensor` with `requires_grad`.
///
/// Clones share everything (value, gradient, graph): a `Var` is a handle.
///
/// ```
/// use antorcha_autograd::Var;
/// let a = Var::from_vec(vec![2.0f64], &[1]).requires_grad();
/// let loss = (&a * &a).sum();            // a²
/// loss.backward().unwrap();
/// assert_eq!(a.grad().unwrap().to_vec(), vec![4.0]);  // 2a
/// ```
pub struct Var<T: Float = f32> {
    pub(crate) inner: VarArc<T>,
}

/// A var's shared state. triomphe's `Arc` has no weak count (nothing needs one): freeing a
/// var is one atomic operation instead of two, and the unique-owner checks are plain loads.
pub(crate) type VarArc<T> = triomphe::Arc<VarInner<T>>;

pub(crate) struct VarInner<T: Float> {
    /// The value's shape, which never changes (in-place ops keep it): read without the lock.
    pub(crate) shape: IxDyn,
    pub(crate) value: Value<T>,
    /// In-place changes so far (`tensor._version`); a view counts on its base's.
    pub(crate) version: AtomicU64,
    /// How many views of this value live: while any does, writes keep the storage's layout.
    pub(crate) views: AtomicUsize,
    pub(crate) requires_grad: AtomicBool,
    /// The node of the op that made this var (`None` for a leaf).
    pub(crate) grad_fn: Option<NodeArc<T>>,
    /// For a base, how often in-place ops rewrote its graph; for a view, the base's count that
    /// `rebased` was made for.
    pub(crate) epoch: AtomicU64,
    pub(crate) grad: Mutex<Option<Tensor<T>>>,
    /// A name, hooks and a rewritten graph, made on first use (most vars never pay for them).
    pub(crate) extras: OnceLock<Box<VarExtras<T>>>,
}

/// What a var keeps only once asked to.
pub(crate) struct VarExtras<T: Float> {
    /// The node that made the value since in-place ops rewrote the graph: for a base, set when
    /// `epoch` > 0; for a view, made for its base's `epoch` (see [`Var::node`]).
    pub(crate) rebased: Mutex<Option<NodeArc<T>>>,
    pub(crate) name: Mutex<Option<String>>,
    pub(crate) hooks: Mutex<Vec<Hook<T>>>,
}

/// Where a var's value lives.
pub(crate) enum Value<T: Float> {
    /// In its own tensor.
    Own(RwLock<Tensor<T>>),
    /// In its base's storage, as in PyTorch (`tensor._base`): a change through the base or any
    /// of its views is seen by all of them, and they share one version counter.
    View(Box<ViewOf<T>>),
}

/// A view's place in its base's storage; the base always owns its value.
pub(crate) struct ViewOf<T: Float> {
    pub(crate) base: VarArc<T>,
    pub(crate) strides: IxDyn,
    pub(crate) offset: usize,
    /// The base's `epoch` when this view was made: its own `grad_fn` holds until it moves.
    pub(crate) epoch: u64,
    /// The base's strides and offset, which hold while the view lives.
    pub(crate) base_strides: IxDyn,
    pub(crate) base_offset: usize,
}

impl<T: Float> Drop for ViewOf<T> {
    fn drop(&mut self) {
        self.base.views.fetch_sub(1, Ordering::Release);
    }
}

impl<T: Float> Clone for Var<T> {
    fn clone(&self) -> Self {
        Var {
            inner: self.inner.clone(),
        }
    }
}

/// Whether an op on `inputs` must be recorded: grad mode is on and some input requires grad.
#[inline]
pub(crate) fn needs_graph<T: Float>(inputs: &[&Var<T>]) -> bool {
    is_grad_enabled() && inputs.iter().any(|v| v.needs_grad())
}

impl<T: Float> VarInner<T> {
    /// A new shared var, written straight into its allocation (as [`Node::new_arc`]).
    #[inline(always)]
    fn new_arc(data: Tensor<T>, requires_grad: bool, grad_fn: Option<NodeArc<T>>) -> VarArc<T> {
        let mut arc = triomphe::UniqueArc::new_uninit();
        arc.write(VarInner {
            shape: data.raw_dim(),
            value: Value::Own(RwLock::new(data)),
            version: AtomicU64::new(0),
            views: AtomicUsize::new(0),
            requires_grad: AtomicBool::new(requires_grad),
            grad_fn,
            epoch: AtomicU64::new(0),
            grad: Mutex::new(None),
            extras: OnceLock::new(),
        });
        // SAFETY: `write` just initialised the var.
        unsafe { triomphe::UniqueArc::assume_init(arc) }.shareable()
    }

    /// The name, hooks and rewritten graph, made on first use.
    pub(crate) fn extras(&self) -> &VarExtras<T> {
        self.extras.get_or_init(|| {
            Box::new(VarExtras {
                rebased: Mutex::new(None),
                name: Mutex::new(None),
                hooks: Mutex::new(Vec::new()),
            })
        })
    }

    /// The name, hooks and rewritten graph, if anything ever asked for them.
    pub(crate) fn extras_if_any(&self) -> Option<&VarExtras<T>> {
        self.extras.get().map(|x| &**x)
    }

    pub(crate) fn shape(&self) -> Vec<usize> {
        self.shape.slice().to_vec()
    }

    /// The lock of the tensor that holds this value: its own, or its base's for a view.
    pub(crate) fn storage_lock(&self) -> &RwLock<Tensor<T>> {
        match &self.value {
            Value::Own(lock) => lock,
            Value::View(v) => v.base.storage_lock(),
        }
    }

    /// This view's elements within `base` (its base's tensor).
    fn view_in(&self, view: &ViewOf<T>, base: &Tensor<T>) -> Tensor<T> {
        base.try_as_strided(self.shape.slice(), view.strides.slice(), view.offset)
            .expect("writes keep a base's layout while views of it live")
    }

    /// The current value (a shared handle).
    fn read(&self) -> Tensor<T> {
        let data = read(self.storage_lock());
        match &self.value {
            Value::Own(_) => data.clone(),
            Value::View(v) => self.view_in(v, &data),
        }
    }

    /// The var whose storage this view reads; `None` for a var that owns its value.
    fn view_base(&self) -> Option<&VarArc<T>> {
        match &self.value {
            Value::View(v) => Some(&v.base),
            Value::Own(_) => None,
        }
    }

    /// The version counter, shared by a base and its views.
    fn version_counter(&self) -> &AtomicU64 {
        match &self.value {
            Value::Own(_) => &self.version,
            Value::View(v) => &v.base.version,
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// Adds `g` into a stored gradient in place (a leaf's `AccumulateGrad`, or a retained grad).
pub(crate) fn accumulate_into<T: Float>(slot: &Mutex<Option<Tensor<T>>>, g: Tensor<T>) {
    let mut slot = lock(slot);
    match slot.as_mut() {
        None => *slot = Some(g),
        Some(acc) => acc.add_(&g),
    }
}

impl<T: Float> Var<T> {
    /// A leaf holding `value` that does not require grad (a constant, like input data).
    pub fn new(value: Tensor<T>) -> Self {
        Var {
            inner: VarInner::new_arc(value, false, None),
        }
    }

    /// A leaf from row-major data and a shape.
    ///
    /// # Panics
    /// If the data do not fill the shape.
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        Var::new(Tensor::from_vec(data, shape))
    }

    /// A 0-d leaf.
    pub fn scalar(value: T) -> Self {
        Var::new(Tensor::scalar(value))
    }

    /// A leaf of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Var::new(Tensor::zeros(shape))
    }

    /// A leaf of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Var::new(Tensor::ones(shape))
    }

    /// A leaf of standard normal samples from the global generator, like `torch.randn`.
    pub fn randn(shape: &[usize]) -> Self {
        Var::new(Tensor::randn(shape))
    }

    /// A leaf of uniform samples in `[0, 1)` from the global generator, like `torch.rand`.
    pub fn rand(shape: &[usize]) -> Self {
        Var::new(Tensor::rand(shape))
    }

    /// Marks this leaf as requiring grad and returns it, like `requires_grad=True`.
    ///
    /// # Panics
    /// If this var is not a leaf (it already requires grad through its graph).
    #[track_caller]
    pub fn requires_grad(self) -> Self {
        ok(self.requires_grad_(true));
        self
    }

    /// Sets whether this leaf requires grad, like `tensor.requires_grad_(flag)`. Only leaves
    /// can change it: a value computed from something that requires grad always does.
    pub fn requires_grad_(&self, flag: bool) -> Result<()> {
        if !self.is_leaf() {
            if flag {
                return Ok(());
            }
            return Err(AutogradError::Invalid {
                op: "requires_grad_",
                message: format!(
                    "you can only change requires_grad flags of leaf variables; this one was made by {} (use `.detach()` for a view without history)",
                    self.grad_fn_name().unwrap_or("an op")
                ),
            });
        }
        self.inner.requires_grad.store(flag, Ordering::Relaxed);
        Ok(())
    }

    /// Whether gradients flow to or through this var (PyTorch's `tensor.requires_grad`).
    #[inline]
    pub fn needs_grad(&self) -> bool {
        self.inner.requires_grad.load(Ordering::Relaxed)
    }

    /// Whether this var was made by the user rather than by a recorded op (`tensor.is_leaf`).
    pub fn is_leaf(&self) -> bool {
        self.inner.grad_fn.is_none()
    }

    /// PyTorch's name of the backward of the op that made this var (`"MulBackward0"`), or `None`
    /// for a leaf.
    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.node().map(|n| n.name)
    }

    /// The backward node that made this var, to walk the graph (`tensor.grad_fn`).
    pub fn grad_fn(&self) -> Option<NodeRef<T>> {
        self.node().map(NodeRef::new)
    }

    /// A name for this var, shown in graph pictures.
    pub fn name(&self) -> Option<String> {
        self.inner
            .extras_if_any()
            .and_then(|x| lock(&x.name).clone())
    }

    /// Sets the name shown in graph pictures.
    pub fn set_name(&self, name: impl Into<String>) {
        *lock(&self.inner.extras().name) = Some(name.into());
    }

    /// Names this var and returns it: `Var::randn(&[1]).requires_grad().named("a")`.
    pub fn named(self, name: impl Into<String>) -> Self {
        self.set_name(name);
        self
    }

    /// The current value (a cheap shared handle; writes to it do not reach this var).
    #[inline]
    pub fn data(&self) -> Tensor<T> {
        self.inner.read()
    }

    /// The value, taken out without a lock or a copy when this is the last handle (the
    /// engine's gradients); a shared handle otherwise.
    pub(crate) fn into_data(self) -> Tensor<T> {
        match VarArc::try_unwrap(self.inner) {
            Ok(VarInner {
                value: Value::Own(lock),
                ..
            }) => lock.into_inner().unwrap_or_else(|p| p.into_inner()),
            Ok(inner) => inner.read(),
            Err(inner) => inner.read(),
        }
    }

    /// Runs `f` on the current value without cloning the handle.
    #[inline]
    pub(crate) fn with_data<R>(&self, f: impl FnOnce(&Tensor<T>) -> R) -> R {
        match &self.inner.value {
            Value::Own(lock) => f(&read(lock)),
            Value::View(_) => f(&self.data()),
        }
    }

    /// Runs `f` on this value and `other`'s (a var used on both sides, `x * x`, is read once).
    /// Never holds two vars' locks at once: a reader waiting on a second lock behind a queued
    /// writer, while that writer waits on the first, would deadlock.
    #[inline]
    pub(crate) fn with_data2<R>(
        &self,
        other: &Var<T>,
        f: impl FnOnce(&Tensor<T>, &Tensor<T>) -> R,
    ) -> R {
        if VarArc::ptr_eq(&self.inner, &other.inner) {
            self.with_data(|a| f(a, a))
        } else {
            let a = self.data();
            other.with_data(|b| f(&a, b))
        }
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.inner.shape()
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.inner.shape.ndim()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.inner.shape.size()
    }

    /// The value of a one-element var as a plain number (`tensor.item()`): summing losses
    /// for a log this way keeps no graph alive.
    ///
    /// # Panics
    /// If the var does not hold exactly one element.
    #[track_caller]
    pub fn item(&self) -> T {
        self.with_data(|t| t.item())
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        self.with_data(|t| t.to_vec())
    }

    /// An identity for this var (stable while it lives), used by graph pictures.
    pub fn id(&self) -> usize {
        VarArc::as_ptr(&self.inner) as usize
    }

    /// The accumulated gradient of a leaf (or of a var that asked for `retain_grad`), like
    /// `tensor.grad`; `None` until a backward reaches it or after `zero_grad`.
    pub fn grad(&self) -> Option<Tensor<T>> {
        self.with_grad_slot(|slot| lock(slot).clone())
    }

    /// Replaces the gradient (`tensor.grad = …`).
    ///
    /// # Panics
    /// If the gradient's shape differs from the var's.
    #[track_caller]
    pub fn set_grad(&self, grad: Option<Tensor<T>>) {
        ok(self.try_set_grad(grad))
    }

    /// Replaces the gradient, or says why its shape does not fit.
    pub fn try_set_grad(&self, grad: Option<Tensor<T>>) -> Result<()> {
        if let Some(g) = &grad {
            let shape = self.shape();
            if g.shape() != shape.as_slice() {
                return Err(AutogradError::GradShape {
                    context: "set_grad".into(),
                    grad: g.shape().to_vec(),
                    expected: shape,
                });
            }
        }
        self.with_grad_slot(|slot| *lock(slot) = grad);
        Ok(())
    }

    /// Clears the gradient to `None`, as PyTorch 2's `zero_grad()` does.
    pub fn zero_grad(&self) {
        self.with_grad_slot(|slot| *lock(slot) = None);
    }

    /// Fills the existing gradient with zeros in place (`tensor.grad.zero_()`), keeping its
    /// memory; does nothing when there is no gradient.
    pub fn fill_grad_zero(&self) {
        self.with_grad_slot(|slot| {
            if let Some(g) = lock(slot).as_mut() {
                g.zero_();
            }
        });
    }

    /// A new leaf sharing this value but with no history and no grad (`tensor.detach()`):
    /// a view, so an in-place change to either is seen by both.
    pub fn detach(&self) -> Var<T> {
        let x = self.data();
        Var::new(x.clone()).into_view_of(self, &x)
    }

    /// Where `.grad` lives: in the var for a leaf, in the node that made it for an interior var
    /// that called `retain_grad` (so the node needs no handle back to its result).
    fn with_grad_slot<R>(&self, f: impl FnOnce(&Mutex<Option<Tensor<T>>>) -> R) -> R {
        let node = self.node();
        match node.as_ref().and_then(|n| n.retained_slot()) {
            Some(slot) => f(slot),
            None => f(&self.inner.grad),
        }
    }

    /// Keeps the gradient of this interior var in `.grad` during backward (`retain_grad()`);
    /// a leaf keeps its gradient anyway.
    pub fn retain_grad(&self) {
        if let Some(node) = self.node() {
            node.extras().retains_grad.store(true, Ordering::Release);
        }
    }

    /// Calls `hook` with the gradient flowing into this var during backward; if it returns a
    /// tensor, that replaces the gradient (`tensor.register_hook`).
    pub fn register_hook(
        &self,
        hook: impl Fn(&Tensor<T>) -> Option<Tensor<T>> + Send + Sync + 'static,
    ) {
        let hook: Hook<T> = std::sync::Arc::new(hook);
        match self.node() {
            Some(node) => {
                lock(&node.extras().hooks).push(hook);
            }
            None => {
                lock(&self.inner.extras().hooks).push(hook);
            }
        }
    }

    /// How many in-place changes this var's value has had (`tensor._version`).
    /// A view shares its base's counter, so a change through either is seen by both.
    pub fn version(&self) -> u64 {
        self.inner.version_counter().load(Ordering::Relaxed)
    }

    /// Whether this var shares another var's value: made by a view op (`view`, `transpose`,
    /// `narrow`, `expand`, …; PyTorch's `_is_view()`) or by `detach`. In-place changes
    /// through either are seen by both.
    pub fn is_view(&self) -> bool {
        matches!(self.inner.value, Value::View(_))
    }

    /// This var as a view of `src`'s value when `self` was just made by a view op from `from`,
    /// `src`'s value then, and shares its storage; unchanged when the op copied.
    pub(crate) fn into_view_of(mut self, src: &Var<T>, from: &Tensor<T>) -> Var<T> {
        let base = src.inner.view_base().unwrap_or(&src.inner);
        let Some(inner) = VarArc::get_mut(&mut self.inner) else {
            return self;
        };
        let Value::Own(lock) = &mut inner.value else {
            return self;
        };
        let value = lock.get_mut().unwrap_or_else(|p| p.into_inner());
        if !value.ptr_eq(from) {
            return self;
        }
        // Under the base's lock, so that no write changes its layout until the view counts. A
        // write since `from` was read may have replaced the storage: the view then reads the
        // new one, which is right while the layout it was taken in holds. A view's base keeps
        // its layout while the view lives; a base itself, unless a write changed it.
        let data = read(base.storage_lock());
        let same_layout = |t: &Tensor<T>| {
            t.strides() == from.strides() && t.storage_offset() == from.storage_offset()
        };
        let fits = src.is_view() || same_layout(&data);
        if !fits
            || data
                .try_as_strided(value.shape(), value.strides(), value.storage_offset())
                .is_err()
        {
            return self;
        }
        base.views.fetch_add(1, Ordering::AcqRel);
        let view = ViewOf {
            base: base.clone(),
            strides: IxDyn(value.strides()),
            offset: value.storage_offset(),
            epoch: base.epoch.load(Ordering::Acquire),
            base_strides: IxDyn(data.strides()),
            base_offset: data.storage_offset(),
        };
        drop(data);
        inner.value = Value::View(Box::new(view));
        self
    }

    /// PyTorch's check before an in-place change, and whether to record it: with grad mode on,
    /// a leaf that requires grad, or a view of one, cannot be changed (do it under `no_grad`);
    /// a change to a value computed by an op is recorded when the op is differentiable
    /// (`recordable`), refused otherwise.
    fn check_in_place(&self, op: &'static str, recordable: bool) -> Result<bool> {
        if !(is_grad_enabled() && self.needs_grad()) {
            return Ok(false);
        }
        let of_leaf = self.inner.view_base().is_some_and(|b| b.grad_fn.is_none());
        let what = if self.is_leaf() {
            "leaf Variable"
        } else if of_leaf {
            "view of a leaf Variable"
        } else if recordable {
            return Ok(true);
        } else {
            "value computed by an op"
        };
        Err(AutogradError::InPlaceRequiresGrad {
            op,
            what,
            shape: self.shape(),
        })
    }

    /// Bumps the version after a change, so a graph that saved the old value reports it at
    /// backward. Call with the write lock held.
    fn bump_version(&self) {
        // Writers hold the write lock, so a plain load and store cannot lose a bump (and
        // costs no atomic read-modify-write).
        let version = self.inner.version_counter();
        let bumped = version.load(Ordering::Relaxed) + 1;
        version.store(bumped, Ordering::Release);
        let inner = &*self.inner;
        if inner.grad_fn.is_none()
            && matches!(inner.value, Value::Own(_))
            && inner.epoch.load(Ordering::Acquire) == 0
        {
            // A leaf (a parameter) that in-place ops never rewrote: no node made its value.
            return;
        }
        let base = self
            .inner
            .view_base()
            .and_then(|b| Var { inner: b.clone() }.node());
        for node in self.node().iter().chain(&base) {
            // A result that its own node saved is checked against this at backward.
            node.output_version.store(bumped, Ordering::Release);
        }
    }

    /// Stores `value` (of this var's shape) as the new value, under the storage's write lock
    /// `data`: swapped in when nothing views the storage, else written into its layout.
    fn store(&self, data: &mut Tensor<T>, value: &Tensor<T>) -> Result<()> {
        match &self.inner.value {
            Value::Own(_) => {
                let layout = (data.shape().to_vec(), data.strides().to_vec());
                data.try_as_strided_copy_(&layout.0, &layout.1, data.storage_offset(), value)?
            }
            Value::View(v) => data.try_as_strided_copy_(
                self.inner.shape.slice(),
                v.strides.slice(),
                v.offset,
                value,
            )?,
        }
        Ok(())
    }

    /// Changes the value in place through one of this crate's kernels `f` (never user code:
    /// it runs under the write lock), with [`Var::check_in_place`]'s checks; recorded as
    /// `grad` when this var is part of a graph. `f` keeps the shape.
    #[track_caller]
    pub(crate) fn try_update_(
        &self,
        op: &'static str,
        grad: InPlace<T>,
        f: impl FnOnce(&mut Tensor<T>) -> Result<()>,
    ) -> Result<()> {
        let record = self.check_in_place(op, true)?;
        let mut data = write(self.inner.storage_lock());
        match &self.inner.value {
            Value::Own(_) if self.inner.views.load(Ordering::Acquire) == 0 => f(&mut data)?,
            Value::Own(_) => {
                let mut value = data.clone();
                f(&mut value)?;
                self.store(&mut data, &value)?;
            }
            Value::View(v) => {
                let mut value = self.inner.view_in(v, &data);
                f(&mut value)?;
                self.store(&mut data, &value)?;
            }
        }
        self.bump_version();
        if record {
            self.record_in_place(&data, grad);
        }
        Ok(())
    }

    /// Runs `f` on the value and stores what it leaves, with the checks of every in-place op
    /// (see `sub_`): the way optimizers update parameters under `no_grad`. `f` runs with no lock
    /// held (it may read other vars, or this one) on a handle that shares the current value,
    /// so readers meanwhile see the old value: assigning a new tensor costs no copy, writing
    /// into the handle copies it first. While views of the value live, the result is written
    /// into the storage they share (so they see it), else swapped in. The value must keep its
    /// shape.
    pub fn update_(&self, f: impl FnOnce(&mut Tensor<T>)) -> Result<()> {
        self.check_in_place("update_", false)?;
        let mut value = self.data();
        f(&mut value);
        let mut data = write(self.inner.storage_lock());
        if value.shape() != self.inner.shape.slice() {
            return Err(AutogradError::Invalid {
                op: "update_",
                message: format!(
                    "the new value has shape {:?}, the var {:?}",
                    value.shape(),
                    self.shape()
                ),
            });
        }
        match &self.inner.value {
            Value::Own(_) if self.inner.views.load(Ordering::Acquire) == 0 => *data = value,
            _ => self.store(&mut data, &value)?,
        }
        self.bump_version();
        Ok(())
    }

    /// Changes the value in place through `f`, with [`Var::update_`]'s checks, when this var
    /// alone owns its storage, in row-major order: `f` gets the shape and the elements, runs
    /// under the storage's write lock (views of this var see the change), and the version is
    /// bumped as by any in-place change. Otherwise (another tensor shares the value, e.g. a
    /// graph that saved it or a [`Var::data`] handle; or this var is a view) nothing is done and
    /// `f` is not called: `Ok(None)`, and the caller updates a copy with [`Var::update_`], so
    /// the sharer keeps the old value.
    ///
    /// For fused kernels such as the optimizers' steps: `f` runs under the lock, so it must not
    /// touch this var, nor run user code that might.
    ///
    /// ```
    /// use antorcha_autograd::{no_grad, Var};
    /// let w = Var::from_vec(vec![1.0f32, 2.0], &[2]).requires_grad();
    /// let _guard = no_grad();
    /// let done = w.update_in_place_(|_shape, xs| xs.iter_mut().for_each(|x| *x *= 0.5));
    /// assert_eq!(done.unwrap(), Some(()));
    /// assert_eq!((w.to_vec(), w.version()), (vec![0.5, 1.0], 1));
    /// let held = w.data(); // shares the storage: the value is no longer w's alone
    /// assert_eq!(w.update_in_place_(|_, _| ()).unwrap(), None);
    /// # drop(held);
    /// ```
    pub fn update_in_place_<R>(
        &self,
        f: impl FnOnce(&[usize], &mut [T]) -> R,
    ) -> Result<Option<R>> {
        self.check_in_place("update_", false)?;
        let Value::Own(lock) = &self.inner.value else {
            return Ok(None);
        };
        let mut data = write(lock);
        let Some(elements) = data.get_mut() else {
            return Ok(None);
        };
        let r = f(self.inner.shape.slice(), elements);
        self.bump_version();
        Ok(Some(r))
    }

    /// `self -= other` in place (`tensor.sub_(other)`), e.g. a manual SGD step under `no_grad`.
    ///
    /// As in PyTorch, with grad mode on an in-place change to a leaf that requires grad (or a
    /// view of one) is an error, and one to a value computed by an op is recorded: the var's
    /// `grad_fn` becomes the change's (`SubBackward0`), or `CopySlices` on the base of a view.
    #[track_caller]
    pub fn sub_(&self, other: &Tensor<T>) -> Result<()> {
        self.try_update_("sub_", InPlace::Sub, |t| Ok(t.try_sub_(other)?))
    }

    /// `self += other` in place (`tensor.add_(other)`).
    #[track_caller]
    pub fn add_(&self, other: &Tensor<T>) -> Result<()> {
        self.try_update_("add_", InPlace::Add, |t| Ok(t.try_add_(other)?))
    }

    /// `self *= other` in place (`tensor.mul_(other)`).
    #[track_caller]
    pub fn mul_(&self, other: &Tensor<T>) -> Result<()> {
        self.try_update_("mul_", InPlace::Mul(other.clone()), |t| {
            Ok(t.try_mul_(other)?)
        })
    }

    /// Copies `other` into this var's value (`tensor.copy_(other)`; `other` broadcasts).
    #[track_caller]
    pub fn copy_(&self, other: &Tensor<T>) -> Result<()> {
        self.try_update_("copy_", InPlace::Copy, |t| {
            let shape = broadcast_shapes("copy_", t.shape(), other.shape())?;
            if shape != t.shape() {
                return Err(TensorError::Broadcast {
                    op: "copy_",
                    lhs: t.shape().to_vec(),
                    rhs: other.shape().to_vec(),
                }
                .into());
            }
            t.zero_();
            Ok(t.try_add_(other)?)
        })
    }

    /// Sets every element to zero in place (`tensor.zero_()`).
    #[track_caller]
    pub fn zero_(&self) -> Result<()> {
        self.try_update_("zero_", InPlace::Zero, |t| {
            t.zero_();
            Ok(())
        })
    }

    /// Where this var's gradient goes.
    pub(crate) fn edge(&self) -> Edge<T> {
        match self.node() {
            Some(node) => Edge::Node(node),
            None if self.needs_grad() => Edge::Leaf(self.inner.clone()),
            None => Edge::None,
        }
    }

    /// Records an op: `value` is its result; call only when [`needs_graph`] holds.
    #[track_caller]
    pub(crate) fn from_op(
        value: Tensor<T>,
        name: &'static str,
        inputs: &[&Var<T>],
        saved: SavedList<T>,
        attrs: Attrs,
        backward: BackwardFn<T>,
    ) -> Var<T> {
        Var::from_op_rule(value, name, inputs, saved, attrs, Rule::Vars(backward))
    }

    /// [`Var::from_op`] for any [`Rule`] (a [`Rule::Generic`] one runs on plain tensors when
    /// nothing is recorded).
    #[track_caller]
    pub(crate) fn from_op_rule(
        value: Tensor<T>,
        name: &'static str,
        inputs: &[&Var<T>],
        saved: SavedList<T>,
        attrs: Attrs,
        rule: Rule<T>,
    ) -> Var<T> {
        let node = Node::new_arc(
            name,
            Location::caller(),
            value.raw_dim(),
            inputs.iter().map(|v| v.edge()),
            saved,
            attrs,
            rule,
        );
        Var {
            inner: VarInner::new_arc(value, true, Some(node)),
        }
    }

    /// The op's own result as saved for backward, re-attached to `node`.
    pub(crate) fn from_saved_output(value: Tensor<T>, node: NodeArc<T>) -> Var<T> {
        Var {
            inner: VarInner::new_arc(value, true, Some(node)),
        }
    }

    pub(crate) fn into_inner(self) -> VarArc<T> {
        self.inner
    }
}

impl<T: Float> From<Tensor<T>> for Var<T> {
    /// A constant leaf (no grad).
    fn from(t: Tensor<T>) -> Self {
        Var::new(t)
    }
}

impl<T: Float> fmt::Display for Var<T> {
    /// Prints like PyTorch: `tensor([1.], requires_grad=True)`, `tensor(2., grad_fn=<MeanBackward0>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.data().to_string();
        let body = s.strip_suffix(')').unwrap_or(&s);
        match (self.grad_fn_name(), self.needs_grad()) {
            (Some(name), _) => write!(f, "{body}, grad_fn=<{name}>)"),
            (None, true) => write!(f, "{body}, requires_grad=True)"),
            (None, false) => write!(f, "{s}"),
        }
    }
}

impl<T: Float> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
