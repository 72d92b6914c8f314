//! The nn crate's error type: bad layer arguments, inputs of the wrong shape, and weights files
//! that do not fit the model (with every key and shape that does not fit).

use std::fmt;
use std::path::PathBuf;

use antorcha_autograd::tensor::TensorError;
use antorcha_autograd::AutogradError;
use thiserror::Error;

/// What went wrong in a module, a loss or while saving or loading weights.
#[derive(Debug, Error)]
pub enum NnError {
    /// An op of the forward pass failed (shapes that do not fit, a bad dim, …).
    #[error(transparent)]
    Autograd(#[from] AutogradError),
    /// A tensor op failed outside the graph.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A layer or loss got an argument it cannot work with (a dropout probability of 2, a
    /// kernel larger than the padded input, …).
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The layer, loss or function.
        op: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
    /// An input whose shape the module cannot take.
    #[error("{module}: {message} (got input of shape {shape:?})")]
    InputShape {
        /// The module or function.
        module: &'static str,
        /// The input's shape.
        shape: Vec<usize>,
        /// What shape was expected.
        message: String,
    },
    /// An error inside a child module, with the child's name (`2`, `encoder.fc1`) and type.
    #[error("in module `{path}` ({type_name}): {source}")]
    InModule {
        /// The child's dotted name.
        path: String,
        /// The child's type (`Linear`).
        type_name: String,
        /// The child's error.
        source: Box<NnError>,
    },
    /// A state dict that does not fit the model: every missing and unexpected key, and every
    /// tensor whose shape or dtype differs. Nothing was loaded.
    #[error("{0}")]
    StateDict(StateDictMismatch),
    /// Reading or writing a weights file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `.pt` file that cannot be read: not the zip format of `torch.save`, malformed, or
    /// holding something `torch.load(weights_only=True)` would refuse (named in the message).
    #[error("{path}: cannot read this .pt file: {message}")]
    Pt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A weights file that is not valid safetensors (truncated, bad header, bad offsets).
    #[error("{path}: not a valid safetensors file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// The ways a state dict can fail to fit a model, all listed at once, like PyTorch's
/// `Error(s) in loading state_dict`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDictMismatch {
    /// Where the state dict came from (a file name), if anywhere.
    pub source: Option<PathBuf>,
    /// Keys the model has but the state dict lacks.
    pub missing: Vec<String>,
    /// Keys the state dict has but the model lacks.
    pub unexpected: Vec<String>,
    /// `(key, what differs)` for tensors present on both sides that do not fit.
    pub mismatched: Vec<(String, String)>,
}

impl StateDictMismatch {
    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }
}

impl fmt::Display for StateDictMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error(s) in loading state_dict")?;
        if let Some(path) = &self.source {
            write!(f, " from {}", path.display())?;
        }
        write!(f, " (nothing was loaded):")?;
        let quoted = |keys: &[String]| {
            keys.iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.missing.is_empty() {
            write!(
                f,
                "\n    Missing key(s) in state_dict: {}.",
                quoted(&self.missing)
            )?;
        }
        if !self.unexpected.is_empty() {
            write!(
                f,
                "\n    Unexpected key(s) in state_dict: {}.",
                quoted(&self.unexpected)
            )?;
        }
        for (key, what) in &self.mismatched {
            write!(f, "\n    {key}: {what}.")?;
        }
        Ok(())
    }
}

/// The nn crate's result type.
pub type Result<T, E = NnError> = std::result::Result<T, E>;

impl NnError {
    pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        NnError::InvalidArgument {
            op,
            message: message.into(),
        }
    }
}

/// Unwraps a `try_` form's result, panicking at the caller's line with the error's message.
#[track_caller]
#[inline]
pub(crate) fn ok<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
