//! Transforms for samples, like `torchvision.transforms`: [`ToTensor`], [`Normalize`],
//! [`Lambda`] and [`Compose`] (or [`TransformExt::then`] / [`compose!`](crate::compose)).
//! Apply them to a dataset's items with [`DatasetExt::map`](crate::DatasetExt::map).

use antorcha_tensor::ndarray::{ArrayD, IxDyn};
use antorcha_tensor::{Float, Tensor};

use crate::error::{DataError, Result};

/// A function from one sample (or part of one) to another that may fail, like a torchvision
/// transform.
pub trait Transform<In> {
    /// What the transform makes.
    type Output;
    /// Transforms `input`.
    fn apply(&self, input: In) -> Result<Self::Output>;
}

/// Chaining for every [`Transform`].
pub trait TransformExt<In>: Transform<In> + Sized {
    /// `self`, then `next`: `Compose::new(self, next)`.
    fn then<N: Transform<Self::Output>>(self, next: N) -> Compose<Self, N> {
        Compose::new(self, next)
    }
}

impl<In, T: Transform<In>> TransformExt<In> for T {}

/// An 8-bit image `u8 [H, W]` or `[H, W, C]` to `f32 [C, H, W]` in `[0, 1]` (divided by 255),
/// like `torchvision.transforms.ToTensor()`; a grey `[H, W]` image gets `C = 1`.
///
/// ```
/// use antorcha_data::{ToTensor, Transform};
/// use antorcha_tensor::Tensor;
/// let img = Tensor::from_vec(vec![0u8, 255, 51, 102], &[2, 2]);
/// let t = ToTensor.apply(img)?;
/// assert_eq!(t.shape(), &[1, 2, 2]);
/// assert_eq!(t.to_vec(), vec![0.0, 1.0, 0.2, 0.4]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ToTensor;

impl Transform<Tensor<u8>> for ToTensor {
    type Output = Tensor<f32>;

    fn apply(&self, img: Tensor<u8>) -> Result<Tensor<f32>> {
        let src = img.row_major();
        let (h, w, c) = match *img.shape() {
            [h, w] => (h, w, 1),
            [h, w, c] => (h, w, c),
            _ => {
                return Err(DataError::invalid(
                    "ToTensor",
                    format!(
                        "expected an image [H, W] or [H, W, C], got shape {:?}",
                        img.shape()
                    ),
                ))
            }
        };
        let hw = h * w;
        let mut out = vec![0.0f32; src.len()];
        if c == 1 {
            for (o, &p) in out.iter_mut().zip(src.iter()) {
                *o = p as f32 / 255.0;
            }
        } else {
            for (i, pixel) in src.chunks_exact(c).enumerate() {
                for (ch, &p) in pixel.iter().enumerate() {
                    out[ch * hw + i] = p as f32 / 255.0;
                }
            }
        }
        Ok(Tensor::from_array(
            ArrayD::from_shape_vec(IxDyn(&[c, h, w]), out).expect("same number of elements"),
        ))
    }
}

/// `(x - mean[c]) / std[c]` for each channel `c` of a `[..., C, H, W]` image, like
/// `torchvision.transforms.Normalize(mean, std)`; a single mean and std apply to every channel.
///
/// ```
/// use antorcha_data::{Normalize, Transform};
/// use antorcha_tensor::Tensor;
/// let n = Normalize::new(vec![0.5, 0.0], vec![0.5, 2.0])?;
/// let x = Tensor::from_vec(vec![1.0f32, 0.0, 4.0, 2.0], &[2, 1, 2]);
/// assert_eq!(n.apply(x)?.to_vec(), vec![1.0, -1.0, 2.0, 1.0]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Normalize {
    /// Per-channel `mean` and `std` (same length, at least 1; no std may be 0).
    pub fn new(mean: Vec<f64>, std: Vec<f64>) -> Result<Self> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(DataError::invalid(
                "Normalize",
                format!(
                    "mean and std need the same non-zero length, got {} and {}",
                    mean.len(),
                    std.len()
                ),
            ));
        }
        if let Some(i) = std.iter().position(|&s| s == 0.0 || !s.is_finite()) {
            return Err(DataError::invalid(
                "Normalize",
                format!(
                    "std[{i}] is {}, which would divide by zero or give NaN",
                    std[i]
                ),
            ));
        }
        Ok(Normalize { mean, std })
    }
}

impl<T: Float> Transform<Tensor<T>> for Normalize {
    type Output = Tensor<T>;

    fn apply(&self, mut x: Tensor<T>) -> Result<Tensor<T>> {
        let shape = x.shape().to_vec();
        if shape.len() < 3 {
            return Err(DataError::invalid(
                "Normalize",
                format!("expected a tensor image [..., C, H, W], got shape {shape:?}"),
            ));
        }
        let c = shape[shape.len() - 3];
        if self.mean.len() != 1 && self.mean.len() != c {
            return Err(DataError::invalid(
                "Normalize",
                format!(
                    "{} means and stds for an image of {c} channels (shape {shape:?})",
                    self.mean.len()
                ),
            ));
        }
        let hw = shape[shape.len() - 2] * shape[shape.len() - 1];
        let stats: Vec<(T, T)> = (0..c)
            .map(|ch| {
                let k = if self.mean.len() == 1 { 0 } else { ch };
                (T::cast(self.mean[k]), T::cast(self.std[k]))
            })
            .collect();
        if hw == 0 || c == 0 {
            return Ok(x);
        }
        let data = x.as_slice_mut();
        for (k, plane) in data.chunks_exact_mut(hw).enumerate() {
            let (m, s) = stats[k % c];
            for v in plane {
                *v = (*v - m) / s;
            }
        }
        Ok(x)
    }
}

