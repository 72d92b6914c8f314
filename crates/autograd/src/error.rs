//! The autograd crate's error type: what went wrong, in which op, created where.

use antorcha_tensor::TensorError;
use thiserror::Error;

/// What went wrong while recording or differentiating a graph.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AutogradError {
    /// A tensor op failed (shapes that do not broadcast, a bad dim, …).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// `backward()` without a gradient on an output that is not a single element.
    #[error("grad can be implicitly created only for scalar outputs, but the output has shape {shape:?}; pass the output's gradient with `backward_with` (hint: did you mean `loss.mean().backward()`?)")]
    NonScalarOutput {
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// `backward()` on a value that does not depend on anything that requires grad.
    #[error("element 0 of tensors does not require grad and does not have a grad_fn (shape {shape:?}); did you forget `.requires_grad()` on a parameter, or build it under `no_grad`?")]
    NoGradFn {
        /// The var's shape.
        shape: Vec<usize>,
    },
    /// A gradient whose shape differs from the value it belongs to.
    #[error("{context}: gradient of shape {grad:?} does not match the value's shape {expected:?}")]
    GradShape {
        /// Where the gradient came from (a hook, a backward node, …).
        context: String,
        /// The gradient's shape.
        grad: Vec<usize>,
        /// The shape it should have.
        expected: Vec<usize>,
    },
    /// A second backward through a graph whose saved values were already freed.
    #[error("trying to backward through the graph a second time (through {node}, created at {location}): its saved values were freed after the first backward; pass `retain_graph: true` to the first backward if you need to go through it twice")]
    FreedGraph {
        /// The backward node (`MulBackward0`, …).
        node: &'static str,
        /// Where the op was recorded (file:line).
        location: String,
    },
    /// An in-place change to a value that requires grad, while grad mode is on.
    #[error("{op}: a {what} that requires grad is being used in an in-place operation (shape {shape:?}); do it inside `no_grad()`")]
    InPlaceRequiresGrad {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// Which operand (`self`, …).
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A value the graph saved for backward was changed in place before backward ran.
    #[error("one of the variables needed for gradient computation has been modified by an in-place operation: `{saved}` of shape {shape:?} saved by {node} (created at {location}) is at version {found}; expected version {expected}")]
    SavedValueModified {
        /// The backward node (`MulBackward0`, …).
        node: &'static str,
        /// Where the op was recorded (file:line).
        location: String,
        /// The saved value's name.
        saved: &'static str,
        /// Its shape.
        shape: Vec<usize>,
        /// The version it was saved at.
        expected: u64,
        /// Its version now.
        found: u64,
    },
    /// Anomaly mode found a NaN or an infinity in a gradient.
    #[error("anomaly detected: {node} (the backward of the op created at {location}) returned {what} in its gradient for input {input}")]
    Anomaly {
        /// The backward node (`MulBackward0`, …).
        node: &'static str,
        /// Where the op was recorded (file:line).
        location: String,
        /// Which input of the node.
        input: usize,
        /// What was found (`nan`, …).
        what: &'static str,
    },
    /// Any other misuse, with an explanation.
    #[error("{op}: {message}")]
    Invalid {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// The autograd crate's result type.
pub type Result<T, E = AutogradError> = std::result::Result<T, E>;

/// Unwraps a `try_` form's result, panicking at the caller's line with the error's message.
#[track_caller]
#[inline]
pub(crate) fn ok<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
