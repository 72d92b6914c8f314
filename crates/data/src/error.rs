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
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file that must exist is not there (e.g. one of FashionMNIST's four files).
    #[error("{what}: file {file:?} not found; expected it at {} (or the same name with .gz)", path.display())]
    MissingFile {
        /// The dataset that needs the file.
        what: &'static str,
        /// The file's name.
        file: String,
        /// Where the file was expected.
        path: PathBuf,
    },
    /// The file does not start with the magic number of its format.
    #[error("{}: wrong magic number at byte offset {offset}: found {found}, expected {expected}", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// The magic number found (hex).
        found: String,
        /// The magic number expected.
        expected: String,
    },
    /// The file ends inside its header.
    #[error("{}: header truncated at byte offset {offset}: the header needs {needed} bytes, the file has {len}", path.display())]
    ShortHeader {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// How many bytes the header needs.
        needed: u64,
        /// How many bytes the file has.
        len: u64,
    },
    /// The file ends before all the elements its header announces.
    #[error("{}: data truncated at byte offset {offset}: the header announces {expected} bytes of data from offset {start}, only {found} are there", path.display())]
    ShortData {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// The byte offset where the data start.
        start: u64,
        /// How many bytes of data the header announces.
        expected: u64,
        /// How many bytes of data are there.
        found: u64,
    },
    /// Bytes after the end of the data the header announces.
    #[error("{}: {extra} unexpected bytes after the data, from byte offset {offset}", path.display())]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// How many bytes follow the data.
        extra: u64,
    },
    /// A header field with a value this reader cannot accept.
    #[error("{}: bad header at byte offset {offset}: {message}", path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// An element whose bytes are not a valid value of its type (a `bool` byte other than 0/1).
    #[error("{}: bad data at byte offset {offset}: {message}", path.display())]
    BadData {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The elements in a file are not of the type that was asked for.
    #[error("{}: holds {found} elements, {expected} were asked for", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The element type in the file.
        found: String,
        /// The element type asked for.
        expected: String,
    },
    /// Images and labels files that disagree on the number of samples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// How many images it holds.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// How many labels it holds.
        labels: usize,
    },
    /// An index past the end of a dataset or sampler.
    #[error("{op}: index {index} out of range for a dataset of length {len}")]
    IndexOutOfRange {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// The index given.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
    /// Tensors given to a `TensorDataset` whose first dimensions differ.
    #[error("TensorDataset: every tensor needs the same first dimension, got sizes {sizes:?}")]
    SizeMismatch {
        /// The first dimension of each tensor.
        sizes: Vec<usize>,
    },
    /// `random_split` lengths that do not add up to the dataset's length.
    #[error("random_split: lengths {lengths:?} sum to {sum}, but the dataset has {len} items")]
    SplitLengths {
        /// The lengths given.
        lengths: Vec<usize>,
        /// Their sum.
        sum: usize,
        /// The dataset's length.
        len: usize,
    },
    /// `random_split` fractions that are negative or do not sum to 1.
    #[error("random_split: fractions {fractions:?} must be in [0, 1] and sum to 1 (sum is {sum})")]
    SplitFractions {
        /// The fractions given.
        fractions: Vec<f64>,
        /// Their sum.
        sum: f64,
    },
    /// A batch size of zero.
    #[error("{op}: batch_size must be at least 1, got 0")]
    ZeroBatchSize {
        /// The operation (function or method) that failed.
        op: &'static str,
    },
    /// A loader worker thread panicked while fetching a batch.
    #[error("DataLoader worker {worker} panicked while loading batch {batch}: {message}")]
    WorkerPanic {
        /// The worker's number.
        worker: usize,
        /// The batch it was loading.
        batch: usize,
        /// The panic's message.
        message: String,
    },
    /// Any other invalid argument, with the op and what was expected.
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The operation (function or method) that failed.
        op: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
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
