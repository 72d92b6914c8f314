//! Normalisation layers: `BatchNorm1d`, `BatchNorm2d` (running statistics as buffers, train
//! vs eval) and `LayerNorm`, each one fused op in the graph.

use antorcha_autograd::tensor::Float;
use antorcha_autograd::{no_grad, Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Buffer, Module, Training};

/// Python's `repr` of a float (`1e-05`, `0.1`, `1.0`), for `extra_repr`.
pub(crate) fn py_float(v: f64) -> String {
    let e = if v == 0.0 {
        0.0
    } else {
        v.abs().log10().floor()
    };
    if v.is_finite() && v != 0.0 && !(-4.0..16.0).contains(&e) {
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e').expect("exponent form");
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        format!("{mant}e{sign}{digits:0>2}")
    } else {
        format!("{v:?}")
    }
}

/// Python's `True`/`False`.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// What `BatchNorm1d` and `BatchNorm2d` share: PyTorch's `_BatchNorm`.
#[derive(Debug)]
struct BatchNormCore<T: Float> {
    num_features: usize,
    eps: f64,
    momentum: Option<f64>,
    weight: Option<Var<T>>,
    bias: Option<Var<T>>,
    running_mean: Option<Buffer<T>>,
    running_var: Option<Buffer<T>>,
    num_batches_tracked: Option<Buffer<T>>,
    training: Training,
}

impl<T: Float> BatchNormCore<T> {
    fn new(num_features: usize) -> Self {
        let mut core = BatchNormCore {
            num_features,
            eps: 1e-5,
            momentum: Some(0.1),
            weight: None,
            bias: None,
            running_mean: None,
            running_var: None,
            num_batches_tracked: None,
            training: Training::new(),
        };
        core.set_affine(true);
        core.set_track_running_stats(true);
        core
    }

    /// `reset_parameters`: weight ones, bias zeros.
    fn set_affine(&mut self, affine: bool) {
        let c = self.num_features;
        self.weight = affine.then(|| Var::new(Tensor::ones(&[c])).requires_grad());
        self.bias = affine.then(|| Var::new(Tensor::zeros(&[c])).requires_grad());
    }

    /// `reset_running_stats`: mean zeros, var ones, no batches.
    fn set_track_running_stats(&mut self, track: bool) {
        let c = self.num_features;
        self.running_mean = track.then(|| Buffer::new(Tensor::zeros(&[c])));
        self.running_var = track.then(|| Buffer::new(Tensor::ones(&[c])));
        self.num_batches_tracked = track.then(|| Buffer::int64(Tensor::from_vec(vec![0], &[])));
    }

    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        if x.shape()[1] != self.num_features {
            return Err(NnError::InputShape {
                module: "batch_norm",
                shape: x.shape(),
                message: format!(
                    "expected {} channels (num_features) in dim 1",
                    self.num_features
                ),
            });
        }
        let training = self.training.get();
        let mut factor = self.momentum.unwrap_or(0.0);
        if training {
            if let Some(nbt) = &self.num_batches_tracked {
                let count = nbt
                    .get_int64()
                    .and_then(|t| t.to_vec().first().copied())
                    .unwrap_or(0)
                    .saturating_add(1);
                nbt.set_int64(Tensor::from_vec(vec![count], &[]));
                if self.momentum.is_none() {
                    factor = 1.0 / count as f64;
                }
            }
        }
        let use_batch = training || self.running_mean.is_none();
        let running = match (&self.running_mean, &self.running_var) {
            (Some(m), Some(v)) => Some((m.get(), v.get())),
            _ => None,
        };
        let (y, stats) = x.try_batch_norm(
            self.weight.as_ref(),
            self.bias.as_ref(),
            running.as_ref().map(|(m, v)| (m, v)),
            use_batch,
            self.eps,
        )?;
        if let (true, Some((mean, var)), Some(rm), Some(rv)) =
            (training, stats, &self.running_mean, &self.running_var)
        {
            let _guard = no_grad();
            let count = x.numel() / self.num_features;
            let f = T::cast(factor);
            let keep = T::cast(1.0 - factor);
            let unbias = T::cast(count as f64 / (count as f64 - 1.0));
            rm.update(|t| {
                *t = Tensor::from_vec(
                    t.to_vec()
                        .iter()
                        .zip(mean.to_vec())
                        .map(|(&r, m)| f * m + keep * r)
                        .collect(),
                    &[self.num_features],
                )
            });
            rv.update(|t| {
                *t = Tensor::from_vec(
                    t.to_vec()
                        .iter()
                        .zip(var.to_vec())
                        .map(|(&r, v)| f * (v * unbias) + keep * r)
                        .collect(),
                    &[self.num_features],
                )
            });
        }
        Ok(y)
    }

    fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
        if let Some(w) = &self.weight {
            f("weight", w);
        }
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn visit_buffers(&self, f: &mut dyn FnMut(&str, &Buffer<T>)) {
        for (name, b) in [
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ] {
            if let Some(b) = b {
                f(name, b);
            }
        }
    }

    fn extra_repr(&self) -> String {
        format!(
            "{}, eps={}, momentum={}, affine={}, track_running_stats={}",
            self.num_features,
            py_float(self.eps),
            self.momentum.map_or("None".into(), py_float),
            py_bool(self.weight.is_some()),
            py_bool(self.running_mean.is_some())
        )
    }
}

