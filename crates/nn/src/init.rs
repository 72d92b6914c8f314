//! Parameter initialisation, like `torch.nn.init`: each function overwrites a var's value in
//! place (under `no_grad`, so it works on parameters that require grad) and keeps its shape.
//! The random ones draw from the global generator (following `manual_seed`); their `_with`
//! forms take an explicit [`Generator`] (PyTorch's `generator=`). Both give PyTorch's values
//! bit for bit: after `manual_seed(s)`, `init::kaiming_uniform_(w, …)` equals
//! `torch.manual_seed(s); nn.init.kaiming_uniform_(w, …)` for `f32` and `f64` weights.
//!
//! ```
//! use antorcha_nn::{init, Linear, Module};
//! let fc: Linear = Linear::new(256, 128);
//! init::kaiming_normal_(fc.weight(), 0.0, init::FanMode::FanOut, init::Nonlinearity::Relu).unwrap();
//! init::zeros_(fc.bias().unwrap()).unwrap();
//! assert!(fc.bias().unwrap().to_vec().iter().all(|&b| b == 0.0));
//! ```

use antorcha_autograd::tensor::{with_global_rng, Float, Generator};
use antorcha_autograd::{no_grad, Tensor, Var};

use crate::error::{NnError, Result};

/// The nonlinearity a layer feeds, for [`calculate_gain`] (PyTorch's `nonlinearity=` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `'linear'`: gain 1.
    Linear,
    /// `'conv1d'`, `'conv2d'`, `'conv3d'` and the transposed ones: gain 1.
    Conv,
    /// `'sigmoid'`: gain 1.
    Sigmoid,
    /// `'tanh'`: gain 5/3.
    Tanh,
    /// `'relu'`: gain √2.
    Relu,
    /// `'leaky_relu'`: gain √(2 / (1 + slope²)), slope from the parameter (default 0.01).
    LeakyRelu,
    /// `'selu'`: gain 3/4.
    Selu,
}

/// Whether Kaiming init keeps the variance of the forward pass (`fan_in`) or of the backward
/// pass (`fan_out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    /// `mode='fan_in'` (the default).
    #[default]
    FanIn,
    /// `mode='fan_out'`.
    FanOut,
}

/// The recommended scale of the weights for a nonlinearity, like
/// `torch.nn.init.calculate_gain(nonlinearity, param)`; `param` is leaky ReLU's negative
/// slope (0.01 when `None`) and is ignored otherwise.
///
/// ```
/// use antorcha_nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Tanh, None), 5.0 / 3.0);
/// assert_eq!(calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt())), (1.0f64 / 3.0).sqrt());
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f64>) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu => {
            let slope = param.unwrap_or(0.01);
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        Nonlinearity::Selu => 0.75,
    }
}

