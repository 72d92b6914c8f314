//! Ops that pick elements (slices, selections, gathers, masks) and the scatters that are their
//! gradients; each pair is the other's backward, so double backward works.

use antorcha_tensor::{Float, IndexArg, Tensor};
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::{Attr, Saved};
use crate::var::{needs_graph, Var};

impl<T: Float> Var<T> {
    plain!(
        /// Elements `start, start+step, …` before `end` of dim `dim`, with Python's slicing
        /// rules (`x[1:3]`; `SliceBackward0`).
        slice => try_slice(dim: isize, start: isize, end: isize, step: usize)
    );
    plain!(
        /// `length` elements of dim `dim` from `start` (`x.narrow(dim, start, length)`;
        /// `SliceBackward0`).
        narrow => try_narrow(dim: isize, start: isize, length: usize)
    );
    plain!(
        /// The slice at `index` of dim `dim`, dropping the dim (`x[2]`; `SelectBackward0`).
        select => try_select(dim: isize, index: isize)
    );
    plain!(
        /// The rows `indices` of dim `dim`; repeated indices accumulate their gradients
        /// (`IndexSelectBackward0`).
        index_select => try_index_select(dim: isize, indices: &(impl IndexArg + ?Sized))
    );
    plain!(
        /// `torch.gather`: `out[i][j] = self[i][index[i][j]]` for `dim = 1` (`GatherBackward0`).
        gather => try_gather(dim: isize, index: &(impl IndexArg + ?Sized))
    );
    plain!(
        /// `torch.scatter_add`: a copy of `self` with `src` added at `index` along `dim`
        /// (`ScatterAddBackward0`).
        scatter_add => try_scatter_add(dim: isize, index: &(impl IndexArg + ?Sized), src: &Var<T>)
    );
    plain!(
        /// A copy of `self` with `source` added at `indices` of dim `dim` (`IndexAddBackward0`).
        index_add => try_index_add(dim: isize, indices: &(impl IndexArg + ?Sized), source: &Var<T>)
    );
    plain!(
        /// `value` where `mask` is true, `self` elsewhere (`MaskedFillBackward0`).
        masked_fill => try_masked_fill(mask: &Tensor<bool>, value: T)
    );

