//! Elementwise unary ops and ops with a scalar operand.

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::node::{Attr, Attrs, Saved};
use crate::rule::{apply, dual, zip_apply, Ctx, Grads};
use crate::var::{needs_graph, Var};

/// The op's result as a saved value (re-attached to its node at backward).
fn output<T: Float>(value: &Tensor<T>) -> Option<Saved<T>> {
    Some(Saved::Output {
        value: value.clone(),
        version: 0,
    })
}

/// `g * mask`, for a constant mask (derivatives of piecewise functions).
pub(crate) fn times_const<T: Float>(g: &Var<T>, mask: Tensor<T>) -> Var<T> {
    g.mul(&Var::new(mask))
}

/// Records a one-input op whose backward needs at most the input (`self`) or the result.
macro_rules! unary_op {
    ($(#[$doc:meta])* $name:ident, $node:literal, $saved_name:literal, $saves_result:expr,
     |$g:ident, $s:ident| $backward:expr) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $name(&self) -> Var<T> {
            let value = self.with_data(|t| t.$name());
            if !needs_graph(&[self]) {
                return Var::new(value);
            }
            let saved = if $saves_result { output(&value) } else { Some(Saved::var(self)) };
            Var::from_op(
                value,
                $node,
                &[self],
                smallvec![($saved_name, saved)],
                smallvec![],
                Box::new(move |$g, saved, _| {
                    let $s = saved[0].as_ref().expect("saved");
                    Ok(smallvec![Some($backward)])
                }),
            )
        }
    };
}

impl<T: Float> Var<T> {
    unary_op!(
        /// `e^x` (`ExpBackward0`).
        exp, "ExpBackward0", "result", true, |g, r| g.mul(r)
    );
    unary_op!(
        /// The natural logarithm (`LogBackward0`).
        log, "LogBackward0", "self", false, |g, x| g.div(x)
    );
    unary_op!(
        /// The square root (`SqrtBackward0`).
        sqrt, "SqrtBackward0", "result", true, |g, r| g.div(&r.mul_scalar(T::cast(2.0)))
    );
    unary_op!(
        /// `|x|`; its gradient is `sign(x)` (`AbsBackward0`).
        abs, "AbsBackward0", "self", false, |g, x| times_const(g, x.data().sign())
    );
    unary_op!(
        /// `max(x, 0)` (`ReluBackward0`).
        relu, "ReluBackward0", "result", true,
        |g, r| times_const(g, r.data().gt_scalar(T::zero()).to_float())
    );
    unary_op!(
        /// `1 / (1 + e^-x)` (`SigmoidBackward0`).
        sigmoid, "SigmoidBackward0", "result", true,
        |g, r| g.mul(&r.mul(&r.rsub_scalar(T::one())))
    );
    unary_op!(
        /// The hyperbolic tangent (`TanhBackward0`).
        tanh, "TanhBackward0", "result", true,
        |g, r| g.mul(&r.mul(r).rsub_scalar(T::one()))
    );
    unary_op!(
        /// The sine (`SinBackward0`).
        sin, "SinBackward0", "self", false, |g, x| g.mul(&x.cos())
    );
    unary_op!(
        /// The cosine (`CosBackward0`).
        cos, "CosBackward0", "self", false, |g, x| g.mul(&x.sin()).neg()
    );

    /// `-x` (`NegBackward0`).
    #[track_caller]
    pub fn neg(&self) -> Var<T> {
        let value = self.with_data(|t| t.neg());
        self.scalar_op(value, "NegBackward0", smallvec![], Negated)
    }

    /// `-1`, `0` or `1` by sign; its gradient is zero (`SignBackward0`).
    #[track_caller]
    pub fn sign(&self) -> Var<T> {
        let value = self.with_data(|t| t.sign());
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op(
            value,
            "SignBackward0",
            &[self],
            smallvec![],
            smallvec![],
            Box::new(|g, _, _| Ok(smallvec![Some(times_const(g, g.data().zeros_like()))])),
        )
    }

