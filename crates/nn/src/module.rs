//! The `Module` trait (PyTorch's `nn.Module`): a forward pass plus a walk over parameters and
//! child modules, from which names, modes, gradients and state dicts all follow.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use antorcha_autograd::tensor::Float;
use antorcha_autograd::{Tensor, Var};

use crate::error::{NnError, Result};

/// A building block of a network, like `torch.nn.Module`.
///
/// A type implements [`try_forward`](Module::try_forward) and says what it holds: its own
/// parameters through [`visit_parameters`](Module::visit_parameters) (layers) and its child
/// modules through [`visit_children`](Module::visit_children) (models made of layers). Every
/// other method (`forward`, `parameters`, `named_parameters` with PyTorch's dotted names,
/// `train`/`eval`, `zero_grad`, `state_dict`, …) comes from those.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Linear, Module, Result};
///
/// struct Net {
///     fc1: Linear,
///     fc2: Linear,
/// }
///
/// impl Module for Net {
///     fn try_forward(&self, x: &Var) -> Result<Var> {
///         self.fc2.try_forward(&self.fc1.try_forward(x)?.relu())
///     }
///     fn visit_children<'a>(&'a self, f: &mut dyn FnMut(&str, &'a dyn Module)) {
///         f("fc1", &self.fc1);
///         f("fc2", &self.fc2);
///     }
/// }
///
/// let net = Net { fc1: Linear::new(4, 8), fc2: Linear::new(8, 2) };
/// let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
/// assert_eq!(net.forward(&Var::ones(&[3, 4])).shape(), vec![3, 2]);
/// ```
pub trait Module<T: Float = f32>: Send + Sync {
    /// The forward pass, or an error (an input of the wrong shape, …).
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>>;