    /// `slice`, or an error for a dim out of range or a zero step.
    #[track_caller]
    pub fn try_slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_slice(dim, start, end, step)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value).into_view_of(self, &x));
        }
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            value,
            "SliceBackward0",
            &[self],
            smallvec![],
            smallvec![
                ("dim", Attr::Int(dim as i64)),
                ("end", Attr::Int(end as i64)),
                ("self_sym_sizes", Attr::shape(&shape)),
                ("start", Attr::Int(start as i64)),
                ("step", Attr::Int(step as i64)),
            ],
            Box::new(move |g, _, _| {
                Ok(smallvec![Some(
                    g.slice_backward(&shape, dim, start, end, step)
                )])
            }),
        )
        .into_view_of(self, &x))
    }

    /// `narrow`, or an error when the range does not fit the dim.
    #[track_caller]
    pub fn try_narrow(&self, dim: isize, start: isize, length: usize) -> Result<Var<T>> {
        // Checks the range the way `narrow` does, then records it as the slice it is.
        self.data().try_narrow(dim, start, length)?;
        let size = self.shape();
        let d = super::reduce::normalize(dim, size.len());
        let start = if start < 0 {
            start + size[d] as isize
        } else {
            start
        };
        self.try_slice(dim, start, start + length as isize, 1)
    }

    /// Zeros of `shape` with `self` written into a slice: the gradient of `slice`.
    #[track_caller]
    fn slice_backward(
        &self,
        shape: &[usize],
        dim: isize,
        start: isize,
        end: isize,
        step: usize,
    ) -> Var<T> {
        let value = Tensor::zeros(shape).slice_scatter(&self.data(), dim, start, end, step);
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op(
            value,
            "SliceBackwardBackward0",
            &[self],
            smallvec![],
            smallvec![],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.slice(dim, start, end, step))])),
        )
    }

    /// `select`, or an error for an index out of range.
    #[track_caller]
    pub fn try_select(&self, dim: isize, index: isize) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_select(dim, index)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value).into_view_of(self, &x));
        }
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            value,
            "SelectBackward0",
            &[self],
            smallvec![],
            smallvec![
                ("dim", Attr::Int(dim as i64)),
                ("index", Attr::Int(index as i64)),
                ("self_sym_sizes", Attr::shape(&shape)),
            ],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.select_backward(&shape, dim, index))])),
        )
        .into_view_of(self, &x))
    }

    /// Zeros of `shape` with `self` written at `index` of `dim`: the gradient of `select`.
    #[track_caller]
    fn select_backward(&self, shape: &[usize], dim: isize, index: isize) -> Var<T> {
        let value = Tensor::zeros(shape).select_scatter(&self.data(), dim, index);
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op(
            value,
            "SelectBackwardBackward0",
            &[self],
            smallvec![],
            smallvec![],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.select(dim, index))])),
        )
    }

    /// `index_select`, or an error for an index out of range.
    #[track_caller]
    pub fn try_index_select(
        &self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
    ) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_index_select(dim, indices)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let shape = x.shape().to_vec();
        // Checked by the forward; kept as positions for the backward's index_add.
        let indices = indices
            .to_positions("index_select", 0, &shape)?
            .into_owned();
        Ok(Var::from_op(
            value,
            "IndexSelectBackward0",
            &[self],
            smallvec![],
            smallvec![
                ("dim", Attr::Int(dim as i64)),
                ("self_sym_sizes", Attr::shape(&shape)),
            ],
            Box::new(move |g, _, _| {
                Ok(smallvec![Some(
                    Var::zeros(&shape).index_add(dim, &indices, g)
                )])
            }),
        ))
    }

    /// `index_add`, or an error for an index out of range or a `source` of the wrong shape.
    #[track_caller]
    pub fn try_index_add(
        &self,
        dim: isize,
        indices: &(impl IndexArg + ?Sized),
        source: &Var<T>,
    ) -> Result<Var<T>> {
        let value = self.data().try_index_add(dim, indices, &source.data())?;
        if !needs_graph(&[self, source]) {
            return Ok(Var::new(value));
        }
        // Checked by the forward; kept as positions for the backward's index_select.
        let indices = indices
            .to_positions("index_add", 0, &self.shape())?
            .into_owned();
        Ok(Var::from_op(
            value,
            "IndexAddBackward0",
            &[self, source],
            smallvec![],
            smallvec![("dim", Attr::Int(dim as i64))],
            Box::new(move |g, _, needs| {
                Ok(smallvec![
                    needs[0].then(|| g.clone()),
                    needs[1].then(|| g.index_select(dim, &indices)),
                ])
            }),
        ))
    }

    /// `gather`, or an error for an index out of range or shapes that do not fit.
    #[track_caller]
    pub fn try_gather(&self, dim: isize, index: &(impl IndexArg + ?Sized)) -> Result<Var<T>> {
        let index = index.to_index_tensor().into_owned();
        let x = self.data();
        let value = x.try_gather(dim, &index)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value));
        }
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            value,
            "GatherBackward0",
            &[self],
            smallvec![("self", Some(Saved::var(self)))],
            smallvec![
                ("dim", Attr::Int(dim as i64)),
                ("sparse_grad", Attr::Bool(false)),
            ],
            Box::new(move |g, _, _| {
                Ok(smallvec![Some(
                    Var::zeros(&shape).scatter_add(dim, &index, g)
                )])
            }),
        ))
    }

    /// `scatter_add`, or an error for an index out of range or shapes that do not fit.
    #[track_caller]
    pub fn try_scatter_add(
        &self,
        dim: isize,
        index: &(impl IndexArg + ?Sized),
        src: &Var<T>,
    ) -> Result<Var<T>> {
        let index = index.to_index_tensor().into_owned();
        let value = self.data().try_scatter_add(dim, &index, &src.data())?;
        if !needs_graph(&[self, src]) {
            return Ok(Var::new(value));
        }
        let src_shape = src.shape();
        Ok(Var::from_op(
            value,
            "ScatterAddBackward0",
            &[self, src],
            smallvec![],
            smallvec![("dim", Attr::Int(dim as i64))],
            Box::new(move |g, _, needs| {
                Ok(smallvec![
                    needs[0].then(|| g.clone()),
                    // `src` may be larger than `index`: its elements outside get zeros
                    // (PyTorch's `grad.gather(dim, index)` errors there, pytorch#27614).
                    needs[1].then(|| g.gather(dim, &index).pad_to(&src_shape)),
                ])
            }),
        ))
    }

    /// `self` at the leading corner of zeros of `shape` (no dim of `self` larger): the
    /// gradient of the part of a larger var that an op read.
    #[track_caller]
    fn pad_to(&self, shape: &[usize]) -> Var<T> {
        let mut out = self.clone();
        for (k, &size) in shape.iter().enumerate() {
            let mut current = out.shape();
            let have = current[k];
            if have < size {
                current[k] = size;
                out = out.slice_backward(&current, k as isize, 0, have as isize, 1);
            }
        }
        out
    }

    /// `masked_fill`, or an error when the mask does not broadcast.
    #[track_caller]
    pub fn try_masked_fill(&self, mask: &Tensor<bool>, value: T) -> Result<Var<T>> {
        let out = self.data().try_masked_fill(mask, value)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(out));
        }
        let mask = mask.clone();
        Ok(Var::from_op(
            out,
            "MaskedFillBackward0",
            &[self],
            smallvec![],
            smallvec![],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.masked_fill(&mask, T::zero()))])),
        ))
    }

    /// `a` where `cond` is true and `b` elsewhere, all broadcast together (`torch.where`;
    /// `WhereBackward0`).
    ///
    /// # Panics
    /// If the shapes do not broadcast; [`Var::try_where`] returns the error.
    #[track_caller]
    pub fn where_(cond: &Tensor<bool>, a: &Var<T>, b: &Var<T>) -> Var<T> {
        crate::error::ok(Var::try_where(cond, a, b))
    }

    /// `where_`, or an error when the shapes do not broadcast.
    #[track_caller]
    pub fn try_where(cond: &Tensor<bool>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
        let value = Tensor::try_where(cond, &a.data(), &b.data())?;
        if !needs_graph(&[a, b]) {
            return Ok(Var::new(value));
        }
        let (keep_a, keep_b) = (cond.logical_not(), cond.clone());
        Ok(Var::from_op(
            value,
            "WhereBackward0",
            &[a, b],
            smallvec![],
            smallvec![],
            Box::new(move |g, _, needs| {
                Ok(smallvec![
                    needs[0].then(|| g.masked_fill(&keep_a, T::zero())),
                    needs[1].then(|| g.masked_fill(&keep_b, T::zero())),
                ])
            }),
        ))
    }
}
