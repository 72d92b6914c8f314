//! Printing tensors the way PyTorch's `print(tensor)` / `repr(tensor)` does (`torch/_tensor_str.py`
//! with the default print options: precision 4, threshold 1000, edgeitems 3, linewidth 80).
//!
//! The element strings come from one formatter for the whole tensor (or, when summarising, for
//! the elements that are shown), so columns line up:
//! - floats whose finite nonzero values are all integers print as `1.`, `-3.`;
//! - other floats print with 4 decimals (`1.5000`);
//! - scientific notation (`1.0000e+05`) when the largest finite nonzero magnitude is more than
//!   1000 times the smallest or above `1e8`, or (non-integer tensors only) the smallest is below
//!   `1e-4`;
//! - integers and bools print as Python does (`3`, `True`).
//!
//! The element type is recognised with `Any`, so [`Element`] needs no printing method; an element
//! type this module does not know prints its `Debug` form.

use std::any::Any;
use std::fmt;
use std::ops::Range;

use ndarray::{ArrayViewD, Axis, Slice};

use crate::element::Element;
use crate::tensor::Tensor;

/// Digits after the point (PyTorch's `precision`).
const PRECISION: usize = 4;
/// More elements than this are summarised with `...` (PyTorch's `threshold`).
const THRESHOLD: usize = 1000;
/// Items kept at each end of a summarised dimension (PyTorch's `edgeitems`).
const EDGEITEMS: usize = 3;
/// Characters per line before a 1-D run of elements wraps (PyTorch's `linewidth`).
const LINEWIDTH: usize = 80;
/// What every tensor's text starts with; continuation lines are indented by its length.
const PREFIX: &str = "tensor(";

/// Prints like PyTorch's `print(tensor)`: `tensor([[1., 2.]])`, 4 decimals for non-integer
/// floats, scientific notation for wide ranges, `...` for more than 1000 elements, and a
/// `dtype=torch.…` suffix for types other than `float32`, `int64` and `bool`.
///
/// ```
/// use antorcha_tensor::Tensor;
/// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
/// assert_eq!(x.to_string(), "tensor([[1., 2.],\n        [3., 4.]])");
/// let y = Tensor::<f32>::from_vec(vec![0.5, -1.25], &[2]);
/// assert_eq!(format!("{y}"), "tensor([ 0.5000, -1.2500])");
/// let z = Tensor::<f64>::from_vec(vec![1.0, 2.0], &[1, 2]);
/// assert_eq!(format!("{z}"), "tensor([[1., 2.]], dtype=torch.float64)");
/// ```
impl<T: Element> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tensor_repr(self))
    }
}

/// The same text as [`Display`](fmt::Display), as PyTorch's `repr(tensor)` equals `str(tensor)`.
impl<T: Element> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tensor_repr(self))
    }
}

/// PyTorch's `_str_intern` for a plain dense CPU tensor.
fn tensor_repr<T: Element>(tensor: &Tensor<T>) -> String {
    let indent = PREFIX.len();
    let mut out = String::from(PREFIX);
    let mut suffixes = Vec::new();
    if tensor.numel() == 0 {
        out.push_str("[]");
        // The shape is printed unless it is (0,), as NumPy does; the dtype is printed for
        // everything but the default float type, since no element shows it.
        if tensor.ndim() != 1 {
            suffixes.push(format!("size={}", python_tuple(tensor.shape())));
        }
        if T::DTYPE != "float32" {
            suffixes.push(format!("dtype=torch.{}", T::DTYPE));
        }
    } else {
        if !matches!(T::DTYPE, "float32" | "int64" | "bool") {
            suffixes.push(format!("dtype=torch.{}", T::DTYPE));
        }
        let summarize = tensor.numel() > THRESHOLD;
        let mut shown = Vec::new();
        collect_shown(tensor.view(), summarize, &mut shown);
        let (strings, width) = format_elements(&shown);
        let mut items = strings.into_iter();
        layout(
            tensor.shape(),
            indent,
            summarize,
            width,
            &mut items,
            &mut out,
        );
    }
    add_suffixes(&mut out, &suffixes, indent);
    out
}

