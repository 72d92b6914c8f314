//! The one error type of the tensor crate: every message names the op and the shapes.

use thiserror::Error;

/// What went wrong in a tensor operation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TensorError {
    /// Two shapes that NumPy's broadcasting rules cannot join.
    #[error("cannot broadcast {lhs:?} with {rhs:?} in {op}")]
    Broadcast {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// The left operand's shape.
        lhs: Vec<usize>,
        /// The right operand's shape.
        rhs: Vec<usize>,
    },
    /// Shapes that do not fit an op that needs particular shapes (matmul, cat, where …).
    #[error("{op}: shapes {lhs:?} and {rhs:?} do not fit: {reason}{}", hint.map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    ShapeMismatch {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// The left operand's shape.
        lhs: Vec<usize>,
        /// The right operand's shape.
        rhs: Vec<usize>,
        /// Why the shapes do not fit.
        reason: String,
        /// What to do instead, when there is an obvious fix.
        hint: Option<&'static str>,
    },
    /// A data length that does not match the number of elements of a shape.
    #[error("{op}: {len} elements cannot fill shape {shape:?} ({expected} elements)")]
    DataLength {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// How many values were given.
        len: usize,
        /// The shape asked for.
        shape: Vec<usize>,
        /// How many values that shape holds.
        expected: usize,
    },
    /// A dimension outside `-ndim..ndim`.
    #[error("{op}: dimension {dim} out of range for a tensor of shape {shape:?} (expected -{n}..{n})", n = shape.len().max(1))]
    DimOutOfRange {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// The dimension given.
        dim: isize,
        /// The shape of the tensor.
        shape: Vec<usize>,
    },
    /// An index outside a dimension's size.
    #[error(
        "{op}: index {index} out of range for dimension {dim} of size {size} (shape {shape:?})"
    )]
    IndexOutOfRange {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// The index given.
        index: i64,
        /// The dimension given.
        dim: usize,
        /// The size of that dimension.
        size: usize,
        /// The shape of the tensor.
        shape: Vec<usize>,
    },
    /// Any other invalid argument, with the op and what was expected.
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// The tensor crate's result type.
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

impl TensorError {
    /// A [`TensorError::ShapeMismatch`] without a hint.
    pub(crate) fn shapes(op: &'static str, lhs: &[usize], rhs: &[usize], reason: String) -> Self {
        TensorError::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            reason,
            hint: None,
        }
    }

    pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        TensorError::InvalidArgument {
            op,
            message: message.into(),
        }
    }
}

/// Unwraps the `try_` form's result, panicking at the caller's line with the error's message.
#[track_caller]
#[inline]
pub(crate) fn ok<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