/// A closure as a transform, like `torchvision.transforms.Lambda`.
///
/// ```
/// use antorcha_data::{Lambda, Transform};
/// let double = Lambda(|x: i64| Ok(2 * x));
/// assert_eq!(double.apply(21)?, 42);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Lambda<F>(pub F);

impl<In, Out, F: Fn(In) -> Result<Out>> Transform<In> for Lambda<F> {
    type Output = Out;
    fn apply(&self, input: In) -> Result<Out> {
        (self.0)(input)
    }
}

/// Two transforms one after the other, like `torchvision.transforms.Compose`; nest it (or use
/// [`compose!`](crate::compose) / [`TransformExt::then`]) for more.
///
/// ```
/// use antorcha_data::{compose, Normalize, ToTensor, Transform};
/// use antorcha_tensor::Tensor;
/// let t = compose![ToTensor, Normalize::new(vec![0.5], vec![0.5])?];
/// let img = Tensor::from_vec(vec![0u8, 255], &[1, 2]);
/// assert_eq!(t.apply(img)?.to_vec(), vec![-1.0, 1.0]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Compose<A, B> {
    first: A,
    second: B,
}

impl<A, B> Compose<A, B> {
    /// `first`, then `second`.
    pub fn new(first: A, second: B) -> Self {
        Compose { first, second }
    }
}

impl<In, A: Transform<In>, B: Transform<A::Output>> Transform<In> for Compose<A, B> {
    type Output = B::Output;
    fn apply(&self, input: In) -> Result<B::Output> {
        self.second.apply(self.first.apply(input)?)
    }
}

/// Chains transforms left to right into nested [`Compose`]s, like
/// `transforms.Compose([a, b, c])`.
#[macro_export]
macro_rules! compose {
    ($t:expr $(,)?) => { $t };
    ($t:expr, $($rest:expr),+ $(,)?) => { $crate::Compose::new($t, $crate::compose!($($rest),+)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_tensor_moves_channels_first() {
        // 1 x 2 image with 3 channels: pixels (0, 51, 102) and (153, 204, 255).
        let img = Tensor::from_vec(vec![0u8, 51, 102, 153, 204, 255], &[1, 2, 3]);
        let t = ToTensor.apply(img).unwrap();
        assert_eq!(t.shape(), &[3, 1, 2]);
        assert_eq!(t.to_vec(), vec![0.0, 0.6, 0.2, 0.8, 0.4, 1.0]);
        let e = ToTensor.apply(Tensor::from(vec![1u8])).unwrap_err();
        assert!(e.to_string().contains("[1]"), "{e}");
        let empty = ToTensor.apply(Tensor::from_vec(vec![], &[0, 4])).unwrap();
        assert_eq!(empty.shape(), &[1, 0, 4]);
    }

    #[test]
    fn normalize_per_channel_and_batched() {
        let n = Normalize::new(vec![1.0, 2.0], vec![1.0, 4.0]).unwrap();
        // [2 images, 2 channels, 1 x 1]
        let x = Tensor::from_vec(vec![1.0f64, 6.0, 3.0, 2.0], &[2, 2, 1, 1]);
        assert_eq!(n.apply(x).unwrap().to_vec(), vec![0.0, 1.0, 2.0, 0.0]);
        let e = n.apply(Tensor::<f32>::zeros(&[3, 2, 2])).unwrap_err();
        assert!(e.to_string().contains("3 channels"), "{e}");
        assert!(n.apply(Tensor::<f32>::zeros(&[2, 2])).is_err());
        assert!(Normalize::new(vec![0.0], vec![0.0]).is_err());
        assert!(Normalize::new(vec![0.0, 1.0], vec![1.0]).is_err());
        assert!(Normalize::new(vec![], vec![]).is_err());
        // A transposed (non-standard) input is handled.
        let x = Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 3.0], &[1, 2, 2]);
        let xt = Tensor::from_array(x.view().to_owned().reversed_axes());
        let one = Normalize::new(vec![1.0], vec![2.0]).unwrap();
        assert_eq!(one.apply(xt).unwrap().to_vec(), vec![-0.5, 0.5, 0.0, 1.0]);
    }

    #[test]
    fn compose_lambda_then() {
        let t = ToTensor
            .then(Normalize::new(vec![0.5], vec![0.5]).unwrap())
            .then(Lambda(|x: Tensor<f32>| Ok(x.to_vec().iter().sum::<f32>())));
        let img = Tensor::from_vec(vec![255u8, 255], &[1, 2]);
        assert_eq!(t.apply(img).unwrap(), 2.0);
        let fail = compose![
            Lambda(|x: i64| Ok(x + 1)),
            Lambda(|_: i64| -> Result<i64> { Err(DataError::invalid("test", "no")) })
        ];
        assert!(fail.apply(1).is_err());
        let three = compose![
            Lambda(|x: i64| Ok(x + 1)),
            Lambda(|x: i64| Ok(x * 2)),
            Lambda(|x: i64| Ok(x - 3))
        ];
        assert_eq!(three.apply(4).unwrap(), 7);
    }
}