/// PyTorch's `_add_suffixes`: each suffix goes on the current line unless that would pass the
/// line width (PyTorch counts the last line as two characters longer than it is).
fn add_suffixes(out: &mut String, suffixes: &[String], indent: usize) {
    let last_line = out.rfind('\n').map_or(&out[..], |p| &out[p + 1..]);
    let mut last_line_len = last_line.chars().count() + 2;
    for suffix in suffixes {
        let suffix_len = suffix.chars().count();
        if last_line_len + suffix_len + 2 > LINEWIDTH {
            out.push_str(",\n");
            push_spaces(out, indent);
            last_line_len = indent + suffix_len;
        } else {
            out.push_str(", ");
            last_line_len += suffix_len + 2;
        }
        out.push_str(suffix);
    }
    out.push(')');
}

/// A shape as Python prints a tuple: `(2, 0)`, `(5,)`, `()`.
fn python_tuple(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// The indices of an axis of length `len` that are printed: all, or the first and last
/// `EDGEITEMS` (with `...` between them) when summarising a long axis.
fn shown_ranges(len: usize, summarize: bool) -> (Range<usize>, Option<Range<usize>>) {
    if summarize && len > 2 * EDGEITEMS {
        (0..EDGEITEMS, Some(len - EDGEITEMS..len))
    } else {
        (0..len, None)
    }
}

/// The printed elements in printing order (PyTorch's `get_summarized_data`, flattened); the
/// formatter is built from these alone, as in PyTorch.
fn collect_shown<'a, T>(view: ArrayViewD<'a, T>, summarize: bool, out: &mut Vec<&'a T>) {
    if view.ndim() == 0 {
        out.extend(view);
        return;
    }
    let (head, tail) = shown_ranges(view.len_of(Axis(0)), summarize);
    if view.ndim() == 1 {
        if tail.is_none() {
            out.extend(view);
            return;
        }
        for range in std::iter::once(head).chain(tail) {
            let mut part = view.clone();
            part.slice_axis_inplace(Axis(0), Slice::from(range));
            out.extend(part);
        }
        return;
    }
    for i in head.chain(tail.into_iter().flatten()) {
        collect_shown(view.clone().index_axis_move(Axis(0), i), summarize, out);
    }
}