/// `(fan_in, fan_out)` of a weight of `shape`, like PyTorch's
/// `_calculate_fan_in_and_fan_out`: `shape[1]` and `shape[0]` times the receptive field (the
/// product of the dims after the second), so `[out, in]` gives `(in, out)` and a conv weight
/// `[out, in, kh, kw]` gives `(in·kh·kw, out·kh·kw)`.
///
/// ```
/// use antorcha_nn::init::calculate_fan_in_and_fan_out;
/// assert_eq!(calculate_fan_in_and_fan_out(&[16, 3, 5, 5]).unwrap(), (75, 400));
/// assert!(calculate_fan_in_and_fan_out(&[10]).is_err());
/// ```
pub fn calculate_fan_in_and_fan_out(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(NnError::invalid(
            "calculate_fan_in_and_fan_out",
            format!(
                "fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape {shape:?})"
            ),
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

/// Replaces `var`'s value with `make(shape)` under `no_grad`.
fn fill<T: Float>(var: &Var<T>, make: impl FnOnce(&[usize]) -> Tensor<T>) -> Result<()> {
    let shape = var.shape();
    let value = make(&shape);
    let _guard = no_grad();
    var.update_(|t| *t = value)?;
    Ok(())
}

fn check_range(op: &'static str, a: f64, b: f64) -> Result<()> {
    if !a.is_finite() || !b.is_finite() || a > b {
        return Err(NnError::invalid(
            op,
            format!("needs finite a <= b, got a={a}, b={b}"),
        ));
    }
    Ok(())
}

fn check_std(op: &'static str, std: f64) -> Result<()> {
    if !std.is_finite() || std < 0.0 {
        return Err(NnError::invalid(
            op,
            format!("std must be finite and >= 0, got {std}"),
        ));
    }
    Ok(())
}

/// Fills `var` with samples of `U(a, b)` from `g` (`nn.init.uniform_(t, a, b, generator=g)`),
/// bit for bit PyTorch's values for the same generator state.
pub fn uniform_with<T: Float>(var: &Var<T>, a: f64, b: f64, g: &mut Generator) -> Result<()> {
    check_range("uniform_", a, b)?;
    fill(var, |s| Tensor::uniform_from(s, a, b, g))
}

/// Fills `var` with samples of `U(a, b)` (`nn.init.uniform_(t, a, b)`).
pub fn uniform_<T: Float>(var: &Var<T>, a: f64, b: f64) -> Result<()> {
    with_global_rng(|g| uniform_with(var, a, b, g))
}

/// Fills `var` with samples of `N(mean, std²)` from `g` (`nn.init.normal_(t, mean, std,
/// generator=g)`), bit for bit PyTorch's values for the same generator state.
pub fn normal_with<T: Float>(var: &Var<T>, mean: f64, std: f64, g: &mut Generator) -> Result<()> {
    check_std("normal_", std)?;
    fill(var, |s| Tensor::normal_from(s, mean, std, g))
}

/// Fills `var` with samples of `N(mean, std²)` (`nn.init.normal_(t, mean, std)`).
pub fn normal_<T: Float>(var: &Var<T>, mean: f64, std: f64) -> Result<()> {
    with_global_rng(|g| normal_with(var, mean, std, g))
}

/// Fills `var` with `value` (`nn.init.constant_(t, value)`).
pub fn constant_<T: Float>(var: &Var<T>, value: f64) -> Result<()> {
    fill(var, |s| Tensor::full(s, T::cast(value)))
}

/// Fills `var` with zeros (`nn.init.zeros_`).
pub fn zeros_<T: Float>(var: &Var<T>) -> Result<()> {
    constant_(var, 0.0)
}

/// Fills `var` with ones (`nn.init.ones_`).
pub fn ones_<T: Float>(var: &Var<T>) -> Result<()> {
    constant_(var, 1.0)
}

/// Glorot/Xavier uniform from `g`: `U(-a, a)` with `a = gain·√(6 / (fan_in + fan_out))`
/// (`nn.init.xavier_uniform_(t, gain)`); needs at least 2 dims.
pub fn xavier_uniform_with<T: Float>(var: &Var<T>, gain: f64, g: &mut Generator) -> Result<()> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(&var.shape())?;
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    let a = 3f64.sqrt() * std;
    uniform_with(var, -a, a, g)
}

/// Glorot/Xavier uniform (`nn.init.xavier_uniform_(t, gain)`).
pub fn xavier_uniform_<T: Float>(var: &Var<T>, gain: f64) -> Result<()> {
    with_global_rng(|g| xavier_uniform_with(var, gain, g))
}

/// Glorot/Xavier normal from `g`: `N(0, std²)` with `std = gain·√(2 / (fan_in + fan_out))`
/// (`nn.init.xavier_normal_(t, gain)`); needs at least 2 dims.
pub fn xavier_normal_with<T: Float>(var: &Var<T>, gain: f64, g: &mut Generator) -> Result<()> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(&var.shape())?;
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    normal_with(var, 0.0, std, g)
}

/// Glorot/Xavier normal (`nn.init.xavier_normal_(t, gain)`).
pub fn xavier_normal_<T: Float>(var: &Var<T>, gain: f64) -> Result<()> {
    with_global_rng(|g| xavier_normal_with(var, gain, g))
}

/// The standard deviation of Kaiming init: `gain / √fan`, or `None` for an empty tensor
/// (left as it is, as PyTorch does with a warning).
fn kaiming_std(
    shape: &[usize],
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<Option<f64>> {
    if shape.contains(&0) {
        return Ok(None);
    }
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(shape)?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    Ok(Some(
        calculate_gain(nonlinearity, Some(a)) / (fan as f64).sqrt(),
    ))
}

/// He/Kaiming uniform from `g`: `U(-b, b)` with `b = gain·√(3 / fan)`, the gain from
/// `nonlinearity` and `a` (leaky ReLU's slope) (`nn.init.kaiming_uniform_(t, a, mode,
/// nonlinearity)`). PyTorch's `Linear` and `Conv2d` use `a = √5`, `FanIn`, `LeakyRelu`.
pub fn kaiming_uniform_with<T: Float>(
    var: &Var<T>,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    g: &mut Generator,
) -> Result<()> {
    match kaiming_std(&var.shape(), a, mode, nonlinearity)? {
        Some(std) => {
            let bound = 3f64.sqrt() * std;
            uniform_with(var, -bound, bound, g)
        }
        None => Ok(()),
    }
}

/// He/Kaiming uniform (`nn.init.kaiming_uniform_(t, a, mode, nonlinearity)`).
pub fn kaiming_uniform_<T: Float>(
    var: &Var<T>,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<()> {
    with_global_rng(|g| kaiming_uniform_with(var, a, mode, nonlinearity, g))
}

/// He/Kaiming normal from `g`: `N(0, std²)` with `std = gain / √fan`
/// (`nn.init.kaiming_normal_(t, a, mode, nonlinearity)`).
pub fn kaiming_normal_with<T: Float>(
    var: &Var<T>,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    g: &mut Generator,
) -> Result<()> {
    match kaiming_std(&var.shape(), a, mode, nonlinearity)? {
        Some(std) => normal_with(var, 0.0, std, g),
        None => Ok(()),
    }
}

/// He/Kaiming normal (`nn.init.kaiming_normal_(t, a, mode, nonlinearity)`).
pub fn kaiming_normal_<T: Float>(
    var: &Var<T>,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<()> {
    with_global_rng(|g| kaiming_normal_with(var, a, mode, nonlinearity, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(v: &Var<f64>) -> (f64, f64, f64) {
        let x = v.to_vec();
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
        let max = x.iter().fold(0.0f64, |m, a| m.max(a.abs()));
        (mean, var.sqrt(), max)
    }

    #[test]
    fn gains_and_fans_match_pytorch() {
        assert_eq!(calculate_gain(Nonlinearity::Linear, None), 1.0);
        assert_eq!(calculate_gain(Nonlinearity::Conv, None), 1.0);
        assert_eq!(calculate_gain(Nonlinearity::Sigmoid, None), 1.0);
        assert_eq!(calculate_gain(Nonlinearity::Relu, None), 2f64.sqrt());
        assert_eq!(calculate_gain(Nonlinearity::Selu, None), 0.75);
        assert_eq!(
            calculate_gain(Nonlinearity::LeakyRelu, None),
            (2.0 / 1.0001f64).sqrt()
        );
        assert_eq!(calculate_fan_in_and_fan_out(&[3, 7]).unwrap(), (7, 3));
        assert_eq!(calculate_fan_in_and_fan_out(&[4, 2, 3]).unwrap(), (6, 12));
        assert!(calculate_fan_in_and_fan_out(&[]).is_err());
    }

    #[test]
    fn constants_overwrite_parameters_that_require_grad() {
        let p = Var::<f32>::randn(&[3, 2]).requires_grad();
        zeros_(&p).unwrap();
        assert_eq!(p.to_vec(), vec![0.0; 6]);
        ones_(&p).unwrap();
        assert_eq!(p.to_vec(), vec![1.0; 6]);
        constant_(&p, 0.25).unwrap();
        assert_eq!(p.to_vec(), vec![0.25; 6]);
        assert_eq!(p.shape(), vec![3, 2]);
        assert!(p.needs_grad() && p.is_leaf());
        let s = Var::<f64>::scalar(3.0);
        zeros_(&s).unwrap();
        assert_eq!(s.item(), 0.0);
    }

    #[test]
    fn random_inits_have_the_documented_spread() {
        let mut rng = Generator::new(11);
        let w = Var::<f64>::zeros(&[200, 300]).requires_grad();
        uniform_with(&w, -2.0, 1.0, &mut rng).unwrap();
        let (m, _, _) = stats(&w);
        assert!((m + 0.5).abs() < 0.02 && w.to_vec().iter().all(|&x| (-2.0..1.0).contains(&x)));
        normal_with(&w, 1.0, 0.5, &mut rng).unwrap();
        let (m, s, _) = stats(&w);
        assert!((m - 1.0).abs() < 0.01 && (s - 0.5).abs() < 0.01, "{m} {s}");
        // xavier: fan_in 300, fan_out 200.
        let xs = (2.0 / 500.0f64).sqrt();
        xavier_normal_with(&w, 2.0, &mut rng).unwrap();
        let (_, s, _) = stats(&w);
        assert!((s - 2.0 * xs).abs() < 0.01 * xs * 2.0, "{s}");
        xavier_uniform_with(&w, 1.0, &mut rng).unwrap();
        let (_, s, max) = stats(&w);
        assert!(
            max <= 3f64.sqrt() * xs && (s - xs).abs() < 0.01 * xs,
            "{s} {max}"
        );
        // kaiming, fan_in = 300, relu.
        let ks = 2f64.sqrt() / 300f64.sqrt();
        kaiming_normal_with(&w, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
        let (_, s, _) = stats(&w);
        assert!((s - ks).abs() < 0.01 * ks, "{s}");
        // kaiming_uniform with a = √5 and fan_out = 200: the bound is 1/√200.
        kaiming_uniform_with(
            &w,
            5f64.sqrt(),
            FanMode::FanOut,
            Nonlinearity::LeakyRelu,
            &mut rng,
        )
        .unwrap();
        let (_, _, max) = stats(&w);
        let b = 1.0 / 200f64.sqrt();
        assert!(max <= b && max > 0.99 * b, "{max}");
    }

    #[test]
    fn bad_arguments_are_errors_and_empty_tensors_are_left_alone() {
        let v = Var::<f32>::zeros(&[4]);
        assert!(xavier_uniform_(&v, 1.0).is_err());
        assert!(kaiming_normal_(&v, 0.0, FanMode::FanIn, Nonlinearity::Relu).is_err());
        assert!(uniform_(&v, 1.0, 0.0).is_err());
        assert!(normal_(&v, 0.0, -1.0).is_err());
        assert!(normal_(&v, 0.0, f64::NAN).is_err());
        let e = Var::<f32>::zeros(&[0, 3]);
        kaiming_uniform_(&e, 0.0, FanMode::FanIn, Nonlinearity::Relu).unwrap();
        assert_eq!(e.shape(), vec![0, 3]);
    }
}
