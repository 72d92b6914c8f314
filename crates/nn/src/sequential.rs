//! `Sequential`: modules applied one after the other, named `0`, `1`, … like PyTorch's, or by
//! the names given (`Sequential(OrderedDict(...))`).

use std::fmt;

use antorcha_autograd::tensor::Float;
use antorcha_autograd::Var;

use crate::error::Result;
use crate::module::{forward_child, Module, Training};

/// A chain of modules, each fed the previous one's output, like `torch.nn.Sequential`.
/// The children are named by position, so the parameters are `0.weight`, `2.bias`, …, or by the
/// name given with [`Sequential::add_named`].
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{Flatten, Linear, Module, ReLU, Sequential};
/// let model: Sequential = Sequential::new()
///     .add(Flatten::new())
///     .add(Linear::new(4, 8))
///     .add(ReLU::new())
///     .add(Linear::new(8, 3));
/// assert_eq!(model.forward(&Var::ones(&[5, 2, 2])).shape(), vec![5, 3]);
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["1.weight", "1.bias", "3.weight", "3.bias"]);
/// ```
pub struct Sequential<T: Float = f32> {
    layers: Vec<(String, Box<dyn Module<T>>)>,
    training: Training,
}

impl<T: Float> Sequential<T> {
    /// An empty chain (its forward returns the input).
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            training: Training::new(),
        }
    }

    /// Appends a module and returns the chain, for building in one expression.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, module: impl Module<T> + 'static) -> Self {
        self.push(module);
        self
    }

    /// Appends a module (`sequential.append(module)`).
    pub fn push(&mut self, module: impl Module<T> + 'static) {
        self.push_boxed(Box::new(module));
    }

    /// Appends an already boxed module.
    ///
    /// # Panics
    /// If a child given a name already holds this position's name (`"2"` for the third).
    #[track_caller]
    pub fn push_boxed(&mut self, module: Box<dyn Module<T>>) {
        let name = self.layers.len().to_string();
        crate::error::ok(self.try_push_named_boxed(name, module));
    }

    /// Appends a module under `name`, like `nn.Sequential(OrderedDict([(name, module), …]))`
    /// or `add_module(name, module)`: its parameters are then `name.weight`, …, so a PyTorch
    /// model's `state_dict` names can be matched. Returns the chain.
    ///
    /// ```
    /// use antorcha_nn::{Flatten, Linear, Module, ReLU, Sequential};
    /// // The notebook's `NeuralNetwork`: `self.flatten`, then `self.linear_relu_stack`.
    /// let model: Sequential = Sequential::new()
    ///     .add_named("flatten", Flatten::new())
    ///     .add_named("linear_relu_stack", Sequential::new()
    ///         .add(Linear::new(4, 8))
    ///         .add(ReLU::new())
    ///         .add(Linear::new(8, 2)));
    /// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names[0], "linear_relu_stack.0.weight");
    /// ```
    ///
    /// # Panics
    /// When [`Sequential::try_push_named`] would return an error.
    #[track_caller]
    pub fn add_named(mut self, name: impl Into<String>, module: impl Module<T> + 'static) -> Self {
        crate::error::ok(self.try_push_named(name, module));
        self
    }

    /// Appends a module under `name`, or says why the name cannot be used: empty, containing
    /// a `.`, or already taken (PyTorch's `add_module` rules).
    pub fn try_push_named(
        &mut self,
        name: impl Into<String>,
        module: impl Module<T> + 'static,
    ) -> Result<()> {
        self.try_push_named_boxed(name.into(), Box::new(module))
    }

    fn try_push_named_boxed(&mut self, name: String, module: Box<dyn Module<T>>) -> Result<()> {
        let problem = if name.is_empty() {
            Some("module name can't be empty string \"\"".to_string())
        } else if name.contains('.') {
            Some(format!("module name can't contain \".\", got: {name}"))
        } else if self.layers.iter().any(|(n, _)| *n == name) {
            Some(format!("a child named \"{name}\" already exists"))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(crate::error::NnError::invalid("add_module", message));
        }
        self.layers.push((name, module));
        Ok(())
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The module at `index` (`sequential[index]`).
    pub fn get(&self, index: usize) -> Option<&dyn Module<T>> {
        self.layers.get(index).map(|(_, m)| m.as_ref())
    }

    /// The modules in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Module<T>> {
        self.layers.iter().map(|(_, m)| m.as_ref())
    }
}