    /// `x ** exponent` for a number (`PowBackward0`), like `error ** 2`.
    #[track_caller]
    pub fn powf(&self, exponent: T) -> Var<T> {
        let value = self.with_data(|t| t.powf(exponent));
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op_rule(
            value,
            "PowBackward0",
            &[self],
            smallvec![("self", Some(Saved::var(self)))],
            smallvec![("exponent", Attr::Float(exponent.as_f64()))],
            dual(Ctx::Number(exponent), pow_on_vars, |c, g, saved, _| {
                let exponent = c.number();
                let x = saved[0].as_ref().expect("saved");
                let g = if exponent == T::zero() {
                    apply(g, |g| g * T::zero())
                } else if exponent == T::cast(2.0) {
                    zip_apply(g, x, |g, x| g * (x * T::cast(2.0)))
                } else {
                    let e1 = exponent - T::one();
                    zip_apply(g, x, |g, x| g * (x.powf(e1) * exponent))
                };
                Ok(smallvec![Some(g)])
            }),
        )
    }

    /// Limits every element to `[min, max]` (either may be absent); the gradient passes where
    /// `min <= x <= max` (`ClampBackward1`).
    #[track_caller]
    pub fn clamp(&self, min: Option<T>, max: Option<T>) -> Var<T> {
        let value = self.with_data(|t| t.clamp(min, max));
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let attr = |b: Option<T>| b.map_or(Attr::None, |v| Attr::Float(v.as_f64()));
        Var::from_op(
            value,
            "ClampBackward1",
            &[self],
            smallvec![("self", Some(Saved::var(self)))],
            smallvec![("max", attr(max)), ("min", attr(min))],
            Box::new(move |g, saved, _| {
                let x = saved[0].as_ref().expect("saved").data();
                let inside = x.map(|&v| {
                    let ok = min.is_none_or(|lo| v >= lo) && max.is_none_or(|hi| v <= hi);
                    if ok {
                        T::one()
                    } else {
                        T::zero()
                    }
                });
                Ok(smallvec![Some(times_const(g, inside))])
            }),
        )
    }

    /// `1 / x` (`ReciprocalBackward0`).
    #[track_caller]
    pub fn reciprocal(&self) -> Var<T> {
        let value = self.with_data(|t| t.rdiv_scalar(T::one()));
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let saved = smallvec![("result", output(&value))];
        Var::from_op(
            value,
            "ReciprocalBackward0",
            &[self],
            saved,
            smallvec![],
            Box::new(|g, saved, _| {
                let r = saved[0].as_ref().expect("saved");
                Ok(smallvec![Some(g.mul(&r.mul(r)).neg())])
            }),
        )
    }

    /// `x + s` for a number (`AddBackward0`).
    #[track_caller]
    pub fn add_scalar(&self, s: T) -> Var<T> {
        let value = self.with_data(|t| t.add_scalar(s));
        self.scalar_op(
            value,
            "AddBackward0",
            smallvec![("alpha", Attr::Int(1))],
            Same,
        )
    }

    /// `x - s` for a number (`SubBackward0`).
    #[track_caller]
    pub fn sub_scalar(&self, s: T) -> Var<T> {
        let value = self.with_data(|t| t.sub_scalar(s));
        self.scalar_op(
            value,
            "SubBackward0",
            smallvec![("alpha", Attr::Int(1))],
            Same,
        )
    }

    /// `s - x` for a number (`RsubBackward1`).
    #[track_caller]
    pub fn rsub_scalar(&self, s: T) -> Var<T> {
        let value = self.with_data(|t| t.rsub_scalar(s));
        self.scalar_op(
            value,
            "RsubBackward1",
            smallvec![("alpha", Attr::Int(1))],
            Negated,
        )
    }

    /// `x * s` for a number (`MulBackward0`).
    #[track_caller]
    pub fn mul_scalar(&self, s: T) -> Var<T> {
        let value = self.with_data(|t| t.mul_scalar(s));
        self.scalar_op(
            value,
            "MulBackward0",
            smallvec![("other", Attr::Float(s.as_f64()))],
            Times(s),
        )
    }

    /// `x / s` for a number (`DivBackward0`).
    #[track_caller]
    pub fn div_scalar(&self, s: T) -> Var<T> {
        let value = self.with_data(|t| t.div_scalar(s));
        self.scalar_op(
            value,
            "DivBackward0",
            smallvec![("other", Attr::Float(s.as_f64()))],
            Over(s),
        )
    }

    /// `s / x` for a number: `s * (1 / x)`, two nodes as in PyTorch.
    #[track_caller]
    pub fn rdiv_scalar(&self, s: T) -> Var<T> {
        self.reciprocal().mul_scalar(s)
    }

