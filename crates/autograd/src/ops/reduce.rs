//! Reductions (sum, mean, max, min, var) and their adjoints (broadcast back, sum back).

use antorcha_tensor::ndarray::Dimension;
use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use super::plain;
use super::unary::times_const;
use crate::error::Result;
use crate::flow::Flow;
use crate::node::{Attr, Attrs, Saved};
use crate::rule::{generic, Ctx, GradsOf, Rule, RuleFn};
use crate::var::{needs_graph, Var};

fn dim_attrs(dim: usize, keepdim: bool, shape: &[usize]) -> Attrs {
    smallvec![
        ("dim", Attr::Ints(vec![dim as i64])),
        ("keepdim", Attr::Bool(keepdim)),
        ("self_sym_sizes", Attr::shape(shape)),
    ]
}

/// Puts a reduced gradient back in the input's shape: re-inserts the reduced dim when it was
/// dropped, then broadcasts.
fn expand_back<T: Float>(g: &Var<T>, dim: usize, keepdim: bool, shape: &[usize]) -> Var<T> {
    let g = if keepdim {
        g.clone()
    } else {
        g.unsqueeze(dim as isize)
    };
    g.broadcast_to(shape)
}

/// `SumBackward0` (and `sum_to`'s): the gradient broadcast back to the input's shape.
fn sum_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    Ok(smallvec![Some(g.expand(c.shape().slice()))])
}

/// `MeanBackward0`: the gradient divided by the count, broadcast back.
fn mean_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    let shape = c.shape();
    let n = T::cast(shape.size() as f64);
    Ok(smallvec![Some(g.div_by(n).expand(shape.slice()))])
}

/// `ExpandBackward0`: the gradient summed back to the input's shape.
fn expand_rule<T: Float, F: Flow<T>>(
    c: &Ctx<T>,
    g: F,
    _: &[Option<F>],
    _: &[bool],
) -> Result<GradsOf<F>> {
    Ok(smallvec![Some(g.sum_to(c.shape().slice()))])
}

impl<T: Float> Var<T> {
    /// The sum of all elements, as a 0-d var (`SumBackward0`).
    #[track_caller]
    pub fn sum(&self) -> Var<T> {
        let (value, shape) = self.with_data(|x| (x.sum(), x.raw_dim()));
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let attrs = smallvec![("self_sym_sizes", Attr::shape(shape.slice()))];
        Var::from_op_rule(
            value,
            "SumBackward0",
            &[self],
            smallvec![],
            attrs,
            generic!(Ctx::Shape(shape), sum_rule),
        )
    }

    /// The mean of all elements, as a 0-d var (`MeanBackward0`); NaN for an empty var.
    #[track_caller]
    pub fn mean(&self) -> Var<T> {
        let (value, shape) = self.with_data(|x| (x.mean(), x.raw_dim()));
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let n: usize = shape.size();
        let attrs = smallvec![
            ("self_sym_numel", Attr::Int(n as i64)),
            ("self_sym_sizes", Attr::shape(shape.slice())),
        ];
        Var::from_op_rule(
            value,
            "MeanBackward0",
            &[self],
            smallvec![],
            attrs,
            generic!(Ctx::Shape(shape), mean_rule),
        )
    }

    plain!(
        /// The sum over `dim`, keeping it as size 1 when `keepdim` (`SumBackward1`).
        sum_dim => try_sum_dim(dim: isize, keepdim: bool)
    );
    plain!(
        /// The mean over `dim`, keeping it as size 1 when `keepdim` (`MeanBackward1`).
        mean_dim => try_mean_dim(dim: isize, keepdim: bool)
    );
    plain!(
        /// The variance over `dim` with Bessel's `correction` (PyTorch's default is 1)
        /// (`VarBackward0`).
        var_dim => try_var_dim(dim: isize, correction: usize, keepdim: bool)
    );

