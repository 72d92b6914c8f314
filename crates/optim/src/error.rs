//! The optim crate's error type: bad hyper-parameters, bad parameter lists, states that do not
//! fit, with PyTorch's wording where PyTorch has one.

use antorcha_autograd::AutogradError;
use thiserror::Error;

/// What went wrong while building, stepping or restoring an optimizer or a scheduler.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptimError {
    /// A hyper-parameter outside its range (`Invalid learning rate: -0.1`, as PyTorch says).
    /// `what` is PyTorch's name for it: `learning rate`, `momentum value`,
    /// `weight_decay value`, `epsilon value`, `beta parameter at index 0`, `alpha value`, …
    #[error("Invalid {what}: {value:?}")]
    InvalidHyperParameter {
        /// PyTorch's name for the hyper-parameter (`learning rate`, …).
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// `nesterov` without momentum or with dampening.
    #[error("Nesterov momentum requires a momentum and zero dampening (got momentum {momentum:?}, dampening {dampening:?})")]
    Nesterov {
        /// The momentum given.
        momentum: f64,
        /// The dampening given.
        dampening: f64,
    },
    /// An optimizer or a parameter group built from no parameters.
    #[error("{optimizer} got an empty parameter list")]
    EmptyParams {
        /// The optimizer (PyTorch's class name).
        optimizer: &'static str,
    },
    /// A parameter that is the result of an op, not a leaf.
    #[error("{optimizer}: can't optimize a non-leaf Tensor (parameter {index} of shape {shape:?} was computed by {grad_fn}); pass the leaf, or `detach()` it and mark it with `requires_grad()`")]
    NonLeaf {
        /// The optimizer (PyTorch's class name).
        optimizer: &'static str,
        /// The parameter's position in the list.
        index: usize,
        /// The parameter's shape.
        shape: Vec<usize>,
        /// The backward node that computed it.
        grad_fn: &'static str,
    },
    /// The same parameter twice (in one group or in two).
    #[error("{optimizer}: some parameters appear more than once (parameter of shape {shape:?}); each parameter may be in only one place of one parameter group")]
    DuplicateParam {
        /// The optimizer (PyTorch's class name).
        optimizer: &'static str,
        /// The repeated parameter's shape.
        shape: Vec<usize>,
    },
    /// A gradient whose shape is not its parameter's (the parameter's value was replaced by one
    /// of another shape after its gradient was computed).
    #[error("{optimizer}.step: the gradient of shape {grad:?} does not match its parameter's shape {param:?}")]
    GradShape {
        /// The optimizer (PyTorch's class name).
        optimizer: &'static str,
        /// The gradient's shape.
        grad: Vec<usize>,
        /// The parameter's shape.
        param: Vec<usize>,
    },
    /// A saved state that does not fit this optimizer (`load_state`).
    #[error("{optimizer}.load_state: {message}")]
    State {
        /// The optimizer (PyTorch's class name).
        optimizer: &'static str,
        /// What does not fit.
        message: String,
    },
    /// A scheduler built with arguments it cannot use.
    #[error("{scheduler}: {message}")]
    Scheduler {
        /// The scheduler (PyTorch's class name).
        scheduler: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A gradient norm that is NaN or infinite where a finite one was required.
    #[error("The total norm of order {norm_type:?} for gradients from `parameters` is non-finite ({total_norm:?}), so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite` to false")]
    NonFiniteNorm {
        /// The order of the norm.
        norm_type: f64,
        /// The norm computed.
        total_norm: f64,
    },
    /// An error from the autograd crate.
    #[error(transparent)]
    Autograd(#[from] AutogradError),
}

/// The optim crate's result type.
pub type Result<T, E = OptimError> = std::result::Result<T, E>;

/// Checks `0 <= value` (false for NaN), PyTorch's test for most hyper-parameters.
pub(crate) fn non_negative(what: &'static str, value: f64) -> Result<()> {
    if 0.0 <= value {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperParameter { what, value })
    }
}

/// Checks `0 <= value < 1` (false for NaN), PyTorch's test for betas.
pub(crate) fn unit_interval(what: &'static str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperParameter { what, value })
    }
}
