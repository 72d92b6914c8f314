//! Shape ops: each moves elements without changing them, so its gradient moves them back.

use antorcha_tensor::Float;
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::Attr;
use crate::var::{needs_graph, Var};

impl<T: Float> Var<T> {
    plain!(
        /// The same elements in a new shape; one dim may be `-1` (`ViewBackward0`).
        reshape => try_reshape(shape: &[isize])
    );
    plain!(
        /// Inserts a dim of size 1 at `dim` (`UnsqueezeBackward0`).
        unsqueeze => try_unsqueeze(dim: isize)
    );
    plain!(
        /// Removes `dim` if its size is 1 (`SqueezeBackward1`).
        squeeze_dim => try_squeeze_dim(dim: isize)
    );
    plain!(
        /// Flattens dims `start_dim..=end_dim` into one (`ViewBackward0`).
        flatten => try_flatten(start_dim: isize, end_dim: isize)
    );
    plain!(
        /// Swaps two dims (`TransposeBackward0`).
        transpose => try_transpose(dim0: isize, dim1: isize)
    );
    plain!(
        /// Reorders the dims (`PermuteBackward0`).
        permute => try_permute(dims: &[isize])
    );

    /// Records a shape op whose gradient is `g` reshaped back to the input's shape.
    #[track_caller]
    fn view_op(&self, value: antorcha_tensor::Tensor<T>, name: &'static str) -> Var<T> {
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        let shape = self.shape();
        let back: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        Var::from_op(
            value,
            name,
            &[self],
            smallvec![],
            smallvec![("self_sym_sizes", Attr::shape(&shape))],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.reshape(&back))])),
        )
    }

    /// `reshape`, or an error naming both shapes. As in PyTorch, a reshape the strides allow is
    /// a view (`ViewBackward0` of a contiguous value, `ReshapeAliasBackward0` of a strided
    /// one); any other copies first (`UnsafeViewBackward0` over `CloneBackward0`).
    #[track_caller]
    pub fn try_reshape(&self, shape: &[isize]) -> Result<Var<T>> {
        let data = self.data();
        let value = data.try_reshape(shape)?;
        if value.ptr_eq(&data) || value.numel() == 0 {
            let name = if data.is_contiguous() {
                "ViewBackward0"
            } else {
                "ReshapeAliasBackward0"
            };
            return Ok(self.view_op(value, name).into_view_of(self, &data));
        }
        let copy = self.contiguous();
        let value = copy.data().try_view(shape)?;
        Ok(copy.view_op(value, "UnsafeViewBackward0"))
    }

    /// `view`: a reshape that must not copy, or an error saying to use `reshape`
    /// (`ViewBackward0`).
    #[track_caller]
    pub fn try_view(&self, shape: &[isize]) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_view(shape)?;
        Ok(self.view_op(value, "ViewBackward0").into_view_of(self, &x))
    }

    plain!(
        /// The same elements in a new shape without a copy; one dim may be `-1`
        /// (`ViewBackward0`).
        view => try_view(shape: &[isize])
    );

    /// This var if its value is laid out row-major already, else a row-major copy
    /// (`CloneBackward0`), like `tensor.contiguous()`.
    #[track_caller]
    pub fn contiguous(&self) -> Var<T> {
        let data = self.data();
        if data.is_contiguous() {
            return self.clone();
        }
        let value = data.contiguous();
        if !needs_graph(&[self]) {
            return Var::new(value);
        }
        Var::from_op(
            value,
            "CloneBackward0",
            &[self],
            smallvec![],
            smallvec![],
            Box::new(|g, _, _| Ok(smallvec![Some(g.clone())])),
        )
    }

    /// `self` expanded to `sizes` without copying (stride 0); `-1` keeps a dim's size and new
    /// dims go in front (`ExpandBackward0`, like `tensor.expand`).
    #[track_caller]
    pub fn try_expand(&self, sizes: &[isize]) -> Result<Var<T>> {
        let shape = self.with_data(|x| x.try_expand(sizes).map(|e| e.shape().to_vec()))?;
        self.try_broadcast_to(&shape)
    }

    plain!(
        /// `self` expanded to `sizes` (`ExpandBackward0`); see [`Var::try_expand`].
        expand => try_expand(sizes: &[isize])
    );

    /// `unsqueeze`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_unsqueeze(&self, dim: isize) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_unsqueeze(dim)?;
        Ok(self
            .view_op(value, "UnsqueezeBackward0")
            .into_view_of(self, &x))
    }

    /// `squeeze_dim`, or an error for a dim out of range.
    #[track_caller]
    pub fn try_squeeze_dim(&self, dim: isize) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_squeeze_dim(dim)?;
        Ok(self
            .view_op(value, "SqueezeBackward1")
            .into_view_of(self, &x))
    }

    /// Removes every dim of size 1 (`SqueezeBackward0`).
    #[track_caller]
    pub fn squeeze(&self) -> Var<T> {
        let x = self.data();
        let value = x.squeeze();
        self.view_op(value, "SqueezeBackward0")
            .into_view_of(self, &x)
    }

    /// `flatten`, or an error for dims out of range: a reshape (a view when the strides allow).
    #[track_caller]
    pub fn try_flatten(&self, start_dim: isize, end_dim: isize) -> Result<Var<T>> {
        let shape = self
            .data()
            .try_flatten(start_dim, end_dim)?
            .shape()
            .to_vec();
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let shape: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        self.try_reshape(&shape)
    }

    /// `transpose`, or an error for dims out of range.
    #[track_caller]
    pub fn try_transpose(&self, dim0: isize, dim1: isize) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_transpose(dim0, dim1)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value).into_view_of(self, &x));
        }
        Ok(Var::from_op(
            value,
            "TransposeBackward0",
            &[self],
            smallvec![],
            smallvec![
                ("dim0", Attr::Int(dim0 as i64)),
                ("dim1", Attr::Int(dim1 as i64)),
            ],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.transpose(dim0, dim1))])),
        )
        .into_view_of(self, &x))
    }

    /// The transpose of a matrix (`TBackward0`); 0-d and 1-d vars are returned as they are.
    ///
    /// # Panics
    /// For more than 2 dims, as PyTorch's `t()`.
    #[track_caller]
    pub fn t(&self) -> Var<T> {
        let x = self.data();
        let value = x.t();
        if !needs_graph(&[self]) {
            return Var::new(value).into_view_of(self, &x);
        }
        Var::from_op(
            value,
            "TBackward0",
            &[self],
            smallvec![],
            smallvec![],
            Box::new(|g, _, _| Ok(smallvec![Some(g.t())])),
        )
        .into_view_of(self, &x)
    }

    /// `permute`, or an error when `dims` is not a permutation.
    #[track_caller]
    pub fn try_permute(&self, dims: &[isize]) -> Result<Var<T>> {
        let x = self.data();
        let value = x.try_permute(dims)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(value).into_view_of(self, &x));
        }
        let n = dims.len();
        let mut inverse = vec![0isize; n];
        for (i, &d) in dims.iter().enumerate() {
            let d = if d < 0 { d + n as isize } else { d } as usize;
            inverse[d] = i as isize;
        }
        Ok(Var::from_op(
            value,
            "PermuteBackward0",
            &[self],
            smallvec![],
            smallvec![("dims", Attr::Ints(dims.iter().map(|&d| d as i64).collect()))],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.permute(&inverse))])),
        )
        .into_view_of(self, &x))
    }
}
