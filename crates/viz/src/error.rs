//! The error type of `antorcha-viz`.

use std::path::PathBuf;

/// Why a picture could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum VizError {
    /// Reading or writing a file failed.
    #[error("{op}: cannot write {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The Graphviz `dot` program is not installed (or not where it was looked for).
    #[error(
        "{op}: the Graphviz program `{program}` was not found; install Graphviz (e.g. `apt-get install graphviz`) \
         or write .dot, or .svg with Antorcha's own layout (`Dot::to_svg`)"
    )]
    GraphvizMissing {
        /// What was being done.
        op: &'static str,
        /// The program that was looked for.
        program: String,
    },

    /// Graphviz ran but failed.
    #[error("{op}: `{program} -T{format}` failed ({status}): {stderr}")]
    GraphvizFailed {
        /// What was being done.
        op: &'static str,
        /// The program that ran.
        program: String,
        /// The output format asked for.
        format: String,
        /// Its exit status.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },

    /// The file name's extension does not name a format this crate writes.
    #[error("{op}: cannot tell the format of {path}: use a .dot, .svg or .png file name")]
    UnsupportedFormat {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
    },

    /// A plot was asked of no data.
    #[error("{plot}: {what} is empty: nothing to plot")]
    EmptyData {
        /// The plot.
        plot: &'static str,
        /// Which series was empty.
        what: &'static str,
    },

    /// Paired series of different lengths.
    #[error("{plot}: {x} has {x_len} values but {y} has {y_len}")]
    LengthMismatch {
        /// The plot.
        plot: &'static str,
        /// The first series' name.
        x: &'static str,
        /// Its length.
        x_len: usize,
        /// The second series' name.
        y: &'static str,
        /// Its length.
        y_len: usize,
    },

    /// A value that cannot be placed on an axis (NaN or infinite).
    #[error("{plot}: {what}[{index}] is {value}: only finite values can be plotted")]
    NonFinite {
        /// The plot.
        plot: &'static str,
        /// The series.
        what: &'static str,
        /// The position of the value.
        index: usize,
        /// The value.
        value: f64,
    },

    /// The plotting library reported an error.
    #[error("{plot}: drawing failed: {message}")]
    Plot {
        /// The plot.
        plot: &'static str,
        /// The drawing library's message.
        message: String,
    },

    /// Input a picture cannot be drawn from (an image tensor of the wrong shape, a class index
    /// without a name, …).
    #[error("{plot}: {message}")]
    InvalidInput {
        /// The picture.
        plot: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },

    /// A model or option that is not available.
    #[error("{op}: {message}")]
    Unavailable {
        /// What was being done.
        op: &'static str,
        /// What is missing and what to do instead.
        message: String,
    },
}

/// `Result` with [`VizError`].
pub type Result<T, E = VizError> = std::result::Result<T, E>;
