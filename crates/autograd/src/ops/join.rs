//! Joining vars: `cat` and `stack`; each input's gradient is its part of the output's.

use antorcha_tensor::{Float, Tensor};
use smallvec::smallvec;

use crate::error::Result;
use crate::node::Attr;
use crate::var::{needs_graph, Var};

impl<T: Float> Var<T> {
    /// Joins vars along an existing dim (`torch.cat`; `CatBackward0`).
    ///
    /// # Panics
    /// If the list is empty or the shapes differ outside `dim`.
    #[track_caller]
    pub fn cat(vars: &[&Var<T>], dim: isize) -> Var<T> {
        crate::error::ok(Var::try_cat(vars, dim))
    }

    /// `cat`, or an error naming the shapes that do not fit.
    #[track_caller]
    pub fn try_cat(vars: &[&Var<T>], dim: isize) -> Result<Var<T>> {
        let data: Vec<Tensor<T>> = vars.iter().map(|v| v.data()).collect();
        let refs: Vec<&Tensor<T>> = data.iter().collect();
        let value = Tensor::try_cat(&refs, dim)?;
        if !needs_graph(vars) {
            return Ok(Var::new(value));
        }
        let d = super::reduce::normalize(dim, value.ndim());
        let sizes: Vec<usize> = data.iter().map(|t| t.shape()[d]).collect();
        Ok(Var::from_op(
            value,
            "CatBackward0",
            vars,
            smallvec![],
            smallvec![("dim", Attr::Int(dim as i64))],
            Box::new(move |g, _, needs| {
                let mut start = 0isize;
                Ok(sizes
                    .iter()
                    .zip(needs)
                    .map(|(&n, &need)| {
                        let part = need.then(|| g.slice(d as isize, start, start + n as isize, 1));
                        start += n as isize;
                        part
                    })
                    .collect())
            }),
        ))
    }

    /// Stacks vars of one shape along a new dim (`torch.stack`; `StackBackward0`).
    ///
    /// # Panics
    /// If the list is empty or the shapes differ.
    #[track_caller]
    pub fn stack(vars: &[&Var<T>], dim: isize) -> Var<T> {
        crate::error::ok(Var::try_stack(vars, dim))
    }

    /// `stack`, or an error naming the shapes that differ.
    #[track_caller]
    pub fn try_stack(vars: &[&Var<T>], dim: isize) -> Result<Var<T>> {
        let data: Vec<Tensor<T>> = vars.iter().map(|v| v.data()).collect();
        let refs: Vec<&Tensor<T>> = data.iter().collect();
        let value = Tensor::try_stack(&refs, dim)?;
        if !needs_graph(vars) {
            return Ok(Var::new(value));
        }
        let d = super::reduce::normalize(dim, value.ndim()) as isize;
        Ok(Var::from_op(
            value,
            "StackBackward0",
            vars,
            smallvec![],
            smallvec![("dim", Attr::Int(dim as i64))],
            Box::new(move |g, _, needs| {
                Ok(needs
                    .iter()
                    .enumerate()
                    .map(|(i, &need)| need.then(|| g.select(d, i as isize)))
                    .collect())
            }),
        ))
    }
}
