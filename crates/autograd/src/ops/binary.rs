//! Elementwise binary ops with broadcasting. Each rule gives its inputs' gradients at the
//! output's shape; the engine sums each back to its input's shape (one place for every op).

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::flow::Flow;
use crate::node::{Attr, Saved};
use crate::rule::{generic, split2, Ctx, GradsOf};
use crate::var::{needs_graph, Var};

/// A binary op's forward: `f` on both values, and whether the op is to be recorded.
fn forward2<T: Float>(
    a: &Var<T>,
    b: &Var<T>,
    f: impl FnOnce(&Tensor<T>, &Tensor<T>) -> antorcha_tensor::Result<Tensor<T>>,
) -> Result<(Tensor<T>, bool)> {
    let value = a.with_data2(b, f)?;
    Ok((value, needs_graph(&[a, b])))
}

/// `AddBackward0`: the gradient, to both inputs.
fn add_rule<T: Float, F: Flow<T>>(
    _: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    needs: &[bool],
) -> Result<GradsOf<F>> {
    Ok(split2(g, needs, |g| g, |g| g))
}

/// `SubBackward0`: as [`add_rule`], negated for `other`.
fn sub_rule<T: Float, F: Flow<T>>(
    _: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    needs: &[bool],
) -> Result<GradsOf<F>> {
    Ok(split2(g, needs, |g| g, |g| g.neg()))
}

/// `MulBackward0`: each side's gradient is `g` times the other side.
fn mul_rule<T: Float, F: Flow<T>>(
    _: &Ctx<T>,
    g: F,
    saved: &[Option<F>],
    needs: &[bool],
) -> Result<GradsOf<F>> {
    let times = |g: F, x: &Option<F>| g.mul(x.as_ref().expect("saved"));
    Ok(split2(
        g,
        needs,
        |g| times(g, &saved[0]),
        |g| times(g, &saved[1]),
    ))
}

impl<T: Float> Var<T> {
    plain!(
        /// `self + other` with broadcasting (`AddBackward0`).
        add => try_add(other: &Var<T>)
    );
    plain!(
        /// `self - other` with broadcasting (`SubBackward0`).
        sub => try_sub(other: &Var<T>)
    );
    plain!(
        /// `self * other` with broadcasting (`MulBackward0`).
        mul => try_mul(other: &Var<T>)
    );
    plain!(
        /// `self / other` with broadcasting (`DivBackward0`).
        div => try_div(other: &Var<T>)
    );
    plain!(
        /// `self ** other` elementwise with broadcasting (`PowBackward1`).
        pow => try_pow(other: &Var<T>)
    );
    plain!(
        /// Elementwise maximum with broadcasting; ties split the gradient in half
        /// (`MaximumBackward0`).
        maximum => try_maximum(other: &Var<T>)
    );
    plain!(
        /// Elementwise minimum with broadcasting; ties split the gradient in half
        /// (`MinimumBackward0`).
        minimum => try_minimum(other: &Var<T>)
    );

