//! The element types a tensor can hold.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// Anything a tensor can store: floats for math, `i64` for indices and labels, `bool` for masks.
pub trait Element: Clone + Debug + Default + PartialEq + Send + Sync + 'static {
    /// PyTorch's dtype name (`float32`, `int64`, `bool` …), used in messages and printing.
    const DTYPE: &'static str;
}

/// A floating-point element: `f32` (the default) or `f64`.
pub trait Float:
    Element
    + num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + Display
    + LowerExp
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + rand::distr::uniform::SampleUniform
{
    /// Converts from `f64`, rounding to the nearest value for `f32`.
    fn cast(x: f64) -> Self;
    /// Widens to `f64` exactly.
    fn as_f64(self) -> f64;
}

macro_rules! element {
    ($($t:ty => $name:literal),*) => {$(
        impl Element for $t { const DTYPE: &'static str = $name; }
    )*};
}
element!(f32 => "float32", f64 => "float64", i64 => "int64", i32 => "int32", u8 => "uint8", bool => "bool");

impl Float for f32 {
    #[inline]
    fn cast(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    #[inline]
    fn cast(x: f64) -> Self {
        x
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}
