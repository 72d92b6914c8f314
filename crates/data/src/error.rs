//! The one error type of the data crate: every message names the file, the byte offset, the
//! index or the lengths that explain it.

use std::path::PathBuf;

use antorcha_tensor::TensorError;
use thiserror::Error;

/// What went wrong while reading data files, building datasets or loading batches.
#[derive(Debug, Error)]
pub enum DataError {
    /// The operating system could not open or read a file.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that must exist is not there (e.g. one of FashionMNIST's four files).
    #[error("{what}: file {file:?} not found; expected it at {} (or the same name with .gz)", path.display())]
    MissingFile {
        what: &'static str,
        file: String,
        path: PathBuf,
    },
    /// The file does not start with the magic number of its format.
    #[error("{}: wrong magic number at byte offset {offset}: found {found}, expected {expected}", path.display())]
    BadMagic {
        path: PathBuf,
        offset: u64,
        found: String,
        expected: String,
    },
    /// The file ends inside its header.
    #[error("{}: header truncated at byte offset {offset}: the header needs {needed} bytes, the file has {len}", path.display())]
    ShortHeader {
        path: PathBuf,
        offset: u64,
        needed: u64,
        len: u64,
    },
    /// The file ends before all the elements its header announces.
    #[error("{}: data truncated at byte offset {offset}: the header announces {expected} bytes of data from offset {start}, only {found} are there", path.display())]
    ShortData {
        path: PathBuf,
        offset: u64,
        start: u64,
        expected: u64,
        found: u64,
    },
    /// Bytes after the end of the data the header announces.
    #[error("{}: {extra} unexpected bytes after the data, from byte offset {offset}", path.display())]
    TrailingData {
        path: PathBuf,
        offset: u64,
        extra: u64,
    },
    /// A header field with a value this reader cannot accept.
    #[error("{}: bad header at byte offset {offset}: {message}", path.display())]
    BadHeader {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    /// An element whose bytes are not a valid value of its type (a `bool` byte other than 0/1).
    #[error("{}: bad data at byte offset {offset}: {message}", path.display())]
    BadData {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    /// The elements in a file are not of the type that was asked for.
    #[error("{}: holds {found} elements, {expected} were asked for", path.display())]
    WrongType {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// Images and labels files that disagree on the number of samples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },
    /// An index past the end of a dataset or sampler.
    #[error("{op}: index {index} out of range for a dataset of length {len}")]
    IndexOutOfRange {
        op: &'static str,
        index: usize,
        len: usize,
    },
    /// Tensors given to a `TensorDataset` whose first dimensions differ.
    #[error("TensorDataset: every tensor needs the same first dimension, got sizes {sizes:?}")]
    SizeMismatch { sizes: Vec<usize> },
    /// `random_split` lengths that do not add up to the dataset's length.
    #[error("random_split: lengths {lengths:?} sum to {sum}, but the dataset has {len} items")]
    SplitLengths {
        lengths: Vec<usize>,
        sum: usize,
        len: usize,
    },
    /// `random_split` fractions that are negative or do not sum to 1.
    #[error("random_split: fractions {fractions:?} must be in [0, 1] and sum to 1 (sum is {sum})")]
    SplitFractions { fractions: Vec<f64>, sum: f64 },
    /// A batch size of zero.
    #[error("{op}: batch_size must be at least 1, got 0")]
    ZeroBatchSize { op: &'static str },
    /// A loader worker thread panicked while fetching a batch.
    #[error("DataLoader worker {worker} panicked while loading batch {batch}: {message}")]
    WorkerPanic {
        worker: usize,
        batch: usize,
        message: String,
    },
    /// Any other invalid argument, with the op and what was expected.
    #[error("{op}: {message}")]
    InvalidArgument { op: &'static str, message: String },
    /// A tensor operation failed (shapes that do not stack, …).
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// The data crate's result type.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        DataError::InvalidArgument {
            op,
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
