//! NumPy/PyTorch broadcasting: the result shape of two shapes, and elementwise zips over it.

use ndarray::{ArrayViewMutD, IxDyn, Zip};

use crate::buffer::fill;
use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::layout::{same_shape, Run};
use crate::tensor::Tensor;

/// The shape two shapes broadcast to (aligned at the right; a size 1 stretches), or an error
/// naming both shapes and the op.
///
/// ```
/// use antorcha_tensor::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[80, 1], &[1]).unwrap(), vec![80, 1]);
/// assert!(broadcast_shapes("add", &[80, 1], &[3, 2]).is_err());
/// ```
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let n = lhs.len().max(rhs.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let a = if i < n - lhs.len() {
            1
        } else {
            lhs[i - (n - lhs.len())]
        };
        let b = if i < n - rhs.len() {
            1
        } else {
            rhs[i - (n - rhs.len())]
        };
        out[i] = if a == b || b == 1 {
            a
        } else if a == 1 {
            b
        } else {
            return Err(TensorError::Broadcast {
                op,
                lhs: lhs.to_vec(),
                rhs: rhs.to_vec(),
            });
        };
    }
    Ok(out)
}

/// The row-major tensor of `shape` whose `n` elements `part(range)` yields for each part of
/// `0..n`, in order ([`crate::parallel::collect_vec`]); a single element is kept inline
/// ([`Tensor::from_one`]).
#[inline]
pub(crate) fn collect<T, I>(
    shape: &[usize],
    n: usize,
    part: impl Fn(std::ops::Range<usize>) -> I + Sync,
) -> Tensor<T>
where
    T: Element,
    I: Iterator<Item = T>,
{
    if n == 1 {
        return Tensor::from_one(part(0..1).next().expect("one element"), shape);
    }
    Tensor::from_contiguous(crate::parallel::collect_vec(n, part), shape)
}

/// `f` applied to each pair of elements of `a` and `b` broadcast together.
pub(crate) fn zip_map<A: Element, B: Element, U: Element>(
    op: &'static str,
    a: &Tensor<A>,
    b: &Tensor<B>,
    f: impl Fn(A, B) -> U,
) -> Result<Tensor<U>> {
    let (av, bv) = (a.view(), b.view());
    // Fast paths: same shape, or one side a single element that does not add dimensions.
    if av.shape() == bv.shape() {
        if let (Some(xs), Some(ys)) = (av.as_slice(), bv.as_slice()) {
            let mut data = crate::buffer::with_capacity(xs.len());
            data.extend(xs.iter().zip(ys).map(|(x, y)| f(x.clone(), y.clone())));
            return Ok(Tensor::from_contiguous(data, a.shape()));
        }
        return Ok(Tensor::from_array(
            Zip::from(av)
                .and(bv)
                .map_collect(|x, y| f(x.clone(), y.clone())),
        ));
    }
    if bv.len() == 1 && bv.ndim() <= av.ndim() {
        let y = bv.iter().next().expect("one element").clone();
        return Ok(Tensor::from_array(av.map(|x| f(x.clone(), y.clone()))));
    }
    if av.len() == 1 && av.ndim() <= bv.ndim() {
        let x = av.iter().next().expect("one element").clone();
        return Ok(Tensor::from_array(bv.map(|y| f(x.clone(), y.clone()))));
    }
    let shape = broadcast_shapes(op, av.shape(), bv.shape())?;
    let dim = IxDyn(&shape);
    let (ab, bb) = (
        av.broadcast(dim.clone()).expect("shape checked"),
        bv.broadcast(dim).expect("shape checked"),
    );
    Ok(Tensor::from_array(
        Zip::from(&ab)
            .and(&bb)
            .map_collect(|x, y| f(x.clone(), y.clone())),
    ))
}

