//! `matmul` with PyTorch's rules for 1-D, 2-D and batched operands.

use antorcha_tensor::Float;
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::Saved;
use crate::var::{needs_graph, Var};

/// PyTorch's backward name for a product of these ranks.
fn node_name(a: usize, b: usize) -> &'static str {
    match (a, b) {
        (1, 1) => "DotBackward0",
        (2, 1) => "MvBackward0",
        (1, 2) | (2, 2) => "MmBackward0",
        _ => "BmmBackward0",
    }
}

impl<T: Float> Var<T> {
    plain!(
        /// The matrix product with `torch.matmul`'s rules: dot for 1-D·1-D, matrix-vector,
        /// matrix-matrix and batched products with broadcast batch dims (`MmBackward0`, …).
        matmul => try_matmul(other: &Var<T>)
    );

    /// `matmul`, or an error naming both shapes (with a hint when a transpose would fit).
    #[track_caller]
    pub fn try_matmul(&self, other: &Var<T>) -> Result<Var<T>> {
        let (a, b) = (self.data(), other.data());
        let value = a.try_matmul(&b)?;
        if !needs_graph(&[self, other]) {
            return Ok(Var::new(value));
        }
        let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
        let saved = smallvec![
            ("mat2", self.needs_grad().then(|| Saved::var(other))),
            ("self", other.needs_grad().then(|| Saved::var(self))),
        ];
        Ok(Var::from_op(
            value,
            node_name(sa.len(), sb.len()),
            &[self, other],
            saved,
            smallvec![],
            Box::new(move |g, saved, needs| {
                // Promote 1-D operands to matrices, as the forward did, so one rule serves all.
                let promote_a = sa.len() == 1;
                let promote_b = sb.len() == 1;
                let mut g = g.clone();
                if promote_b {
                    g = g.unsqueeze(-1);
                }
                if promote_a {
                    g = g.unsqueeze(-2);
                }
                let ga = needs[0].then(|| {
                    let b = saved[0].as_ref().expect("saved");
                    let b = if promote_b {
                        b.unsqueeze(-1)
                    } else {
                        b.clone()
                    };
                    let full = g.matmul(&b.transpose(-1, -2));
                    let target: Vec<usize> = if promote_a {
                        vec![1, sa[0]]
                    } else {
                        sa.clone()
                    };
                    full.sum_to(&target).reshape(&to_isize(&sa))
                });
                let gb = needs[1].then(|| {
                    let a = saved[1].as_ref().expect("saved");
                    let a = if promote_a { a.unsqueeze(0) } else { a.clone() };
                    let full = a.transpose(-1, -2).matmul(&g);
                    let target: Vec<usize> = if promote_b {
                        vec![sb[0], 1]
                    } else {
                        sb.clone()
                    };
                    full.sum_to(&target).reshape(&to_isize(&sb))
                });
                Ok(smallvec![ga, gb])
            }),
        ))
    }
}

fn to_isize(s: &[usize]) -> Vec<isize> {
    s.iter().map(|&d| d as isize).collect()
}