impl<T: Float> Default for Sequential<T> {
    fn default() -> Self {
        Sequential::new()
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    /// Runs the modules in order; an error names the module it came from.
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let mut x = x.clone();
        for (name, m) in &self.layers {
            x = forward_child(name, m.as_ref(), &x)?;
        }
        Ok(x)
    }

    fn visit_children<'a>(&'a self, f: &mut dyn FnMut(&str, &'a dyn Module<T>)) {
        for (name, m) in &self.layers {
            f(name, m.as_ref());
        }
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl<T: Float> fmt::Debug for Sequential<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Builds a [`Sequential`] from a list of modules, like `nn.Sequential(a, b, c)`.
///
/// ```
/// use antorcha_nn::{sequential, Linear, Module, ReLU, Sequential};
/// let model: Sequential = sequential![Linear::new(2, 3), ReLU::new(), Linear::new(3, 1)];
/// assert_eq!(model.len(), 3);
/// ```
#[macro_export]
macro_rules! sequential {
    ($($module:expr),* $(,)?) => {
        $crate::Sequential::new()$(.add($module))*
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linear, ReLU};
    use antorcha_autograd::Tensor;

    #[test]
    fn chains_in_order_and_empty_is_identity() {
        let a = Linear::<f64>::from_parts(Tensor::from_vec(vec![-1.0], &[1, 1]), None).unwrap();
        let b = Linear::<f64>::from_parts(
            Tensor::from_vec(vec![2.0], &[1, 1]),
            Some(Tensor::from_vec(vec![1.0], &[1])),
        )
        .unwrap();
        let seq = Sequential::new().add(a).add(ReLU::new()).add(b);
        let x = Var::from_vec(vec![-3.0, 3.0], &[2, 1]);
        // relu(-x) * 2 + 1
        assert_eq!(seq.forward(&x).to_vec(), vec![7.0, 1.0]);
        assert_eq!(seq.len(), 3);
        assert!(seq.get(1).is_some() && seq.get(3).is_none());
        assert_eq!(seq.iter().count(), 3);
        let empty = Sequential::<f64>::new();
        assert!(empty.is_empty());
        assert_eq!(empty.forward(&x).to_vec(), x.to_vec());
    }

    #[test]
    fn nested_names_and_macro() {
        let inner: Sequential = sequential![Linear::new(2, 2), ReLU::new()];
        let mut outer = Sequential::new();
        outer.push(inner);
        outer.push_boxed(Box::new(Linear::new(2, 1)));
        let names: Vec<String> = outer
            .named_parameters()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]);
        assert!(
            format!("{outer:?}").starts_with("Sequential(\n  (0): Sequential(\n    (0): Linear")
        );
        let err = outer
            .try_forward(&Var::ones(&[1, 3]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("in module `0` (Sequential): in module `0` (Linear)"),
            "{err}"
        );
    }

    #[test]
    fn named_children_and_bad_names() {
        let mut seq: Sequential = Sequential::new()
            .add_named("fc1", Linear::new(2, 3))
            .add_named("act", ReLU::new());
        seq.push(Linear::new(3, 1)); // positional: "2"
        let names: Vec<String> = seq.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["fc1.weight", "fc1.bias", "2.weight", "2.bias"]);
        assert!(format!("{seq:?}").contains("(fc1): Linear"));
        assert_eq!(seq.forward(&Var::ones(&[4, 2])).shape(), vec![4, 1]);
        for (bad, says) in [
            ("", "empty"),
            ("a.b", "can't contain"),
            ("fc1", "already exists"),
        ] {
            let err = seq
                .try_push_named(bad, ReLU::new())
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        // A positional name that a named child already holds is refused the same way: the
        // second child's positional name would be "1".
        let mut clash: Sequential = Sequential::new().add_named("1", ReLU::new());
        let pushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            clash.push(ReLU::new());
        }));
        let panic = pushed.unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("\"1\" already exists"), "{message}");
    }
}