/// PyTorch's `_tensor_str_with_formatter`: nested brackets, `,` plus `ndim - 1` newlines between
/// sub-tensors, continuation lines indented to line up under the opening bracket.
fn layout(
    shape: &[usize],
    indent: usize,
    summarize: bool,
    width: usize,
    items: &mut std::vec::IntoIter<String>,
    out: &mut String,
) {
    let mut next = || {
        items
            .next()
            .expect("one formatted string per shown element")
    };
    match shape {
        [] => out.push_str(&next()),
        [len] => {
            // PyTorch's `_vector_str`: wrap after as many elements as fit in the line width,
            // counting each as the common width plus ", " (the `...` marker counts as one).
            let per_line = (LINEWIDTH.saturating_sub(indent) / (width + 2)).max(1);
            let (head, tail) = shown_ranges(*len, summarize);
            let count = head.len() + tail.as_ref().map_or(0, |t| t.len() + 1);
            out.push('[');
            for k in 0..count {
                if k > 0 {
                    if k % per_line == 0 {
                        out.push_str(",\n");
                        push_spaces(out, indent + 1);
                    } else {
                        out.push_str(", ");
                    }
                }
                if tail.is_some() && k == head.len() {
                    out.push_str(" ...");
                } else {
                    out.push_str(&next());
                }
            }
            out.push(']');
        }
        [len, rest @ ..] => {
            let (head, tail) = shown_ranges(*len, summarize);
            let count = head.len() + tail.as_ref().map_or(0, |t| t.len() + 1);
            out.push('[');
            for k in 0..count {
                if k > 0 {
                    out.push(',');
                    out.extend(std::iter::repeat_n('\n', shape.len() - 1));
                    push_spaces(out, indent + 1);
                }
                if tail.is_some() && k == head.len() {
                    out.push_str("...");
                } else {
                    layout(rest, indent + 1, summarize, width, items, out);
                }
            }
            out.push(']');
        }
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The value of a float element widened to `f64` (exact), or `None` for other element types.
fn float_value<T: 'static>(x: &T) -> Option<f64> {
    let any: &dyn Any = x;
    any.downcast_ref::<f32>()
        .map(|&v| f64::from(v))
        .or_else(|| any.downcast_ref::<f64>().copied())
}

/// A non-float element as Python's `str` prints it: `3` (an integer's `Debug` form), `True`.
fn text_value<T: Element>(x: &T) -> String {
    match (x as &dyn Any).downcast_ref::<bool>() {
        Some(&b) => if b { "True" } else { "False" }.to_string(),
        None => format!("{x:?}"),
    }
}

/// PyTorch's `_Formatter`: every shown element as a string right-aligned to the common width,
/// and that width (which ignores nan/inf, as PyTorch's does).
fn format_elements<T: Element>(values: &[&T]) -> (Vec<String>, usize) {
    let is_float = values.first().is_some_and(|v| float_value(*v).is_some());
    if is_float {
        let floats: Vec<f64> = values
            .iter()
            .map(|v| float_value(*v).expect("a float tensor holds floats"))
            .collect();
        return format_floats(&floats);
    }
    let strings: Vec<String> = values.iter().map(|v| text_value(*v)).collect();
    let width = strings
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let padded = strings.into_iter().map(|s| pad_left(s, width)).collect();
    (padded, width)
}

/// How a float tensor's elements are written.
#[derive(Clone, Copy, PartialEq, Debug)]
enum FloatMode {
    /// All finite values are integers: `{:.0f}` plus a `.`.
    Int,
    /// `{:.4f}`.
    Fixed,
    /// `{:.4e}` with Python's exponent (`e+05`).
    Sci,
}

fn format_floats(values: &[f64]) -> (Vec<String>, usize) {
    let mut int_mode = true;
    let mut min = f64::INFINITY;
    let mut max = 0.0f64;
    let mut any_nonzero_finite = false;
    for &v in values.iter().filter(|v| v.is_finite() && **v != 0.0) {
        any_nonzero_finite = true;
        min = min.min(v.abs());
        max = max.max(v.abs());
        if v != v.ceil() {
            int_mode = false;
        }
    }
    let mode = if !any_nonzero_finite {
        FloatMode::Int
    } else if max / min > 1000.0 || max > 1.0e8 || (!int_mode && min < 1.0e-4) {
        FloatMode::Sci
    } else if int_mode {
        FloatMode::Int
    } else {
        FloatMode::Fixed
    };
    let mut width = 1;
    for &v in values.iter().filter(|v| v.is_finite() && **v != 0.0) {
        width = width.max(format_float(v, mode).len());
    }
    let strings = values
        .iter()
        .map(|&v| pad_left(format_float(v, mode), width))
        .collect();
    (strings, width)
}

/// One float as Python's `format` writes it in `mode` (before padding).
fn format_float(v: f64, mode: FloatMode) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    match mode {
        FloatMode::Int => format!("{v:.0}."),
        FloatMode::Fixed => format!("{v:.PRECISION$}"),
        FloatMode::Sci => {
            // Rust writes `1.0000e5`; Python writes `1.0000e+05` (sign, at least two digits).
            let s = format!("{v:.PRECISION$e}");
            let (mantissa, exp) = s.split_once('e').expect("`{:e}` output has an exponent");
            let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
        }
    }
}

