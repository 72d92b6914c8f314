//! Elementwise binary ops with broadcasting; every gradient is summed back to its input's shape.

use antorcha_tensor::ndarray::{Dimension, IxDyn};
use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::{Attr, Saved};
use crate::rule::{apply, dual, split2, sum_to, zip_apply, Ctx};
use crate::var::{needs_graph, Var};

/// A binary op's forward: `f` on both values, each read under one lock, and the inputs' shapes
/// when the op is recorded (`None`: nothing to record).
type Forward<T> = (Tensor<T>, Option<(IxDyn, IxDyn)>);

fn forward2<T: Float>(
    a: &Var<T>,
    b: &Var<T>,
    f: impl FnOnce(&Tensor<T>, &Tensor<T>) -> antorcha_tensor::Result<Tensor<T>>,
) -> Result<Forward<T>> {
    let record = needs_graph(&[a, b]);
    a.with_data2(b, |x, y| {
        let value = f(x, y)?;
        let dims = record.then(|| (x.view().raw_dim(), y.view().raw_dim()));
        Ok((value, dims))
    })
}

/// `-sum_to(g, shape)`; with `alone` (no other input's rule reads `g`), negated in place
/// when the gradient is the engine's only handle.
fn neg_sum_to<T: Float>(g: &Var<T>, shape: &[usize], alone: bool) -> Var<T> {
    if alone && g.with_data(|t| t.shape() == shape) {
        return g.neg_grad();
    }
    g.sum_to(shape).neg_grad()
}

/// `sum_to(g * other, shape)`; with `alone` (no other input's rule reads `g`), the product
/// is formed in place in the gradient when it is the engine's only handle.
fn mul_sum_to<T: Float>(
    g: &Var<T>,
    other: &Option<Var<T>>,
    shape: &[usize],
    alone: bool,
) -> Var<T> {
    let other = other.as_ref().expect("saved");
    if alone {
        if let Some(r) = other.with_data(|o| g.zip_grad_in_place(o, |x, y| x * y)) {
            return r.sum_to(shape);
        }
    }
    g.mul(other).sum_to(shape)
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
        let (value, dims) = forward2(self, other, |a, b| a.try_add(b))?;
        let Some((sa, sb)) = dims else {
            return Ok(Var::new(value));
        };
        Ok(Var::from_op_rule(
            value,
            "AddBackward0",
            &[self, other],
            smallvec![],
            smallvec![("alpha", Attr::Int(1))],
            dual(
                Ctx::Shapes(sa, sb),
                |c, g, _, needs| {
                    let (sa, sb) = c.shapes();
                    Ok(smallvec![
                        needs[0].then(|| g.sum_to(sa)),
                        needs[1].then(|| g.sum_to(sb)),
                    ])
                },
                |c, g, _, needs| {
                    let (sa, sb) = c.shapes();
                    Ok(split2(g, needs, |g| sum_to(g, sa), |g| sum_to(g, sb)))
                },
            ),
        ))
    }

    /// `self - other` or an error naming both shapes.
    #[track_caller]
    pub fn try_sub(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, dims) = forward2(self, other, |a, b| a.try_sub(b))?;
        let Some((sa, sb)) = dims else {
            return Ok(Var::new(value));
        };
        Ok(Var::from_op_rule(
            value,
            "SubBackward0",
            &[self, other],
            smallvec![],
            smallvec![("alpha", Attr::Int(1))],
            dual(
                Ctx::Shapes(sa, sb),
                |c, g, _, needs| {
                    let (sa, sb) = c.shapes();
                    Ok(smallvec![
                        needs[0].then(|| g.sum_to(sa)),
                        needs[1].then(|| neg_sum_to(g, sb, !needs[0])),
                    ])
                },
                |c, g, _, needs| {
                    let (sa, sb) = c.shapes();
                    Ok(split2(
                        g,
                        needs,
                        |g| sum_to(g, sa),
                        |g| apply(sum_to(g, sb), |x: T| -x),
                    ))
                },
            ),
        ))
    }

    /// `self * other` or an error naming both shapes.
    #[track_caller]
    pub fn try_mul(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, dims) = forward2(self, other, |a, b| a.try_mul(b))?;
        let Some((sa, sb)) = dims else {
            return Ok(Var::new(value));
        };
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
            dual(
                Ctx::Shapes(sa, sb),
                |c, g, saved, needs| {
                    let (sa, sb) = c.shapes();
                    Ok(smallvec![
                        needs[0].then(|| mul_sum_to(g, &saved[0], sa, !needs[1])),
                        needs[1].then(|| mul_sum_to(g, &saved[1], sb, !needs[0])),
                    ])
                },
                |c, g, saved, needs| {
                    let (sa, sb) = c.shapes();
                    let times = |g, x: &Option<Tensor<T>>| {
                        zip_apply(g, x.as_ref().expect("saved"), |g, x| g * x)
                    };
                    Ok(split2(
                        g,
                        needs,
                        |g| sum_to(times(g, &saved[0]), sa),
                        |g| sum_to(times(g, &saved[1]), sb),
                    ))
                },
            ),
        ))
    }

    /// `self / other` or an error naming both shapes.
    #[track_caller]
    pub fn try_div(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, dims) = forward2(self, other, |a, b| a.try_div(b))?;
        let Some((sa, sb)) = dims else {
            return Ok(Var::new(value));
        };
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
                    needs[0].then(|| g.div(b).sum_to(sa.slice())),
                    needs[1].then(|| {
                        // d(a/b)/db = -a / b²
                        let a = saved[1].as_ref().expect("saved");
                        g.mul(a).div(&b.mul(b)).neg().sum_to(sb.slice())
                    }),
                ])
            }),
        ))
    }

    /// `self ** other` or an error naming both shapes.
    #[track_caller]
    pub fn try_pow(&self, other: &Var<T>) -> Result<Var<T>> {
        let (value, dims) = forward2(self, other, |a, b| a.try_pow(b))?;
        let Some((sa, sb)) = dims else {
            return Ok(Var::new(value));
        };
        let saved = smallvec![
            ("exponent", Some(Saved::var(other))),
            ("self", Some(Saved::var(self))),
            (
                "result",
                other.needs_grad().then(|| Saved::Output {
                    value: value.clone(),
                    version: 0,
                }),
            ),
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
                            .sum_to(sa.slice())
                    }),
                    needs[1].then(|| {
                        // a^b * ln(a), zero where a == 0 and b >= 0.
                        let r = saved[2].as_ref().expect("saved");
                        let d = r.mul(&a.log());
                        let mask = a
                            .data()
                            .eq_scalar(T::zero())
                            .logical_and(&b.data().ge_scalar(T::zero()));
                        g.mul(&d.masked_fill(&mask, T::zero())).sum_to(sb.slice())
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
        let (sa, sb) = (self.dim(), other.dim());
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
                    needs[0].then(|| g.mul(&Var::new(wa.clone())).sum_to(sa.slice())),
                    needs[1].then(|| g.mul(&Var::new(wb.clone())).sum_to(sb.slice())),
                ])
            }),
        ))
    }
}