    /// `self + other` or an error naming both shapes.
    #[track_caller]
    pub fn try_add(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, record) = forward2(self, other, |a, b| a.try_add(b))?;
        if !record {
            return Ok(Var::new(value));
        }
        Ok(Var::from_op_rule(
            value,
            "AddBackward0",
            &[self, other],
            smallvec![],
            smallvec![("alpha", Attr::Int(1))],
            generic!(Ctx::None, add_rule),
        ))
    }

    /// `self - other` or an error naming both shapes.
    #[track_caller]
    pub fn try_sub(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, record) = forward2(self, other, |a, b| a.try_sub(b))?;
        if !record {
            return Ok(Var::new(value));
        }
        Ok(Var::from_op_rule(
            value,
            "SubBackward0",
            &[self, other],
            smallvec![],
            smallvec![("alpha", Attr::Int(1))],
            generic!(Ctx::None, sub_rule),
        ))
    }

    /// `self * other` or an error naming both shapes.
    #[track_caller]
    pub fn try_mul(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, record) = forward2(self, other, |a, b| a.try_mul(b))?;
        if !record {
            return Ok(Var::new(value));
        }
        // Each side's gradient needs the other side: keep only what will be used.
        let saved = smallvec![
            ("other", self.needs_grad().then(|| Saved::var(other))),
            ("self", other.needs_grad().then(|| Saved::var(self))),
        ];
        Ok(Var::from_op_rule(
            value,
            "MulBackward0",
            &[self, other],
            saved,
            smallvec![],
            generic!(Ctx::None, mul_rule),
        ))
    }

    /// `self / other` or an error naming both shapes.
    #[track_caller]
    pub fn try_div(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, record) = forward2(self, other, |a, b| a.try_div(b))?;
        if !record {
            return Ok(Var::new(value));
        }
        let saved = smallvec![
            ("other", Some(Saved::var(other))),
            ("self", other.needs_grad().then(|| Saved::var(self))),
        ];
        Ok(Var::from_op(
            value,
            "DivBackward0",
            &[self, other],
            saved,
            smallvec![],
            Box::new(move |g, saved, needs| {
                let b = saved[0].as_ref().expect("saved");
                Ok(smallvec![
                    needs[0].then(|| g.div(b)),
                    needs[1].then(|| {
                        // d(a/b)/db = -a / b²
                        let a = saved[1].as_ref().expect("saved");
                        g.mul(a).div(&b.mul(b)).neg()
                    }),
                ])
            }),
        ))
    }

    /// `self ** other` or an error naming both shapes.
    #[track_caller]
    pub fn try_pow(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, record) = forward2(self, other, |a, b| a.try_pow(b))?;
        if !record {
            return Ok(Var::new(value));
        }
        let saved = smallvec![
            ("exponent", Some(Saved::var(other))),
            ("self", Some(Saved::var(self))),
            ("result", other.needs_grad().then(|| Saved::output(&value)),),
        ];
        Ok(Var::from_op(
            value,
            "PowBackward1",
            &[self, other],
            saved,
            smallvec![],
            Box::new(move |g, saved, needs| {
                let (b, a) = (
                    saved[0].as_ref().expect("saved"),
                    saved[1].as_ref().expect("saved"),
                );
                Ok(smallvec![
                    needs[0].then(|| {
                        // b * a^(b-1), zero where b == 0 (PyTorch's rule, so 0^0 has no NaN).
                        let d = b.mul(&a.pow(&b.sub_scalar(T::one())));
                        let zero_exp = b.data().eq_scalar(T::zero());
                        g.mul(&d.masked_fill(&zero_exp, T::zero()))
                    }),
                    needs[1].then(|| {
                        // a^b * ln(a), zero where a == 0 and b >= 0.
                        let r = saved[2].as_ref().expect("saved");
                        let d = r.mul(&a.log());
                        let mask = a
                            .data()
                            .eq_scalar(T::zero())
                            .logical_and(&b.data().ge_scalar(T::zero()));
                        g.mul(&d.masked_fill(&mask, T::zero()))
                    }),
                ])
            }),
        ))
    }

    /// The elementwise maximum or an error naming both shapes.
    #[track_caller]
    pub fn try_maximum(&self, other: &Var<T>) -> Result<Var<T>> {
        self.extremum(other, true)
    }

    /// The elementwise minimum or an error naming both shapes.
    #[track_caller]
    pub fn try_minimum(&self, other: &Var<T>) -> Result<Var<T>> {
        self.extremum(other, false)
    }

    #[track_caller]
    fn extremum(&self, other: &Var<T>, max: bool) -> Result<Var<T>> {
        let (a, b) = (self.data(), other.data());
        let value = if max {
            a.try_maximum(&b)?
        } else {
            a.try_minimum(&b)?
        };
        if !needs_graph(&[self, other]) {
            return Ok(Var::new(value));
        }
        // Share of the gradient each side gets: 1 where it wins, 1/2 on ties, 0 where it loses.
        let wins = if max { a.try_gt(&b)? } else { a.try_lt(&b)? };
        let ties = a.try_eq(&b)?;
        let wa = wins
            .to_float::<T>()
            .add(&ties.to_float::<T>().mul_scalar(T::cast(0.5)));
        let wb = wa.rsub_scalar(T::one());
        Ok(Var::from_op(
            value,
            if max {
                "MaximumBackward0"
            } else {
                "MinimumBackward0"
            },
            &[self, other],
            smallvec![
                ("other", Some(Saved::var(other))),
                ("self", Some(Saved::var(self))),
            ],
            smallvec![],
            Box::new(move |g, _, needs| {
                Ok(smallvec![
                    needs[0].then(|| g.mul(&Var::new(wa.clone()))),
                    needs[1].then(|| g.mul(&Var::new(wb.clone()))),
                ])
            }),
        ))
    }
}
