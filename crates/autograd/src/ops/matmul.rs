//! `matmul` with PyTorch's rules for 1-D, 2-D and batched operands; `mm_t` (a product with
//! either operand transposed, without copying the transpose) and the fused `linear`
//! (`x·Wᵀ + b`, PyTorch's `AddmmBackward0`). Backward rules are built from `mm_t` itself, so
//! the products of a backward pass never materialise a transpose either, and `create_graph`
//! records them as differentiable ops.

use antorcha_tensor::Float;
use smallvec::smallvec;

use super::plain;
use crate::error::Result;
use crate::node::{Attr, Saved};
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
                if sa.len() == 2 && sb.len() == 2 {
                    // dA = G·Bᵀ, dB = Aᵀ·G, each one GEMM on a strided view.
                    let ga =
                        needs[0].then(|| g.mm_t(saved[0].as_ref().expect("saved"), false, true));
                    let gb =
                        needs[1].then(|| saved[1].as_ref().expect("saved").mm_t(&g, true, false));
                    return Ok(smallvec![ga, gb]);
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

impl<T: Float> Var<T> {
    /// `op(self) · op(other)` for 2-D vars, `op` transposing when its flag is set (BLAS's
    /// `transa`/`transb`; `MmBackward0`): `a.mm_t(&b, false, true)` is `a.matmul(&b.t())`
    /// without copying the transpose, forward or backward.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let a = Var::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]).requires_grad();
    /// let b = Var::from_vec(vec![1.0f64, 0.0, 0.0, 2.0], &[2, 2]);
    /// let c = a.mm_t(&b, false, true); // a·bᵀ
    /// assert_eq!(c.to_vec(), vec![1.0, 4.0, 3.0, 8.0]);
    /// c.sum().backward().unwrap();
    /// assert_eq!(a.grad().unwrap().to_vec(), vec![1.0, 2.0, 1.0, 2.0]); // ones·b
    /// ```
    ///
    /// # Panics
    /// If an operand is not 2-D or the inner dims differ; [`Var::try_mm_t`] returns the error.
    #[track_caller]
    pub fn mm_t(&self, other: &Var<T>, transpose_self: bool, transpose_other: bool) -> Var<T> {
        crate::error::ok(self.try_mm_t(other, transpose_self, transpose_other))
    }

    /// `mm_t`, or an error naming both shapes.
    #[track_caller]
    pub fn try_mm_t(
        &self,
        other: &Var<T>,
        transpose_self: bool,
        transpose_other: bool,
    ) -> Result<Var<T>> {
        let (ta, tb) = (transpose_self, transpose_other);
        let value = self.data().try_mm_t(&other.data(), ta, tb)?;
        if !needs_graph(&[self, other]) {
            return Ok(Var::new(value));
        }
        let saved = smallvec![
            ("mat2", self.needs_grad().then(|| Saved::var(other))),
            ("self", other.needs_grad().then(|| Saved::var(self))),
        ];
        let attrs = mm_attrs(false, (self, ta), (other, tb));
        Ok(Var::from_op(
            value,
            "MmBackward0",
            &[self, other],
            saved,
            attrs,
            Box::new(move |g, saved, needs| {
                // C = op(A)·op(B): dop(A) = G·op(B)ᵀ and dop(B) = op(A)ᵀ·G, transposed back
                // where the operand was used transposed, each as one mm_t.
                let ga = needs[0].then(|| {
                    let b = saved[0].as_ref().expect("saved");
                    if ta {
                        b.mm_t(g, tb, true)
                    } else {
                        g.mm_t(b, false, !tb)
                    }
                });
                let gb = needs[1].then(|| {
                    let a = saved[1].as_ref().expect("saved");
                    if tb {
                        g.mm_t(a, true, ta)
                    } else {
                        a.mm_t(g, !ta, false)
                    }
                });
                Ok(smallvec![ga, gb])
            }),
        ))
    }

    /// `self · weightᵀ + bias` over the last dim, like `torch.nn.functional.linear`:
    /// `weight` is `[out, in]`, `bias` `[out]`, `self` `[*, in]`. For a 2-D input it is one op
    /// (`AddmmBackward0`, or `MmBackward0` without a bias) whose forward is one GEMM on the
    /// weight as a strided view; its backward is `mm_t` products (`G·W`, `Gᵀ·x`) and a column
    /// sum, all differentiable. Other ranks are reshaped to 2-D around it (`ViewBackward0`).
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// let x = Var::from_vec(vec![1.0f64, 2.0], &[1, 2]);
    /// let w = Var::from_vec(vec![1.0, 1.0, 0.0, 1.0, 2.0, 0.0], &[3, 2]).requires_grad();
    /// let b = Var::from_vec(vec![0.0, 0.5, -1.0], &[3]).requires_grad();
    /// let y = x.linear(&w, Some(&b));
    /// assert_eq!(y.to_vec(), vec![3.0, 2.5, 1.0]);
    /// assert_eq!(y.grad_fn_name(), Some("AddmmBackward0"));
    /// y.sum().backward().unwrap();
    /// assert_eq!(w.grad().unwrap().to_vec(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// assert_eq!(b.grad().unwrap().to_vec(), vec![1.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit; [`Var::try_linear`] returns the error.
    #[track_caller]
    pub fn linear(&self, weight: &Var<T>, bias: Option<&Var<T>>) -> Var<T> {
        crate::error::ok(self.try_linear(weight, bias))
    }

    /// `linear`, or an error naming the shapes.
    #[track_caller]
    pub fn try_linear(&self, weight: &Var<T>, bias: Option<&Var<T>>) -> Result<Var<T>> {
        let mut inputs: smallvec::SmallVec<[&Var<T>; 3]> = smallvec![self, weight];
        if let Some(b) = bias {
            inputs.push(b);
        }
        let graph = needs_graph(&inputs);
        let shape = self.shape();
        if graph && shape.len() != 2 && !shape.is_empty() {
            // [*, in] -> [rows, in] -> linear -> [*, out], as PyTorch's views do.
            let in_f = shape[shape.len() - 1];
            let rows: usize = shape[..shape.len() - 1].iter().product();
            let x2 = self.try_reshape(&[rows as isize, in_f as isize])?;
            let y2 = x2.try_linear(weight, bias)?;
            let mut out: Vec<isize> = shape[..shape.len() - 1]
                .iter()
                .map(|&d| d as isize)
                .collect();
            out.push(y2.shape()[1] as isize);
            return y2.try_reshape(&out);
        }
        let value = self
            .data()
            .try_linear(&weight.data(), bias.map(|b| b.data()).as_ref())?;
        if !graph {
            return Ok(Var::new(value));
        }
        let has_bias = bias.is_some();
        // PyTorch's graph: addmm(bias, input, weight.t()), the transpose a view (`TBackward0`).
        let wt = weight.t();
        let ordered: smallvec::SmallVec<[&Var<T>; 3]> = match bias {
            Some(b) => smallvec![b, self, &wt],
            None => smallvec![self, &wt],
        };
        let off = usize::from(has_bias);
        let saved = smallvec![
            ("mat1", wt.needs_grad().then(|| Saved::var(self))),
            ("mat2", self.needs_grad().then(|| Saved::var(&wt))),
        ];
        let attrs = mm_attrs(has_bias, (self, false), (&wt, false));
        Ok(Var::from_op(
            value,
            if has_bias {
                "AddmmBackward0"
            } else {
                "MmBackward0"
            },
            &ordered,
            saved,
            attrs,
            Box::new(move |g, saved, needs| {
                let mut grads = smallvec![];
                if has_bias {
                    grads.push(needs[0].then(|| g.sum_dim(0, false)));
                }
                // dx = G·W; d(Wᵀ) = xᵀ·G, made as (Gᵀ·x)ᵀ so that `TBackward0` hands the
                // weight a row-major gradient.
                grads.push(
                    needs[off]
                        .then(|| g.mm_t(&saved[1].as_ref().expect("saved").t(), false, false)),
                );
                grads.push(
                    needs[off + 1]
                        .then(|| g.mm_t(saved[0].as_ref().expect("saved"), true, false).t()),
                );
                Ok(grads)
            }),
        ))
    }
}

fn to_isize(s: &[usize]) -> Vec<isize> {
    s.iter().map(|&d| d as isize).collect()
}

/// The attributes PyTorch saves for `mm` (`mat2_sym_sizes`, `mat2_sym_strides`,
/// `self_sym_sizes`, `self_sym_strides`) or `addmm` (`alpha`, `beta`, then `mat1_…` and
/// `mat2_…`), in its (alphabetical) order as torchviz shows them with `show_attrs`: the
/// operands' sizes and strides as the product uses them, a transposed operand's swapped. As
/// in PyTorch, an operand's strides are kept only when it requires grad (`()` otherwise).
fn mm_attrs<T: Float>(
    addmm: bool,
    (a, ta): (&Var<T>, bool),
    (b, tb): (&Var<T>, bool),
) -> crate::node::Attrs {
    let layout = |v: &Var<T>, transposed: bool| {
        let t = v.data();
        let (mut sizes, mut strides) = (t.shape().to_vec(), t.strides().to_vec());
        if transposed {
            sizes.reverse();
            strides.reverse();
        }
        if !v.needs_grad() {
            strides.clear();
        }
        (Attr::shape(&sizes), Attr::shape(&strides))
    };
    let (a_sizes, a_strides) = layout(a, ta);
    let (b_sizes, b_strides) = layout(b, tb);
    if addmm {
        smallvec![
            ("alpha", Attr::Int(1)),
            ("beta", Attr::Int(1)),
            ("mat1_sym_sizes", a_sizes),
            ("mat1_sym_strides", a_strides),
            ("mat2_sym_sizes", b_sizes),
            ("mat2_sym_strides", b_strides),
        ]
    } else {
        smallvec![
            ("mat2_sym_sizes", b_sizes),
            ("mat2_sym_strides", b_strides),
            ("self_sym_sizes", a_sizes),
            ("self_sym_strides", a_strides),
        ]
    }
}