/// `s` right-aligned to `width` characters.
fn pad_left(s: String, width: usize) -> String {
    format!("{s:>width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(values: &[f32], shape: &[usize]) -> Tensor<f32> {
        Tensor::from_vec(values.to_vec(), shape)
    }

    fn range_f32(n: usize, shape: &[usize]) -> Tensor<f32> {
        Tensor::from_vec((0..n).map(|i| i as f32).collect(), shape)
    }

    #[test]
    fn one_d_integer_valued() {
        assert_eq!(
            f32s(&[1., 2., 3.], &[3]).to_string(),
            "tensor([1., 2., 3.])"
        );
        // Widths line up on the widest value.
        assert_eq!(
            f32s(&[1., 20., -300.], &[3]).to_string(),
            "tensor([   1.,   20., -300.])"
        );
    }

    #[test]
    fn one_d_fixed_four_decimals() {
        assert_eq!(
            f32s(&[0.1, 0.25, 3.0], &[3]).to_string(),
            "tensor([0.1000, 0.2500, 3.0000])"
        );
        // Python rounds the exact binary value half to even: 1.03125 -> 1.0312.
        assert_eq!(
            Tensor::<f64>::from_vec(vec![1.03125, 1.09375], &[2]).to_string(),
            "tensor([1.0312, 1.0938], dtype=torch.float64)"
        );
    }

    #[test]
    fn mixed_and_negative() {
        assert_eq!(
            f32s(&[1.5, 2.25, -3.0], &[3]).to_string(),
            "tensor([ 1.5000,  2.2500, -3.0000])"
        );
        assert_eq!(f32s(&[-1., -2.], &[2]).to_string(), "tensor([-1., -2.])");
        assert_eq!(f32s(&[-0.0, 1.0], &[2]).to_string(), "tensor([-0., 1.])");
        assert_eq!(f32s(&[0.0, 0.0], &[2]).to_string(), "tensor([0., 0.])");
    }

    #[test]
    fn two_d() {
        assert_eq!(
            f32s(&[1., 2., 3., 4.], &[2, 2]).to_string(),
            "tensor([[1., 2.],\n        [3., 4.]])"
        );
        assert_eq!(
            f32s(&[1.5, -2., 3., 40.], &[2, 2]).to_string(),
            "tensor([[ 1.5000, -2.0000],\n        [ 3.0000, 40.0000]])"
        );
        assert_eq!(f32s(&[1., 2.], &[1, 2]).to_string(), "tensor([[1., 2.]])");
    }

    #[test]
    fn three_d_has_blank_lines_between_blocks() {
        assert_eq!(
            range_f32(8, &[2, 2, 2]).to_string(),
            "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"
        );
    }

    #[test]
    fn scientific() {
        // Integer-valued but max/min > 1000.
        assert_eq!(
            f32s(&[1e5, 1.0], &[2]).to_string(),
            "tensor([1.0000e+05, 1.0000e+00])"
        );
        // Smallest nonzero magnitude below 1e-4 (zeros do not count, but are printed in the mode).
        assert_eq!(
            f32s(&[1e-5, 0.5, 0.0], &[3]).to_string(),
            "tensor([1.0000e-05, 5.0000e-01, 0.0000e+00])"
        );
        assert_eq!(
            f32s(&[-1e-5, 1.0], &[2]).to_string(),
            "tensor([-1.0000e-05,  1.0000e+00])"
        );
        // Above 1e8 even when the ratio is small.
        assert_eq!(
            Tensor::<f64>::from_vec(vec![2e8, 3e8], &[2]).to_string(),
            "tensor([2.0000e+08, 3.0000e+08], dtype=torch.float64)"
        );
        // Exactly 1000 apart is not enough; 1e-4 itself is not below 1e-4.
        assert_eq!(
            f32s(&[1., 1000.], &[2]).to_string(),
            "tensor([   1., 1000.])"
        );
        assert_eq!(
            Tensor::<f64>::from_vec(vec![1e-4, 0.01], &[2]).to_string(),
            "tensor([0.0001, 0.0100], dtype=torch.float64)"
        );
        // ... but the f32 nearest to 1e-4 is just below it (PyTorch compares in f64).
        assert_eq!(
            f32s(&[1e-4, 0.01], &[2]).to_string(),
            "tensor([1.0000e-04, 1.0000e-02])"
        );
        assert_eq!(
            Tensor::<f64>::from_vec(vec![0.05, 0.01], &[2]).to_string(),
            "tensor([0.0500, 0.0100], dtype=torch.float64)"
        );
        assert_eq!(
            Tensor::<f64>::from_vec(vec![1e-300, 1.0], &[2]).to_string(),
            "tensor([1.0000e-300,  1.0000e+00], dtype=torch.float64)"
        );
    }

    #[test]
    fn nan_and_inf() {
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        assert_eq!(
            f32s(&[1., nan, inf, -inf], &[4]).to_string(),
            "tensor([1., nan, inf, -inf])"
        );
        // The width comes from the finite values only; nan/inf are padded to it.
        assert_eq!(
            f32s(&[1.5, nan], &[2]).to_string(),
            "tensor([1.5000,    nan])"
        );
        assert_eq!(
            f32s(&[nan, inf, 0.0], &[3]).to_string(),
            "tensor([nan, inf, 0.])"
        );
        assert_eq!(
            f32s(&[1e-5, -inf], &[2]).to_string(),
            "tensor([1.0000e-05,       -inf])"
        );
        assert_eq!(Tensor::scalar(f32::NAN).to_string(), "tensor(nan)");
    }

    #[test]
    fn zero_d() {
        assert_eq!(Tensor::scalar(3.5f32).to_string(), "tensor(3.5000)");
        assert_eq!(Tensor::scalar(3.0f32).to_string(), "tensor(3.)");
        assert_eq!(Tensor::scalar(-2e-5f32).to_string(), "tensor(-2.0000e-05)");
        assert_eq!(Tensor::scalar(7i64).to_string(), "tensor(7)");
        assert_eq!(Tensor::scalar(true).to_string(), "tensor(True)");
        assert_eq!(
            Tensor::scalar(0.5f64).to_string(),
            "tensor(0.5000, dtype=torch.float64)"
        );
    }

    #[test]
    fn empty() {
        assert_eq!(f32s(&[], &[0]).to_string(), "tensor([])");
        assert_eq!(f32s(&[], &[2, 0]).to_string(), "tensor([], size=(2, 0))");
        assert_eq!(
            Tensor::<i64>::from_vec(vec![], &[0]).to_string(),
            "tensor([], dtype=torch.int64)"
        );
        assert_eq!(
            Tensor::<f64>::from_vec(vec![], &[0, 3]).to_string(),
            "tensor([], size=(0, 3), dtype=torch.float64)"
        );
        assert_eq!(
            Tensor::<bool>::from_vec(vec![], &[0]).to_string(),
            "tensor([], dtype=torch.bool)"
        );
    }

    #[test]
    fn long_rows_wrap_at_eighty_columns() {
        assert_eq!(
            range_f32(20, &[20]).to_string(),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19.])"
        );
        // Inside a 2-D tensor wrapped lines line up under the row's first element.
        let t = Tensor::from_vec((0..40).map(|i| i as i64).collect(), &[2, 20]);
        assert_eq!(
            t.to_string(),
            "tensor([[ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n         18, 19],\n        [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37,\n         38, 39]])"
        );
    }

    #[test]
    fn summarised_large_tensors() {
        // 1000 elements is not over the threshold: no `...`.
        assert!(!range_f32(1000, &[1000]).to_string().contains("..."));
        // The formatter sees only the shown values 0, 1, 2, 1997, 1998, 1999: ratio > 1000.
        assert_eq!(
            range_f32(2000, &[2000]).to_string(),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
        );
        assert_eq!(
            Tensor::from_vec((0..1001).collect::<Vec<i64>>(), &[1001]).to_string(),
            "tensor([   0,    1,    2,  ...,  998,  999, 1000])"
        );
        assert_eq!(
            Tensor::<f32>::ones(&[40, 30]).to_string(),
            "tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        ...,\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.]])"
        );
        // Short dimensions stay whole; only dimensions longer than 6 are cut.
        let t = Tensor::from_vec((0..2000).collect::<Vec<i64>>(), &[2, 1000]);
        assert_eq!(
            t.to_string(),
            "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])"
        );
        let t = Tensor::from_vec((0..1024).collect::<Vec<i64>>(), &[8, 8, 16]);
        let s = t.to_string();
        assert!(s.starts_with(
            "tensor([[[   0,    1,    2,  ...,   13,   14,   15],\n         [  16,   17,   18,  ...,   29,   30,   31],\n         [  32,   33,   34,  ...,   45,   46,   47],\n         ...,\n         [  80,   81,   82,  ...,   93,   94,   95],"
        ));
        assert!(s.contains("  ...,   45,   46,   47],\n         ...,\n"));
        assert!(s.contains("]],\n\n        ...,\n\n        [[ 640,  641,  642,"));
        assert!(s.ends_with("[1008, 1009, 1010,  ..., 1021, 1022, 1023]]])"));
    }

    #[test]
    fn f64_suffix_and_wrapping() {
        assert_eq!(
            Tensor::<f64>::from_vec(vec![1.0, 2.0], &[2]).to_string(),
            "tensor([1., 2.], dtype=torch.float64)"
        );
        assert_eq!(
            Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).to_string(),
            "tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)"
        );
        // A suffix that would pass 80 columns goes on its own line.
        let t = Tensor::<f64>::from_vec((1..=8).map(|i| i as f64 / 10.0).collect(), &[8]);
        assert_eq!(
            t.to_string(),
            "tensor([0.1000, 0.2000, 0.3000, 0.4000, 0.5000, 0.6000, 0.7000, 0.8000],\n       dtype=torch.float64)"
        );
    }

    #[test]
    fn integers() {
        let t = Tensor::<i64>::from_vec(vec![1, -20, 300], &[3]);
        assert_eq!(t.to_string(), "tensor([  1, -20, 300])");
        let t = Tensor::<i64>::from_vec(vec![1, 2, 3, 4], &[2, 2]);
        assert_eq!(t.to_string(), "tensor([[1, 2],\n        [3, 4]])");
        let t = Tensor::<i32>::from_vec(vec![5, 6], &[2]);
        assert_eq!(t.to_string(), "tensor([5, 6], dtype=torch.int32)");
        let t = Tensor::<u8>::from_vec(vec![255, 0], &[2]);
        assert_eq!(t.to_string(), "tensor([255,   0], dtype=torch.uint8)");
        // Integers never use scientific notation.
        let t = Tensor::<i64>::from_vec(vec![1, 1_000_000_000], &[2]);
        assert_eq!(t.to_string(), "tensor([         1, 1000000000])");
    }

    #[test]
    fn bools() {
        let t = Tensor::from_vec(vec![true, false], &[2]);
        assert_eq!(t.to_string(), "tensor([ True, False])");
        let t = Tensor::from_vec(vec![true, true], &[1, 2]);
        assert_eq!(t.to_string(), "tensor([[True, True]])");
    }

    #[test]
    fn debug_equals_display_and_views_print_in_logical_order() {
        let t = range_f32(6, &[2, 3]);
        assert_eq!(format!("{t:?}"), t.to_string());
        // A transposed (non-contiguous) array prints its logical order.
        let transposed = Tensor::from_array(t.view().t().to_owned());
        let view_based = Tensor::from_array(t.view().to_owned().reversed_axes());
        assert_eq!(
            view_based.to_string(),
            "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"
        );
        assert_eq!(view_based.to_string(), transposed.to_string());
    }

    #[test]
    fn python_tuples() {
        assert_eq!(python_tuple(&[2, 0]), "(2, 0)");
        assert_eq!(python_tuple(&[0]), "(0,)");
        assert_eq!(python_tuple(&[]), "()");
    }
}
