//! The one error type of the tensor crate: every message names the op and the shapes.

use thiserror::Error;

/// What went wrong in a tensor operation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TensorError {
    /// Two shapes that NumPy's broadcasting rules cannot join.
    #[error("cannot broadcast {lhs:?} with {rhs:?} in {op}")]
    Broadcast {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
    },
    /// Shapes that do not fit an op that needs particular shapes (matmul, cat, where …).
    #[error("{op}: shapes {lhs:?} and {rhs:?} do not fit: {reason}{}", hint.map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    ShapeMismatch {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
        reason: String,
        hint: Option<&'static str>,
    },
    /// A data length that does not match the number of elements of a shape.
    #[error("{op}: {len} elements cannot fill shape {shape:?} ({expected} elements)")]
    DataLength {
        op: &'static str,
        len: usize,
        shape: Vec<usize>,
        expected: usize,
    },
    /// A dimension outside `-ndim..ndim`.
    #[error("{op}: dimension {dim} out of range for a tensor of shape {shape:?} (expected -{n}..{n})", n = shape.len().max(1))]
    DimOutOfRange {
        op: &'static str,
        dim: isize,
        shape: Vec<usize>,
    },
    /// An index outside a dimension's size.
    #[error(
        "{op}: index {index} out of range for dimension {dim} of size {size} (shape {shape:?})"
    )]
    IndexOutOfRange {
        op: &'static str,
        index: i64,
        dim: usize,
        size: usize,
        shape: Vec<usize>,
    },
    /// Any other invalid argument, with the op and what was expected.
    #[error("{op}: {message}")]
    InvalidArgument { op: &'static str, message: String },
}

/// The tensor crate's result type.
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

impl TensorError {
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
