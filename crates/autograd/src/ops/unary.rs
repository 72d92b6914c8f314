//! Elementwise unary ops and ops with a scalar operand.

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::error::Result;
use crate::flow::Flow;
use crate::node::{Attr, Attrs, Saved};
use crate::rule::{generic, Ctx, GradsOf, Rule};
use crate::var::{needs_graph, Var};

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
            let saved = if $saves_result { Some(Saved::output(&value)) } else { Some(Saved::var(self)) };
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
        self.scalar_op(
            value,
            "NegBackward0",
            smallvec![],
            generic!(Ctx::None, negated_rule),
        )
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
            generic!(Ctx::Number(exponent), pow_rule),
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

    /// `max(x, 0)` (`ReluBackward0`).
    #[track_caller]
    pub fn relu(&self) -> Var<T> {
        let value = self.with_data(|t| t.relu());
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let saved = smallvec![("result", Some(Saved::output(&value)))];
        Var::from_op_rule(
            value,
            "ReluBackward0",
            &[self],
            saved,
            smallvec![],
            generic!(Ctx::Number(T::zero()), threshold_rule),
        )
    }

    /// `1 / x` (`ReciprocalBackward0`).
    #[track_caller]
    pub fn reciprocal(&self) -> Var<T> {
        let value = self.with_data(|t| t.rdiv_scalar(T::one()));
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let saved = smallvec![("result", Some(Saved::output(&value)))];
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
            generic!(Ctx::None, same_rule),
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
            generic!(Ctx::None, same_rule),
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
            generic!(Ctx::None, negated_rule),
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
            generic!(Ctx::Number(s), times_rule),
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
            generic!(Ctx::Number(s), over_rule),
        )
    }

    /// `s / x` for a number: `s * (1 / x)`, two nodes as in PyTorch.
    #[track_caller]
    pub fn rdiv_scalar(&self, s: T) -> Var<T> {
        self.reciprocal().mul_scalar(s)
    }

    /// Records a one-input op whose gradient is the output's gradient scaled by a number.
    #[track_caller]
    fn scalar_op(
        &self,
        value: Tensor<T>,
        name: &'static str,
        attrs: Attrs,
        rule: Rule<T>,
    ) -> Var<T> {
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op_rule(value, name, &[self], smallvec![], attrs, rule)
    }
}

/// `x + s`, `x - s`: the gradient passes unchanged.
fn same_rule<T: Float, F: Flow<T>>(
    _: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    Ok(smallvec![Some(g)])
}

/// `s - x`: the gradient is negated.
fn negated_rule<T: Float, F: Flow<T>>(
    _: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    Ok(smallvec![Some(g.neg())])
}

/// ReLU's backward: the gradient where the saved result is above the threshold.
fn threshold_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    saved: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    let r = saved[0].as_ref().expect("saved");
    Ok(smallvec![Some(g.threshold_backward(r, c.number()))])
}

/// ReLU's backward as a recorded op, what a `create_graph` backward through ReLU records
/// (`ThresholdBackwardBackward0`, as PyTorch): `g` where the saved result `x` is above
/// `threshold` (a NaN result lets it through), zero elsewhere. Linear in `g`, so its own
/// gradient is the same op on `gg`; `x` only selects, so its gradient is zero.
pub(crate) fn threshold_backward<T: Float>(g: &Var<T>, x: &Var<T>, threshold: T) -> Var<T> {
    // The plain-tensor rule computes the value (a copy only because `g` is shared).
    let value = Flow::threshold_backward(g.data(), &x.data(), threshold);
    if !needs_graph(&[g, x]) {
        return Var::new(value);
    }
    // ReLU passes PyTorch's integer 0, which its graphs show as `threshold: 0`.
    let attr = if threshold == T::zero() {
        Attr::Int(0)
    } else {
        Attr::Float(threshold.as_f64())
    };
    Var::from_op(
        value,
        "ThresholdBackwardBackward0",
        &[g, x],
        smallvec![("self", Some(Saved::var(x)))],
        smallvec![("threshold", attr)],
        Box::new(move |gg, saved, needs| {
            let x = saved[0].as_ref().expect("saved self");
            Ok(smallvec![
                needs[0].then(|| threshold_backward(gg, x, threshold)),
                needs[1].then(|| Var::new(gg.data().zeros_like())),
            ])
        }),
    )
}

/// `x * s`: the gradient is multiplied by the number.
fn times_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    Ok(smallvec![Some(g.scale(c.number()))])
}

/// `x / s`: the gradient is divided by the number.
fn over_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    Ok(smallvec![Some(g.div_by(c.number()))])
}

/// `PowBackward0`: `g * e x^(e-1)` (`g * 2x` for a square), zero for `e = 0`.
fn pow_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    saved: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    let x = saved[0].as_ref().expect("saved");
    Ok(smallvec![Some(g.mul_pow_grad(x, c.number()))])
}
