//! Max pooling with indices (`MaxPool2DWithIndicesBackward0`): each output is the largest
//! element of a (dilated) window of its plane, and the index of that element within the plane
//! is kept, so the backward sends each gradient to it.

use antorcha_tensor::{Float, MaxPool2dOptions, Tensor};
use smallvec::smallvec;

use crate::error::Result;
use crate::grad_mode::is_grad_enabled;
use crate::node::Attr;
use crate::var::{needs_graph, Var};

impl<T: Float> Var<T> {
    /// The largest element of each `kernel_size` window of the last two dims of `x`
    /// (`[N, C, H, W]` or `[C, H, W]`), its taps `dilation` apart, moving by `stride`, with
    /// implicit `-inf` `padding`, like `torch.nn.functional.max_pool2d(x, kernel_size, stride,
    /// padding, dilation, ceil_mode, return_indices=True)`: also returns the index of each
    /// maximum within its `H x W` plane (the first one on ties; the last NaN, if any, as
    /// PyTorch). Records `MaxPool2DWithIndicesBackward0`, whose backward sends each gradient to
    /// that element.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let (y, idx) = x.try_max_pool2d_with_indices([2, 2], [2, 2], [0, 0], [1, 1], false).unwrap();
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// assert_eq!(idx.to_vec(), vec![5, 7, 13, 15]);
    /// let (y, _) = x.try_max_pool2d_with_indices([2, 2], [1, 1], [0, 0], [2, 2], false).unwrap();
    /// assert_eq!(y.to_vec(), vec![10.0, 11.0, 14.0, 15.0]);
    /// ```
    #[track_caller]
    pub fn try_max_pool2d_with_indices(
        &self,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Result<(Var<T>, Tensor<i64>)> {
        let options = MaxPool2dOptions {
            kernel_size,
            stride,
            padding,
            dilation,
            ceil_mode,
        };
        let (value, idx) = self.data().try_max_pool2d_with_indices(&options)?;
        if !needs_graph(&[self]) {
            return Ok((Var::new(value), idx));
        }
        let shape = self.shape();
        let nd = shape.len();
        let planes: usize = shape[..nd - 2].iter().product();
        let per = value.shape()[nd - 2] * value.shape()[nd - 1];
        let ints = |v: [usize; 2]| Attr::Ints(v.iter().map(|&d| d as i64).collect());
        let saved = idx.clone();
        let y = Var::from_op(
            value,
            "MaxPool2DWithIndicesBackward0",
            &[self],
            smallvec![],
            smallvec![
                ("kernel_size", ints(kernel_size)),
                ("stride", ints(stride)),
                ("padding", ints(padding)),
                ("dilation", ints(dilation)),
                ("ceil_mode", Attr::Bool(ceil_mode)),
            ],
            Box::new(move |g, _, _| {
                if !is_grad_enabled() {
                    // Nothing is recorded: add each gradient at its maximum's index.
                    let dx = g.data().try_max_pool2d_backward(&saved, &shape)?;
                    return Ok(smallvec![Some(Var::new(dx))]);
                }
                let flat_idx = saved.try_reshape(&[planes as isize, per as isize])?;
                let g = g.try_reshape(&[planes as isize, per as isize])?;
                let zeros = Var::new(Tensor::zeros(&[planes, shape[nd - 2] * shape[nd - 1]]));
                let dx = zeros.try_scatter_add(1, &flat_idx, &g)?;
                let in_shape: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
                Ok(smallvec![Some(dx.try_reshape(&in_shape)?)])
            }),
        );
        Ok((y, idx))
    }
}
