//! Constant padding (`ConstantPadNdBackward0`): its gradient is the same op with the pads
//! negated (what it added is cut off, what it cut off comes back as zeros), so double backward
//! records it again.

use antorcha_tensor::Float;
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::Attr;
use crate::var::{needs_graph, Var};

impl<T: Float> Var<T> {
    plain!(
        /// `self` with `pad[2i]` values added before and `pad[2i + 1]` after dim `ndim - 1 - i`
        /// (negative numbers remove), like `torch.constant_pad_nd` and `F.pad(x, pad, value=v)`
        /// (`ConstantPadNdBackward0`).
        ///
        /// ```
        /// use antorcha_autograd::Var;
        /// let x = Var::<f64>::ones(&[2]).requires_grad();
        /// let y = x.constant_pad_nd(&[1, 2], 0.5);
        /// assert_eq!(y.to_vec(), vec![0.5, 1.0, 1.0, 0.5, 0.5]);
        /// y.sum().backward().unwrap();
        /// assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 1.0]);
        /// ```
        constant_pad_nd => try_constant_pad_nd(pad: &[isize], value: T)
    );

    /// `constant_pad_nd`, or an error for an odd number of pads, more pairs than dims, or a
    /// dim the pads would make negative.
    #[track_caller]
    pub fn try_constant_pad_nd(&self, pad: &[isize], value: T) -> Result<Var<T>> {
        let out = self.data().try_constant_pad_nd(pad, value)?;
        if !needs_graph(&[self]) {
            return Ok(Var::new(out));
        }
        let back: Vec<isize> = pad.iter().map(|&p| -p).collect();
        Ok(Var::from_op(
            out,
            "ConstantPadNdBackward0",
            &[self],
            smallvec![],
            smallvec![("pad", Attr::Ints(pad.iter().map(|&p| p as i64).collect()))],
            Box::new(move |g, _, _| Ok(smallvec![Some(g.try_constant_pad_nd(&back, T::zero())?)])),
        ))
    }
}
