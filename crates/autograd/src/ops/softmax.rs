//! `softmax`, `log_softmax` and `logsumexp` along a dim, numerically stable.

use antorcha_tensor::Float;
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::{Attr, Saved};
use crate::var::{needs_graph, Var};

impl<T: Float> Var<T> {
    plain!(
        /// `exp(x) / sum(exp(x))` along `dim` (`SoftmaxBackward0`).
        softmax => try_softmax(dim: isize)
    );
    plain!(
        /// `x - logsumexp(x)` along `dim` (`LogSoftmaxBackward0`).
        log_softmax => try_log_softmax(dim: isize)
    );
    plain!(
        /// `log(sum(exp(x)))` along `dim` without overflow (`LogsumexpBackward0`).
        logsumexp => try_logsumexp(dim: isize, keepdim: bool)
    );

    /// `softmax`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_softmax(&self, dim: isize) -> Result<Var<T>> {
        let value = self.data().try_softmax(dim)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let saved = smallvec![("result", Some(Saved::output(&value)))];
        Ok(Var::from_op(
            value,
            "SoftmaxBackward0",
            &[self],
            saved,
            smallvec![("dim", Attr::Int(dim as i64))],
            Box::new(move |g, saved, _| {
                // dx = r * (g - sum(g * r))
                let r = saved[0].as_ref().expect("saved");
                let dot = g.mul(r).sum_dim(dim, true);
                Ok(smallvec![Some(r.mul(&g.sub(&dot)))])
            }),
        ))
    }

    /// `log_softmax`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_log_softmax(&self, dim: isize) -> Result<Var<T>> {
        let value = self.data().try_log_softmax(dim)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let saved = smallvec![("result", Some(Saved::output(&value)))];
        Ok(Var::from_op(
            value,
            "LogSoftmaxBackward0",
            &[self],
            saved,
            smallvec![("dim", Attr::Int(dim as i64))],
            Box::new(move |g, saved, _| {
                // dx = g - softmax * sum(g)
                let r = saved[0].as_ref().expect("saved");
                Ok(smallvec![Some(g.sub(&r.exp().mul(&g.sum_dim(dim, true))))])
            }),
        ))
    }

    /// `logsumexp`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_logsumexp(&self, dim: isize, keepdim: bool) -> Result<Var<T>> {
        let value = self.data().try_logsumexp(dim, keepdim)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let saved = smallvec![
            ("result", Some(Saved::output(&value))),
            ("self", Some(Saved::var(self)))
        ];
        let d = super::reduce::normalize(dim, self.ndim()) as isize;
        Ok(Var::from_op(
            value,
            "LogsumexpBackward0",
            &[self],
            saved,
            smallvec![
                ("dim", Attr::Ints(vec![dim as i64])),
                ("keepdim", Attr::Bool(keepdim)),
            ],
            Box::new(move |g, saved, _| {
                // dx = g * exp(x - result)
                let (r, x) = (
                    saved[0].as_ref().expect("saved"),
                    saved[1].as_ref().expect("saved"),
                );
                let (g, r) = if keepdim {
                    (g.clone(), r.clone())
                } else {
                    (g.unsqueeze(d), r.unsqueeze(d))
                };
                Ok(smallvec![Some(g.mul(&x.sub(&r).exp()))])
            }),
        ))
    }
}