    /// Records a one-input op whose gradient is the output's gradient scaled by a number.
    #[track_caller]
    fn scalar_op<S: Scaling<T>>(
        &self,
        value: Tensor<T>,
        name: &'static str,
        attrs: Attrs,
        scale: S,
    ) -> Var<T> {
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op_rule(
            value,
            name,
            &[self],
            smallvec![],
            attrs,
            dual(
                scale.ctx(),
                |c, g, _, _| Ok(smallvec![Some(S::from_ctx(c).on_var(g))]),
                |c, g, _, _| Ok(smallvec![Some(S::from_ctx(c).on_tensor(g))]),
            ),
        )
    }
}

/// How a scalar op's gradient scales the output's gradient.
trait Scaling<T: Float>: Sized + 'static {
    /// The number it keeps, if any, for the node.
    fn ctx(&self) -> Ctx<T>;
    fn from_ctx(c: &Ctx<T>) -> Self;
    fn on_var(&self, g: &Var<T>) -> Var<T>;
    fn on_tensor(&self, g: Tensor<T>) -> Tensor<T>;
}

/// The gradient passes unchanged (`x + s`, `x - s`).
struct Same;
/// The gradient is negated (`s - x`).
struct Negated;
/// The gradient is multiplied by the number (`x * s`).
struct Times<T>(T);
/// The gradient is divided by the number (`x / s`).
struct Over<T>(T);

impl<T: Float> Scaling<T> for Same {
    fn ctx(&self) -> Ctx<T> {
        Ctx::None
    }
    fn from_ctx(_: &Ctx<T>) -> Self {
        Same
    }
    fn on_var(&self, g: &Var<T>) -> Var<T> {
        g.clone()
    }
    fn on_tensor(&self, g: Tensor<T>) -> Tensor<T> {
        g
    }
}

impl<T: Float> Scaling<T> for Negated {
    fn ctx(&self) -> Ctx<T> {
        Ctx::None
    }
    fn from_ctx(_: &Ctx<T>) -> Self {
        Negated
    }
    fn on_var(&self, g: &Var<T>) -> Var<T> {
        g.neg_grad()
    }
    fn on_tensor(&self, g: Tensor<T>) -> Tensor<T> {
        apply(g, |x| -x)
    }
}

impl<T: Float> Scaling<T> for Times<T> {
    fn ctx(&self) -> Ctx<T> {
        Ctx::Number(self.0)
    }
    fn from_ctx(c: &Ctx<T>) -> Self {
        Times(c.number())
    }
    fn on_var(&self, g: &Var<T>) -> Var<T> {
        let s = self.0;
        g.map_grad_in_place(|x| x * s)
            .unwrap_or_else(|| g.mul_scalar(s))
    }
    fn on_tensor(&self, g: Tensor<T>) -> Tensor<T> {
        apply(g, |x| x * self.0)
    }
}

impl<T: Float> Scaling<T> for Over<T> {
    fn ctx(&self) -> Ctx<T> {
        Ctx::Number(self.0)
    }
    fn from_ctx(c: &Ctx<T>) -> Self {
        Over(c.number())
    }
    fn on_var(&self, g: &Var<T>) -> Var<T> {
        let s = self.0;
        g.map_grad_in_place(|x| x / s)
            .unwrap_or_else(|| g.div_scalar(s))
    }
    fn on_tensor(&self, g: Tensor<T>) -> Tensor<T> {
        apply(g, |x| x / self.0)
    }
}

/// `PowBackward0` on vars: `g * e x^(e-1)` (`g * 2x` for a square), zero for `e = 0`.
fn pow_on_vars<T: Float>(
    c: &Ctx<T>,
    g: &Var<T>,
    saved: &[Option<Var<T>>],
    _: &[bool],
) -> crate::error::Result<Grads<T>> {
    let exponent = c.number();
    let x = saved[0].as_ref().expect("saved");
    if exponent == T::zero() {
        return Ok(smallvec![Some(times_const(g, g.data().zeros_like()))]);
    }
    let two = T::cast(2.0);
    // g * (2x) or g * (x^(e-1) * e), in place on the gradient when possible.
    let fast = if exponent == two {
        x.with_data(|t| g.zip_grad_in_place(t, |g, x| g * (x * two)))
    } else {
        let e1 = exponent - T::one();
        x.with_data(|t| g.zip_grad_in_place(t, |g, x| g * (x.powf(e1) * exponent)))
    };
    if let Some(r) = fast {
        return Ok(smallvec![Some(r)]);
    }
    let d = if exponent == two {
        x.mul_scalar(two)
    } else {
        x.powf(exponent - T::one()).mul_scalar(exponent)
    };
    Ok(smallvec![Some(g.mul(&d))])
}