    /// Calls `f` with the name and handle of each parameter this module holds itself (not
    /// those of its children), in a fixed order: PyTorch's `_parameters`.
    fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
        let _ = f;
    }

    /// Calls `f` with the name and handle of each buffer this module holds itself (state saved
    /// in the state dict but not trained, like `BatchNorm2d`'s `running_mean`), in a fixed
    /// order: PyTorch's `_buffers`, without the ones set to `None`.
    fn visit_buffers(&self, f: &mut dyn FnMut(&str, &Buffer<T>)) {
        let _ = f;
    }

    /// Calls `f` with the name and a reference of each direct child module, in a fixed order:
    /// PyTorch's `_modules`. Their parameters get the child's name as a prefix (`fc1.weight`).
    fn visit_children<'a>(&'a self, f: &mut dyn FnMut(&str, &'a dyn Module<T>)) {
        let _ = f;
    }

    /// This module's own train/eval flag, if it keeps one (all of this crate's modules do;
    /// a user struct may hold a [`Training`] and return it, or rely on its children's).
    fn training_flag(&self) -> Option<&Training> {
        None
    }

    /// The class name shown by [`repr`](Module::repr): the type's name without its path and
    /// generic arguments (`Linear`).
    fn type_name(&self) -> String {
        short_type_name(std::any::type_name::<Self>())
    }

    /// The arguments shown inside the parentheses by [`repr`](Module::repr), like PyTorch's
    /// `extra_repr` (`in_features=4, out_features=2, bias=True`).
    fn extra_repr(&self) -> String {
        String::new()
    }

    /// The forward pass (`module(x)` in PyTorch).
    ///
    /// # Panics
    /// When [`try_forward`](Module::try_forward) returns an error, with its message.
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        match self.try_forward(x) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// Every parameter of this module and its descendants, each once even when shared
    /// (`module.parameters()`), to hand to an optimizer.
    fn parameters(&self) -> Vec<Var<T>> {
        self.named_parameters()
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    /// Every parameter with its dotted path (`0.weight`, `layers.2.bias`), own parameters
    /// before the children's, each shared parameter once under its first name
    /// (`module.named_parameters()`).
    fn named_parameters(&self) -> Vec<(String, Var<T>)> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        walk_parameters(self, "", &mut |name, p| {
            if seen.insert(p.id()) {
                out.push((name, p.clone()));
            }
        });
        out
    }

    /// The direct children with their names (`module.named_children()`).
    fn named_children(&self) -> Vec<(String, &dyn Module<T>)> {
        let mut out = Vec::new();
        self.visit_children(&mut |name, m| out.push((name.to_string(), m)));
        out
    }

    /// The number of elements in all parameters (each shared parameter once).
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }

    /// Sets training mode on this module and all its descendants (`module.train()`): dropout
    /// drops.
    fn train(&self) {
        self.set_training(true);
    }

    /// Sets evaluation mode on this module and all its descendants (`module.eval()`): dropout
    /// passes its input through.
    fn eval(&self) {
        self.set_training(false);
    }

    /// Sets the mode of this module and all its descendants (`module.train(mode)`).
    fn set_training(&self, mode: bool) {
        if let Some(flag) = self.training_flag() {
            flag.set(mode);
        }
        self.visit_children(&mut |_, child| child.set_training(mode));
    }

    /// Whether the module is in training mode (`module.training`): its own flag, else its
    /// first child's, else `true` (PyTorch's default).
    fn is_training(&self) -> bool {
        if let Some(flag) = self.training_flag() {
            return flag.get();
        }
        let mut mode = None;
        self.visit_children(&mut |_, child| {
            if mode.is_none() {
                mode = Some(child.is_training());
            }
        });
        mode.unwrap_or(true)
    }

    /// Clears every parameter's gradient to `None` (`module.zero_grad()`, PyTorch 2's default
    /// `set_to_none=True`).
    fn zero_grad(&self) {
        walk_parameters(self, "", &mut |_, p| p.zero_grad());
    }

    /// Every buffer with its dotted path (`bn.running_mean`), like `module.named_buffers()`;
    /// an `int64` buffer (`num_batches_tracked`) is given converted to `T`.
    fn named_buffers(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        walk_state(self, "", &mut |name, e| {
            if let StateEntry::Buffer(b) = e {
                out.push((name, b.get()));
            }
        });
        out
    }

    /// The current value of every parameter and buffer under its dotted name, in PyTorch's
    /// order (each module's parameters, then its buffers, then its children's)
    /// (`module.state_dict()`); a shared parameter appears under each of its names, as in
    /// PyTorch. The tensors share memory with the parameters until either is written. An
    /// `int64` buffer (`num_batches_tracked`) is given converted to `T`; the safetensors
    /// writer keeps it `int64`.
    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        walk_state(self, "", &mut |name, e| out.push((name, e.value())));
        out
    }

    /// The state dict's keys and shapes, without touching the values.
    fn state_dict_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        walk_state(self, "", &mut |name, e| out.push((name, e.shape())));
        out
    }

    /// Replaces every parameter's and buffer's value with the tensor of the same name
    /// (`module.load_state_dict(state_dict, strict=True)`); an `int64` buffer takes the value
    /// truncated to an integer. Checks everything first: a missing or unexpected key or a
    /// wrong shape is an error listing all of them, and then nothing has changed.
    fn load_state_dict(
        &self,
        state_dict: &std::collections::HashMap<String, Tensor<T>>,
    ) -> Result<()> {
        crate::serialize::apply_state_dict(self, state_dict, Default::default())
    }

    /// Every module of the tree with its dotted path, this one first under `""`, then depth
    /// first (`module.named_modules()`).
    fn named_modules(&self) -> Vec<(String, &dyn Module<T>)>
    where
        Self: Sized,
    {
        let mut out: Vec<(String, &dyn Module<T>)> = vec![(String::new(), self)];
        collect_modules(self, "", &mut out);
        out
    }

    /// A PyTorch-style description of the module tree, as `print(model)` shows it:
    ///
    /// ```text
    /// Sequential(
    ///   (0): Linear(in_features=2, out_features=3, bias=True)
    ///   (1): ReLU()
    /// )
    /// ```
    fn repr(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        let extra = self.extra_repr();
        let mut children = Vec::new();
        self.visit_children(&mut |name, child| {
            children.push(format!("({name}): {}", add_indent(&child.repr(), 2)));
        });
        if children.is_empty() {
            return format!("{}({extra})", self.type_name());
        }
        if !extra.is_empty() {
            lines.extend(extra.lines().map(str::to_string));
        }
        lines.extend(children);
        format!("{}(\n  {}\n)", self.type_name(), lines.join("\n  "))
    }
}