/// [`zip_map`] for ops whose operands and result share one element type: the result starts as
/// a copy of the operand with the result's shape and is updated in place, which avoids
/// building a new `IxDyn` array (the main cost of an op on a small tensor).
pub(crate) fn zip_map_same<T: Element>(
    op: &'static str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Result<Tensor<T>> {
    if same_shape(a.shape(), b.shape()) {
        match (a.as_slice(), b.as_slice()) {
            (Some(xs), Some(ys)) => {
                return Ok(collect(a.shape(), xs.len(), |r| {
                    xs[r.clone()]
                        .iter()
                        .zip(&ys[r])
                        .map(|(x, y)| f(x.clone(), y.clone()))
                }));
            }
            (None, Some(ys)) => {
                // A strided `a` (an expanded gradient, a transpose) against a row-major `b`:
                // each run of `a` against the matching stretch of `b`.
                let n = ys.len();
                let mut data = crate::buffer::with_capacity(n);
                let (mut slots, mut rest) = (&mut data.spare_capacity_mut()[..n], ys);
                let f = &f;
                let walked = a.for_each_run(|run| {
                    let len = run.len();
                    let (yc, y_tail) = rest.split_at(len);
                    let (out, out_tail) = std::mem::take(&mut slots).split_at_mut(len);
                    (rest, slots) = (y_tail, out_tail);
                    let g = |(x, y): (&T, &T)| f(x.clone(), y.clone());
                    let written = match run {
                        Run::Slice(xs) => fill(out, xs.iter().zip(yc).map(g)),
                        Run::Repeat(x, _) => fill(out, yc.iter().map(|y| g((x, y)))),
                        Run::Step(xs, step) => fill(out, xs.iter().step_by(step).zip(yc).map(g)),
                    };
                    assert_eq!(written, len, "a run is as long as its stretch of `b`");
                });
                if walked {
                    assert!(slots.is_empty(), "the runs cover `a`");
                    // SAFETY: the runs wrote all `n` slots, in order (asserted above).
                    unsafe { data.set_len(n) };
                    return Ok(Tensor::from_contiguous(data, a.shape()));
                }
            }
            _ => {}
        }
    } else if b.numel() == 1 && b.ndim() <= a.ndim() {
        let y = b.first();
        return Ok(a.map_same(|x| f(x, y.clone())));
    } else if a.numel() == 1 && a.ndim() <= b.ndim() {
        let x = a.first();
        return Ok(b.map_same(|y| f(x.clone(), y)));
    }
    zip_map_cold(op, a, b, f)
}

/// [`zip_map`] out of line, so each op's copy of [`zip_map_same`] stays small.
#[cold]
#[inline(never)]
fn zip_map_cold<T: Element>(
    op: &'static str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Result<Tensor<T>> {
    zip_map(op, a, b, f)
}

/// `f(&mut a, b)` for each element of `a`, with `b` broadcast to `a`'s shape (which must not grow).
pub(crate) fn zip_inplace<T: Element, B: Element>(
    op: &'static str,
    a: &mut Tensor<T>,
    b: &Tensor<B>,
    f: impl Fn(&mut T, B) + Sync,
) -> Result<()> {
    let out = if same_shape(a.shape(), b.shape()) {
        None
    } else {
        Some(broadcast_shapes(op, a.shape(), b.shape())?).filter(|out| out != a.shape())
    };
    if let Some(out) = out {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: a.shape().to_vec(),
            rhs: b.shape().to_vec(),
            reason: format!(
                "the result would have shape {out:?}, but an in-place op cannot change the shape of its target"
            ),
            hint: None,
        });
    }
    if let Some(ys) = b.as_slice().filter(|ys| ys.len() == a.numel()) {
        // Same number of elements: the same row-major order (the shapes differ by 1s at most).
        crate::parallel::for_each_mut(a.as_slice_mut(), |start, xs| {
            xs.iter_mut()
                .zip(&ys[start..])
                .for_each(|(x, y)| f(x, y.clone()))
        });
    } else if b.numel() == 1 {
        let y = b.first();
        a.as_slice_mut().iter_mut().for_each(|x| f(x, y.clone()));
    } else {
        let shape = a.raw_dim();
        let target = ArrayViewMutD::from_shape(shape.clone(), a.as_slice_mut()).expect("row-major");
        let bv = b.view();
        let bb = bv.broadcast(shape).expect("shape checked");
        Zip::from(target).and(&bb).for_each(|x, y| f(x, y.clone()));
    }
    Ok(())
}