macro_rules! batch_norm {
    ($(#[$doc:meta])* $name:ident, $dims:expr, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<T: Float = f32> {
            core: BatchNormCore<T>,
        }

        impl<T: Float> $name<T> {
            /// A layer over `num_features` channels with PyTorch's defaults: `eps = 1e-5`,
            /// `momentum = 0.1`, `affine = true` (weight ones, bias zeros),
            /// `track_running_stats = true` (mean zeros, var ones, no batches tracked).
            pub fn new(num_features: usize) -> Self {
                $name {
                    core: BatchNormCore::new(num_features),
                }
            }

            /// Sets the value added to the variance before its square root (default `1e-5`).
            pub fn eps(mut self, eps: f64) -> Self {
                self.core.eps = eps;
                self
            }

            /// Sets the weight of a new batch in the running averages (default `Some(0.1)`);
            /// `None` keeps cumulative averages over all batches seen.
            pub fn momentum(mut self, momentum: Option<f64>) -> Self {
                self.core.momentum = momentum;
                self
            }

            /// With `false`, no learnable weight and bias.
            pub fn affine(mut self, affine: bool) -> Self {
                self.core.set_affine(affine);
                self
            }

            /// With `false`, no running statistics: batch statistics are used in eval mode
            /// too, and the state dict holds no buffers.
            pub fn track_running_stats(mut self, track: bool) -> Self {
                self.core.set_track_running_stats(track);
                self
            }

            /// The weight (`[num_features]`), if affine.
            pub fn weight(&self) -> Option<&Var<T>> {
                self.core.weight.as_ref()
            }

            /// The bias (`[num_features]`), if affine.
            pub fn bias(&self) -> Option<&Var<T>> {
                self.core.bias.as_ref()
            }

            /// The running mean, if tracked.
            pub fn running_mean(&self) -> Option<Tensor<T>> {
                self.core.running_mean.as_ref().map(Buffer::get)
            }

            /// The running (unbiased) variance, if tracked.
            pub fn running_var(&self) -> Option<Tensor<T>> {
                self.core.running_var.as_ref().map(Buffer::get)
            }

            /// How many training batches updated the running statistics, if tracked.
            pub fn num_batches_tracked(&self) -> Option<i64> {
                self.core
                    .num_batches_tracked
                    .as_ref()
                    .and_then(Buffer::get_int64)
                    .and_then(|t| t.to_vec().first().copied())
            }
        }

        impl<T: Float> Module<T> for $name<T> {
            fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
                if !$dims.contains(&x.ndim()) {
                    return Err(NnError::InputShape {
                        module: stringify!($name),
                        shape: x.shape(),
                        message: format!("expected {} input (got {}D input)", $expected, x.ndim()),
                    });
                }
                self.core.forward(x)
            }
            fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
                self.core.visit_parameters(f)
            }
            fn visit_buffers(&self, f: &mut dyn FnMut(&str, &Buffer<T>)) {
                self.core.visit_buffers(f)
            }
            fn training_flag(&self) -> Option<&Training> {
                Some(&self.core.training)
            }
            fn extra_repr(&self) -> String {
                self.core.extra_repr()
            }
        }
    };
}

batch_norm!(
    /// Batch normalisation of `[N, C]` or `[N, C, L]` inputs over each channel, like
    /// `torch.nn.BatchNorm1d(num_features)`: in training mode each channel is normalised with
    /// the batch's mean and biased variance and the running statistics are updated (the
    /// variance unbiased), `new = (1 - momentum) * old + momentum * batch`; in eval mode the
    /// running statistics normalise. State dict: `weight`, `bias`, `running_mean`,
    /// `running_var`, `num_batches_tracked` (`int64`). Records `NativeBatchNormBackward0`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_nn::{BatchNorm1d, Module};
    /// let bn = BatchNorm1d::<f64>::new(1);
    /// let y = bn.forward(&Var::from_vec(vec![1.0, 3.0], &[2, 1]));
    /// assert!((y.to_vec()[1] - 1.0).abs() < 1e-5);
    /// assert_eq!(bn.num_batches_tracked(), Some(1));
    /// assert!((bn.running_mean().unwrap().to_vec()[0] - 0.2).abs() < 1e-15);
    /// ```
    BatchNorm1d,
    [2usize, 3],
    "2D or 3D"
);

batch_norm!(
    /// Batch normalisation of `[N, C, H, W]` inputs over each channel, like
    /// `torch.nn.BatchNorm2d(num_features)`; see [`BatchNorm1d`] for the modes, options and
    /// state dict. Records `NativeBatchNormBackward0`.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_nn::{BatchNorm2d, Module};
    /// let bn = BatchNorm2d::<f32>::new(3);
    /// let names: Vec<String> = bn.state_dict().into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(names, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
    /// assert_eq!(bn.forward(&Var::ones(&[2, 3, 4, 4])).shape(), vec![2, 3, 4, 4]);
    /// ```
    BatchNorm2d,
    [4usize],
    "4D"
);