    /// `sum_dim`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_sum_dim(&self, dim: isize, keepdim: bool) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_sum_dim(dim, keepdim)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let shape = x.shape().to_vec();
        let d = normalize(dim, shape.len());
        Ok(Var::from_op(
            value,
            "SumBackward1",
            &[self],
            smallvec![],
            dim_attrs(d, keepdim, &shape),
            Box::new(move |g, _, _| Ok(smallvec![Some(expand_back(g, d, keepdim, &shape))])),
        ))
    }

    /// `mean_dim`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_mean_dim(&self, dim: isize, keepdim: bool) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_mean_dim(dim, keepdim)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let shape = x.shape().to_vec();
        let d = normalize(dim, shape.len());
        let n = T::cast(shape.get(d).copied().unwrap_or(1) as f64);
        Ok(Var::from_op(
            value,
            "MeanBackward1",
            &[self],
            smallvec![],
            dim_attrs(d, keepdim, &shape),
            Box::new(move |g, _, _| {
                Ok(smallvec![Some(expand_back(
                    &g.div_scalar(n),
                    d,
                    keepdim,
                    &shape,
                ))])
            }),
        ))
    }

    /// `var_dim`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_var_dim(&self, dim: isize, correction: usize, keepdim: bool) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_var_dim(dim, correction, keepdim)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let shape = x.shape().to_vec();
        let d = normalize(dim, shape.len());
        let n = shape.get(d).copied().unwrap_or(1);
        let mut attrs = dim_attrs(d, keepdim, &shape);
        attrs.push(("correction", Attr::Int(correction as i64)));
        Ok(Var::from_op(
            value,
            "VarBackward0",
            &[self],
            smallvec![("self", Some(Saved::var(self)))],
            attrs,
            Box::new(move |g, saved, _| {
                // d var / dx = 2 (x - mean) / (n - correction)
                let x = saved[0].as_ref().expect("saved");
                let centred = x.sub(&x.mean_dim(d as isize, true));
                let scale = T::cast(2.0 / (n as f64 - correction as f64));
                let g = expand_back(g, d, keepdim, &shape);
                Ok(smallvec![Some(g.mul(&centred).mul_scalar(scale))])
            }),
        ))
    }

    /// The variance of all elements with Bessel's `correction` (`VarBackward0`).
    #[track_caller]
    pub fn var(&self, correction: usize) -> Var<T> {
        let n = self.numel();
        self.reshape(&[n as isize]).var_dim(0, correction, false)
    }

    /// The largest element, as a 0-d var; ties share the gradient evenly (`MaxBackward1`).
    #[track_caller]
    pub fn max(&self) -> Var<T> {
        self.extremum_all(true)
    }

    /// The smallest element, as a 0-d var; ties share the gradient evenly (`MinBackward1`).
    #[track_caller]
    pub fn min(&self) -> Var<T> {
        self.extremum_all(false)
    }

    #[track_caller]
    fn extremum_all(&self, max: bool) -> Var<T> {
        let x = self.data();
        let value = if max { x.max() } else { x.min() };
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let m = value.item();
        let hits = x.eq_scalar(m).to_float::<T>();
        let count = hits.sum().item();
        let share = hits.div_scalar(count);
        Var::from_op(
            value,
            if max { "MaxBackward1" } else { "MinBackward1" },
            &[self],
            smallvec![("self", Some(Saved::var(self)))],
            smallvec![],
            Box::new(move |g, _, _| {
                Ok(smallvec![Some(times_const(
                    &g.broadcast_to(share.shape()),
                    share.clone(),
                ))])
            }),
        )
    }

    /// The largest values over `dim` and their indices (`MaxBackward0`): the gradient goes to
    /// the position each value came from.
    ///
    /// # Panics
    /// If `dim` is out of range or the dim is empty.
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Var<T>, Tensor<i64>) {
        crate::error::ok(self.try_extremum_dim(dim, keepdim, true))
    }

    /// The smallest values over `dim` and their indices (`MinBackward0`).
    ///
    /// # Panics
    /// If `dim` is out of range or the dim is empty.
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Var<T>, Tensor<i64>) {
        crate::error::ok(self.try_extremum_dim(dim, keepdim, false))
    }

    /// `max_dim` (`max` true) or `min_dim`, or the error.
    #[track_caller]
    pub fn try_extremum_dim(
        &self,
        dim: isize,
        keepdim: bool,
        max: bool,
    ) -> Result<(Var<T>, Tensor<i64>)> {
        let x = self.data();
        let (value, indices) = if max {
            x.try_max_dim(dim, keepdim)?
        } else {
            x.try_min_dim(dim, keepdim)?
        };
        if !needs_graph(&[self]) {
            return Ok((Var::new(value), indices));
        }
        let shape = x.shape().to_vec();
        let d = normalize(dim, shape.len());
        let index = if keepdim || shape.is_empty() {
            indices.clone()
        } else {
            indices.unsqueeze(d as isize)
        };
        let mut attrs = dim_attrs(d, keepdim, &shape);
        attrs.remove(0);
        let out = Var::from_op(
            value,
            if max { "MaxBackward0" } else { "MinBackward0" },
            &[self],
            smallvec![],
            attrs,
            Box::new(move |g, _, _| {
                let g = if keepdim || shape.is_empty() {
                    g.clone()
                } else {
                    g.unsqueeze(d as isize)
                };
                Ok(smallvec![Some(
                    Var::zeros(&shape).scatter_add(d as isize, &index, &g),
                )])
            }),
        );
        Ok((out, indices))
    }

    /// Sums a broadcast gradient back to `shape` (the adjoint of `broadcast_to`); returns
    /// `self` when the shapes already agree.
    ///
    /// # Panics
    /// If `self`'s shape is not a broadcast of `shape`.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Var<T> {
        crate::error::ok(self.try_sum_to(shape))
    }

    /// `sum_to`, or an error when `self` is not a broadcast of `shape`.
    #[track_caller]
    pub fn try_sum_to(&self, shape: &[usize]) -> Result<Var<T>> {
        self.resize(
            shape,
            "SumBackward1",
            |x, shape| x.try_sum_to(shape),
            sum_rule,
            sum_rule,
        )
    }

    /// `self` broadcast to `shape` (`ExpandBackward0`, like `tensor.expand`); its gradient is
    /// summed back.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Var<T> {
        crate::error::ok(self.try_broadcast_to(shape))
    }

    /// `broadcast_to`, or an error naming both shapes.
    #[track_caller]
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Var<T>> {
        self.resize(
            shape,
            "ExpandBackward0",
            |x, shape| x.try_broadcast_to(shape),
            expand_rule,
            expand_rule,
        )
    }

    /// `sum_to` and `broadcast_to`, each the other's gradient: `self` when the shape already
    /// is `shape`, else `forward`'s result, recorded as `name` with the two forms of its rule
    /// over this var's shape (where its gradient goes back to).
    #[track_caller]
    fn resize(
        &self,
        shape: &[usize],
        name: &'static str,
        forward: impl FnOnce(&Tensor<T>, &[usize]) -> antorcha_tensor::Result<Tensor<T>>,
        on_vars: RuleFn<T, Var<T>>,
        on_tensors: RuleFn<T, Tensor<T>>,
    ) -> Result<Var<T>> {
        let record = needs_graph(&[self]);
        let Some((value, from, x)) = self.with_data(|x| {
            if x.shape() == shape {
                return Ok(None);
            }
            let from = record.then(|| x.raw_dim());
            Ok::<_, crate::error::AutogradError>(Some((forward(x, shape)?, from, x.clone())))
        })?
        else {
            return Ok(self.clone());
        };
        let Some(from) = from else {
            return Ok(Var::new(value).into_view_of(self, &x));
        };
        Ok(Var::from_op_rule(
            value,
            name,
            &[self],
            smallvec![],
            smallvec![("self_sym_sizes", Attr::shape(from.slice()))],
            Rule::Generic {
                ctx: Ctx::Shape(from),
                on_vars,
                on_tensors,
            },
        )
        .into_view_of(self, &x))
    }
}

/// A dim already checked by the forward op, made non-negative.
pub(crate) fn normalize(dim: isize, ndim: usize) -> usize {
    let n = ndim.max(1) as isize;
    (if dim < 0 { dim + n } else { dim }) as usize
}