/// Calls `f` with the full dotted name of every parameter under `m` (duplicates included).
pub(crate) fn walk_parameters<T: Float, M: Module<T> + ?Sized>(
    m: &M,
    prefix: &str,
    f: &mut dyn FnMut(String, &Var<T>),
) {
    m.visit_parameters(&mut |name, p| f(join(prefix, name), p));
    m.visit_children(&mut |name, child| walk_parameters(child, &join(prefix, name), f));
}

/// One entry of a state dict: a parameter or a buffer.
pub(crate) enum StateEntry<'a, T: Float> {
    Param(&'a Var<T>),
    Buffer(&'a Buffer<T>),
}

impl<T: Float> StateEntry<'_, T> {
    pub(crate) fn value(&self) -> Tensor<T> {
        match self {
            StateEntry::Param(p) => p.data(),
            StateEntry::Buffer(b) => b.get(),
        }
    }

    pub(crate) fn shape(&self) -> Vec<usize> {
        match self {
            StateEntry::Param(p) => p.shape(),
            StateEntry::Buffer(b) => b.shape(),
        }
    }
}

/// Calls `f` with the full dotted name of every state-dict entry under `m`, in PyTorch's
/// order: a module's parameters, its buffers, then its children's entries.
pub(crate) fn walk_state<T: Float, M: Module<T> + ?Sized>(
    m: &M,
    prefix: &str,
    f: &mut dyn FnMut(String, StateEntry<'_, T>),
) {
    m.visit_parameters(&mut |name, p| f(join(prefix, name), StateEntry::Param(p)));
    m.visit_buffers(&mut |name, b| f(join(prefix, name), StateEntry::Buffer(b)));
    m.visit_children(&mut |name, child| walk_state(child, &join(prefix, name), f));
}

fn collect_modules<'a, T: Float, M: Module<T> + ?Sized>(
    m: &'a M,
    prefix: &str,
    out: &mut Vec<(String, &'a dyn Module<T>)>,
) {
    m.visit_children(&mut |name, child| {
        let path = join(prefix, name);
        out.push((path.clone(), child));
        collect_modules(child, &path, out);
    });
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// PyTorch's `_addindent`: every line but the first indented by `spaces`.
fn add_indent(s: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    let mut lines = s.lines();
    let mut out = lines.next().unwrap_or_default().to_string();
    for line in lines {
        out.push('\n');
        out.push_str(&pad);
        out.push_str(line);
    }
    out
}

/// `my_crate::net::Net<f32>` -> `Net`.
fn short_type_name(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

/// Runs a child module's forward, naming the child in the error when it fails.
pub(crate) fn forward_child<T: Float>(
    name: &str,
    child: &dyn Module<T>,
    x: &Var<T>,
) -> Result<Var<T>> {
    child.try_forward(x).map_err(|e| NnError::InModule {
        path: name.to_string(),
        type_name: child.type_name(),
        source: Box::new(e),
    })
}

/// A module's train/eval flag (PyTorch's `module.training`), `true` when made. Shared
/// references can flip it, so `model.eval()` works through `&model`.
#[derive(Debug)]
pub struct Training(AtomicBool);

impl Training {
    /// A flag in training mode.
    pub fn new() -> Self {
        Training(AtomicBool::new(true))
    }

    /// Whether the flag says training.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the flag.
    pub fn set(&self, mode: bool) {
        self.0.store(mode, Ordering::Relaxed);
    }
}

impl Default for Training {
    fn default() -> Self {
        Training::new()
    }
}

impl Clone for Training {
    fn clone(&self) -> Self {
        Training(AtomicBool::new(self.get()))
    }
}

/// A module's buffer, like a tensor given to PyTorch's `register_buffer`: state saved in the
/// state dict but not trained (`BatchNorm2d`'s `running_mean`, `running_var` and
/// `num_batches_tracked`). Shared references can update it, so a forward through `&module`
/// can. It holds a float tensor of the module's type or an `int64` tensor. Like a [`Var`], it
/// is a handle: clones share the value.
#[derive(Debug, Clone)]
pub struct Buffer<T: Float>(Arc<Mutex<BufferValue<T>>>);

#[derive(Debug, Clone)]
enum BufferValue<T: Float> {
    Float(Tensor<T>),
    Int64(Tensor<i64>),
}

impl<T: Float> Buffer<T> {
    /// A float buffer.
    pub fn new(value: Tensor<T>) -> Self {
        Buffer(Arc::new(Mutex::new(BufferValue::Float(value))))
    }

    /// An `int64` buffer (PyTorch's `torch.long`).
    pub fn int64(value: Tensor<i64>) -> Self {
        Buffer(Arc::new(Mutex::new(BufferValue::Int64(value))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BufferValue<T>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the buffer holds `int64` values.
    pub fn is_int64(&self) -> bool {
        matches!(*self.lock(), BufferValue::Int64(_))
    }

    /// The buffer's shape.
    pub fn shape(&self) -> Vec<usize> {
        match &*self.lock() {
            BufferValue::Float(t) => t.shape().to_vec(),
            BufferValue::Int64(t) => t.shape().to_vec(),
        }
    }

    /// The value as `T` (an `int64` buffer converted).
    pub fn get(&self) -> Tensor<T> {
        match &*self.lock() {
            BufferValue::Float(t) => t.clone(),
            BufferValue::Int64(t) => t.map(|&v| T::cast(v as f64)),
        }
    }

    /// The value of an `int64` buffer, `None` for a float one.
    pub fn get_int64(&self) -> Option<Tensor<i64>> {
        match &*self.lock() {
            BufferValue::Float(_) => None,
            BufferValue::Int64(t) => Some(t.clone()),
        }
    }

    /// Replaces the value; an `int64` buffer takes it truncated toward zero, as PyTorch's
    /// `copy_` into a `long` tensor does.
    pub fn set(&self, value: Tensor<T>) {
        let mut slot = self.lock();
        *slot = match &*slot {
            BufferValue::Float(_) => BufferValue::Float(value),
            BufferValue::Int64(_) => BufferValue::Int64(value.map(|v| v.as_f64() as i64)),
        };
    }

    /// Replaces the value of an `int64` buffer (a float buffer takes it converted).
    pub fn set_int64(&self, value: Tensor<i64>) {
        let mut slot = self.lock();
        *slot = match &*slot {
            BufferValue::Float(_) => BufferValue::Float(value.map(|&v| T::cast(v as f64))),
            BufferValue::Int64(_) => BufferValue::Int64(value),
        };
    }

    /// Runs `f` on the float value in place (an `int64` buffer is left alone).
    pub fn update(&self, f: impl FnOnce(&mut Tensor<T>)) {
        if let BufferValue::Float(t) = &mut *self.lock() {
            f(t);
        }
    }
}

macro_rules! forward_module {
    ($($ptr:ident),*) => {$(
        /// A boxed or shared module is the module it holds.
        impl<T: Float, M: Module<T> + ?Sized> Module<T> for $ptr<M> {
            fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
                (**self).try_forward(x)
            }
            fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
                (**self).visit_parameters(f)
            }
            fn visit_buffers(&self, f: &mut dyn FnMut(&str, &Buffer<T>)) {
                (**self).visit_buffers(f)
            }
            fn visit_children<'a>(&'a self, f: &mut dyn FnMut(&str, &'a dyn Module<T>)) {
                (**self).visit_children(f)
            }
            fn training_flag(&self) -> Option<&Training> {
                (**self).training_flag()
            }
            fn type_name(&self) -> String {
                (**self).type_name()
            }
            fn extra_repr(&self) -> String {
                (**self).extra_repr()
            }
            fn set_training(&self, mode: bool) {
                (**self).set_training(mode)
            }
            fn is_training(&self) -> bool {
                (**self).is_training()
            }
            fn repr(&self) -> String {
                (**self).repr()
            }
        }
    )*};
}
forward_module!(Box, Arc);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dropout, Linear, ReLU, Sequential};

    struct Block {
        layers: Sequential,
        head: Linear,
        training: Training,
    }

    impl Module for Block {
        fn try_forward(&self, x: &Var) -> Result<Var> {
            self.head.try_forward(&self.layers.try_forward(x)?)
        }
        fn visit_children<'a>(&'a self, f: &mut dyn FnMut(&str, &'a dyn Module)) {
            f("layers", &self.layers);
            f("head", &self.head);
        }
        fn training_flag(&self) -> Option<&Training> {
            Some(&self.training)
        }
    }

    fn block() -> Block {
        Block {
            layers: Sequential::new()
                .add(Linear::new(3, 4))
                .add(ReLU::new())
                .add(Dropout::new(0.5))
                .add(Linear::new(4, 4)),
            head: Linear::with_options(4, 2, false),
            training: Training::new(),
        }
    }

    #[test]
    fn dotted_names_follow_pytorch() {
        let b = block();
        let names: Vec<String> = b.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.3.weight",
                "layers.3.bias",
                "head.weight"
            ]
        );
        assert_eq!(b.num_parameters(), 3 * 4 + 4 + 4 * 4 + 4 + 4 * 2);
        let modules: Vec<String> = b.named_modules().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            modules,
            ["", "layers", "layers.0", "layers.1", "layers.2", "layers.3", "head"]
        );
        let children: Vec<String> = b.named_children().into_iter().map(|(n, _)| n).collect();
        assert_eq!(children, ["layers", "head"]);
    }

    #[test]
    fn train_and_eval_reach_every_descendant() {
        let b = block();
        assert!(b.is_training());
        b.eval();
        assert!(!b.is_training());
        assert!(!b.layers.is_training());
        for (_, m) in b.named_modules() {
            assert!(!m.is_training());
        }
        b.train();
        assert!(b.named_modules().iter().all(|(_, m)| m.is_training()));
        // Without a flag of its own, a module reports its first child's mode.
        let boxed: Box<dyn Module> = Box::new(Sequential::new().add(Linear::new(1, 1)));
        boxed.eval();
        assert!(!boxed.is_training());
    }

    #[test]
    fn shared_parameters_are_listed_once_but_saved_under_each_name() {
        let shared = Arc::new(Linear::<f32>::new(2, 2));
        let seq = Sequential::new()
            .add(shared.clone())
            .add(ReLU::new())
            .add(shared);
        assert_eq!(seq.parameters().len(), 2);
        let keys: Vec<String> = seq.state_dict().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    }

    #[test]
    fn zero_grad_clears_every_gradient() {
        let b = block();
        b.eval();
        b.forward(&Var::ones(&[2, 3])).sum().backward().unwrap();
        assert!(b.parameters().iter().all(|p| p.grad().is_some()));
        b.zero_grad();
        assert!(b.parameters().iter().all(|p| p.grad().is_none()));
    }

    #[test]
    fn repr_looks_like_pytorch_print() {
        let b = block();
        assert_eq!(
            b.repr(),
            "Block(\n  (layers): Sequential(\n    (0): Linear(in_features=3, out_features=4, bias=True)\n    (1): ReLU()\n    (2): Dropout(p=0.5, inplace=False)\n    (3): Linear(in_features=4, out_features=4, bias=True)\n  )\n  (head): Linear(in_features=4, out_features=2, bias=False)\n)"
        );
        assert_eq!(short_type_name("a::b::Net<f32, x::Y>"), "Net");
    }

    #[test]
    fn errors_name_the_failing_child() {
        let seq = Sequential::<f32>::new()
            .add(Linear::new(3, 4))
            .add(Linear::new(5, 1));
        let err = seq
            .try_forward(&Var::ones(&[2, 3]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("in module `1` (Linear)"), "{err}");
        assert!(err.contains("in_features=5"), "{err}");
    }
}