/// Layer normalisation over the last dims, like `torch.nn.LayerNorm(normalized_shape,
/// eps=1e-5, elementwise_affine=True, bias=True)`: each sample's last
/// `normalized_shape.len()` dims are normalised with their mean and biased variance, then
/// scaled by `weight` and shifted by `bias` (both of `normalized_shape`; ones and zeros when
/// made). Records `NativeLayerNormBackward0`.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_nn::{LayerNorm, Module};
/// let ln = LayerNorm::<f64>::new(&[2]).eps(0.0);
/// assert_eq!(ln.forward(&Var::from_vec(vec![1.0, 3.0], &[1, 2])).to_vec(), vec![-1.0, 1.0]);
/// ```
#[derive(Debug)]
pub struct LayerNorm<T: Float = f32> {
    normalized_shape: Vec<usize>,
    eps: f64,
    weight: Option<Var<T>>,
    bias: Option<Var<T>>,
    training: Training,
}

impl<T: Float> LayerNorm<T> {
    /// A layer normalising over dims of sizes `normalized_shape` (the last ones of the
    /// input), with a weight and a bias.
    pub fn new(normalized_shape: &[usize]) -> Self {
        let s = normalized_shape.to_vec();
        LayerNorm {
            weight: Some(Var::new(Tensor::ones(&s)).requires_grad()),
            bias: Some(Var::new(Tensor::zeros(&s)).requires_grad()),
            normalized_shape: s,
            eps: 1e-5,
            training: Training::new(),
        }
    }

    /// Sets the value added to the variance before its square root (default `1e-5`).
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// With `false`, no weight and no bias (`elementwise_affine=False`).
    pub fn elementwise_affine(mut self, affine: bool) -> Self {
        let s = &self.normalized_shape;
        self.weight = affine.then(|| Var::new(Tensor::ones(s)).requires_grad());
        self.bias = affine.then(|| Var::new(Tensor::zeros(s)).requires_grad());
        self
    }

    /// With `false`, a weight but no bias (`bias=False`; no effect without
    /// `elementwise_affine`).
    pub fn with_bias(mut self, bias: bool) -> Self {
        if !bias {
            self.bias = None;
        } else if self.weight.is_some() && self.bias.is_none() {
            self.bias = Some(Var::new(Tensor::zeros(&self.normalized_shape)).requires_grad());
        }
        self
    }

    /// The weight, if any.
    pub fn weight(&self) -> Option<&Var<T>> {
        self.weight.as_ref()
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Var<T>> {
        self.bias.as_ref()
    }
}

impl<T: Float> Module<T> for LayerNorm<T> {
    fn try_forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(x.try_layer_norm(
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )?)
    }
    fn visit_parameters(&self, f: &mut dyn FnMut(&str, &Var<T>)) {
        if let Some(w) = &self.weight {
            f("weight", w);
        }
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }
    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
    fn extra_repr(&self) -> String {
        let dims: Vec<String> = self
            .normalized_shape
            .iter()
            .map(|d| d.to_string())
            .collect();
        let tuple = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        format!(
            "{tuple}, eps={}, elementwise_affine={}",
            py_float(self.eps),
            py_bool(self.weight.is_some())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(1e-3), "0.001");
        assert_eq!(py_float(2.5e-12), "2.5e-12");
    }

    #[test]
    fn reprs_look_like_pytorch() {
        let bn = BatchNorm2d::<f32>::new(4);
        assert_eq!(
            bn.repr(),
            "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
        );
        let bn = BatchNorm1d::<f32>::new(3)
            .momentum(None)
            .affine(false)
            .track_running_stats(false);
        assert_eq!(
            bn.extra_repr(),
            "3, eps=1e-05, momentum=None, affine=False, track_running_stats=False"
        );
        assert!(bn.state_dict().is_empty());
        assert_eq!(
            LayerNorm::<f32>::new(&[5]).repr(),
            "LayerNorm((5,), eps=1e-05, elementwise_affine=True)"
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let bn = BatchNorm2d::<f64>::new(2);
        let err = bn.try_forward(&Var::zeros(&[2, 2, 3])).unwrap_err();
        assert!(
            err.to_string().contains("expected 4D input (got 3D input)"),
            "{err}"
        );
        let err = bn.try_forward(&Var::zeros(&[2, 3, 1, 1])).unwrap_err();
        assert!(err.to_string().contains("2 channels"), "{err}");
        let err = bn.try_forward(&Var::zeros(&[1, 2, 1, 1])).unwrap_err();
        assert!(
            err.to_string().contains("more than 1 value per channel"),
            "{err}"
        );
        let ln = LayerNorm::<f64>::new(&[3]);
        assert!(ln.try_forward(&Var::zeros(&[2, 4])).is_err());
    }
}
