//! Layout arithmetic shared by every op: row-major strides, contiguity, checked sizes, and the
//! strides a reshape can keep without copying (PyTorch's `computeStride`).

use crate::error::{Result, TensorError};

/// A tensor's layout: its shape, strides (in elements) and storage offset, kept together:
/// inline for up to two dims and an offset below 2^32 (a 40-byte value, no allocation), the
/// shape and strides shared on the heap beyond (a clone bumps a count). Whether they are
/// row-major is worked out once, when they are made, so the contiguous fast paths cost a load.
#[derive(Clone)]
pub(crate) enum Dims {
    Inline {
        ndim: u8,
        contiguous: bool,
        offset: u32,
        /// The shape, then the strides.
        buf: [usize; 4],
    },
    Heap {
        contiguous: bool,
        offset: usize,
        /// The shape, then the strides.
        buf: std::sync::Arc<[usize]>,
    },
}

impl Dims {
    /// `shape` with `strides`, from `offset`.
    #[inline]
    pub(crate) fn new(shape: &[usize], strides: &[usize], offset: usize) -> Self {
        debug_assert_eq!(shape.len(), strides.len());
        let contiguous = is_standard(shape, strides);
        let n = shape.len();
        match u32::try_from(offset) {
            Ok(offset) if n <= 2 => {
                let mut buf = [0; 4];
                buf[..n].copy_from_slice(shape);
                buf[n..2 * n].copy_from_slice(strides);
                Dims::Inline {
                    ndim: n as u8,
                    contiguous,
                    offset,
                    buf,
                }
            }
            _ => Dims::Heap {
                contiguous,
                offset,
                buf: shape.iter().chain(strides).copied().collect(),
            },
        }
    }

    /// `shape` laid out row-major, from the storage's start.
    #[inline]
    pub(crate) fn row_major(shape: &[usize]) -> Self {
        let n = shape.len();
        match n {
            0 => Dims::Inline {
                ndim: 0,
                contiguous: true,
                offset: 0,
                buf: [0; 4],
            },
            1 => Dims::Inline {
                ndim: 1,
                contiguous: true,
                offset: 0,
                buf: [shape[0], 1, 0, 0],
            },
            2 => Dims::Inline {
                ndim: 2,
                contiguous: true,
                offset: 0,
                buf: [shape[0], shape[1], shape[1], 1],
            },
            _ => {
                let mut buf = vec![0; 2 * n];
                buf[..n].copy_from_slice(shape);
                standard_strides(shape, &mut buf[n..]);
                Dims::Heap {
                    contiguous: true,
                    offset: 0,
                    buf: buf.into(),
                }
            }
        }
    }

    /// Where the first element sits in the storage.
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        match self {
            Dims::Inline { offset, .. } => *offset as usize,
            Dims::Heap { offset, .. } => *offset,
        }
    }

    /// The size of each dimension.
    #[inline]
    pub(crate) fn shape(&self) -> &[usize] {
        match self {
            Dims::Inline { ndim, buf, .. } => &buf[..*ndim as usize],
            Dims::Heap { buf, .. } => &buf[..buf.len() / 2],
        }
    }

    /// The stride of each dimension.
    #[inline]
    pub(crate) fn strides(&self) -> &[usize] {
        match self {
            Dims::Inline { ndim, buf, .. } => &buf[*ndim as usize..2 * *ndim as usize],
            Dims::Heap { buf, .. } => &buf[buf.len() / 2..],
        }
    }

    /// The number of elements.
    #[inline]
    pub(crate) fn numel(&self) -> usize {
        match self {
            Dims::Inline { ndim: 0, .. } => 1,
            Dims::Inline { ndim: 1, buf, .. } => buf[0],
            Dims::Inline { ndim: _, buf, .. } => buf[0] * buf[1],
            Dims::Heap { .. } => self.shape().iter().product(),
        }
    }

    /// Whether both describe the same layout.
    #[inline]
    pub(crate) fn same(&self, other: &Dims) -> bool {
        self.offset() == other.offset()
            && same_shape(self.shape(), other.shape())
            && same_shape(self.strides(), other.strides())
    }

    /// Whether the strides are row-major (PyTorch's `is_contiguous`).
    #[inline]
    pub(crate) fn is_contiguous(&self) -> bool {
        match self {
            Dims::Inline { contiguous, .. } | Dims::Heap { contiguous, .. } => *contiguous,
        }
    }
}

/// `a == b` for two shapes, compared in place (slice equality calls `memcmp`, a cost on the
/// small-op path; shapes are short).
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Writes the row-major strides (in elements) of `shape` into `out`.
#[inline]
pub(crate) fn standard_strides(shape: &[usize], out: &mut [usize]) {
    let mut acc = 1usize;
    for (s, &n) in out.iter_mut().zip(shape).rev() {
        *s = acc;
        acc = acc.wrapping_mul(n);
    }
}

/// Whether `strides` lay `shape` out in row-major order (strides of size-1 dimensions do not
/// matter, as in PyTorch's `is_contiguous`).
#[inline]
pub(crate) fn is_standard(shape: &[usize], strides: &[usize]) -> bool {
    let mut expected = 1usize;
    for (&n, &s) in shape.iter().zip(strides).rev() {
        if n != 1 && s != expected {
            return n == 0 || shape.contains(&0);
        }
        expected *= n;
    }
    true
}

/// The number of elements of `shape`, or an error naming `op` when it overflows.
pub(crate) fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    // As PyTorch's stride calculation: a zero dim counts as 1, so a shape whose strides
    // would overflow is refused even when it holds no elements.
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n.max(1)))
        .filter(|&n| n <= isize::MAX as usize)
        .map(|_| shape.iter().product())
        .ok_or_else(|| {
            TensorError::invalid(
                op,
                format!("the strides of shape {shape:?} overflow (PyTorch: \"Stride calculation overflowed\")"),
            )
        })
}

/// An empty vector with room for `n` elements, or an error naming `op` and `shape` when the
/// memory cannot be had (PyTorch raises where a plain `Vec` would abort the process).
pub(crate) fn try_vec<T: 'static>(op: &'static str, shape: &[usize], n: usize) -> Result<Vec<T>> {
    crate::buffer::try_with_capacity(n).ok_or_else(|| {
        TensorError::invalid(
            op,
            format!(
                "cannot allocate {n} elements of {} bytes for shape {shape:?}",
                std::mem::size_of::<T>()
            ),
        )
    })
}

/// The strides that show a tensor of `shape`/`strides` with the shape `new` over the same
/// elements in the same row-major order, or `None` when no strides can (a copy is needed).
/// PyTorch's `computeStride`: each run of old dimensions that are contiguous with one another
/// may be split or merged freely.
pub(crate) fn view_strides(
    shape: &[usize],
    strides: &[usize],
    new: &[usize],
) -> Option<Vec<usize>> {
    if shape.is_empty() {
        return Some(vec![1; new.len()]);
    }
    let numel: usize = shape.iter().product();
    if numel == 0 {
        if shape == new {
            return Some(strides.to_vec());
        }
        let mut out = vec![1; new.len()];
        let out_s = &mut out[..];
        for d in (0..new.len().saturating_sub(1)).rev() {
            out_s[d] = new[d + 1].max(1) * out_s[d + 1];
        }
        return Some(out);
    }
    let mut out = vec![0; new.len()];
    let out_s = &mut out[..];
    // Walk the old dimensions from the right, one contiguous chunk at a time.
    let mut view_d = new.len() as isize - 1;
    let mut chunk_base_stride = *strides.last().unwrap_or(&1);
    let mut tensor_numel = 1usize;
    let mut view_numel = 1usize;
    for tensor_d in (0..shape.len()).rev() {
        tensor_numel *= shape[tensor_d];
        let chunk_ends = tensor_d == 0
            || (shape[tensor_d - 1] != 1
                && strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
        if chunk_ends {
            while view_d >= 0 && (view_numel < tensor_numel || new[view_d as usize] == 1) {
                out_s[view_d as usize] = view_numel * chunk_base_stride;
                view_numel *= new[view_d as usize];
                view_d -= 1;
            }
            if view_numel != tensor_numel {
                return None;
            }
            if tensor_d > 0 {
                chunk_base_stride = strides[tensor_d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if view_d != -1 {
        return None;
    }
    Some(out)
}

/// The offset (in elements) of the last element reachable through `shape`/`strides`, past
/// `offset`: a view op's bounds check against the storage length.
pub(crate) fn max_offset(shape: &[usize], strides: &[usize]) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    shape.iter().zip(strides).map(|(&n, &s)| (n - 1) * s).sum()
}

/// Most dims a layout walked by [`for_each_run`] keeps after merging (more falls back to ndarray).
const WALK_DIMS: usize = 16;

/// A stretch of elements along a layout's last (merged) dim, as [`for_each_run`] gives it.
pub(crate) enum Run<'a, T> {
    /// Consecutive elements.
    Slice(&'a [T]),
    /// One element, repeated (stride 0).
    Repeat(&'a T, usize),
    /// Every `step`-th element of the slice, from its first (the slice ends on the last).
    Step(&'a [T], usize),
}

impl<T> Run<'_, T> {
    /// The number of elements in the run.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Run::Slice(xs) => xs.len(),
            Run::Repeat(_, n) => *n,
            Run::Step(xs, step) => (xs.len() - 1) / step + 1,
        }
    }
}

/// Calls `f` on the runs of a strided layout over `data`, in row-major order. Dims of size 1
/// are dropped and dims that step through memory as one are merged first; an odometer walks the
/// outer dims. Returns `false`, having done nothing, when more than [`WALK_DIMS`] dims are left.
pub(crate) fn for_each_run<'a, T>(
    data: &'a [T],
    shape: &[usize],
    strides: &[usize],
    offset: usize,
    mut f: impl FnMut(Run<'a, T>),
) -> bool {
    if shape.contains(&0) {
        return true;
    }
    // Merge, from the last dim outwards: (size, stride) pairs in row-major order.
    let mut dims = [(0usize, 0usize); WALK_DIMS];
    let mut n = 0;
    for (&size, &stride) in shape.iter().zip(strides).rev() {
        if size == 1 {
            continue;
        }
        if n > 0 && dims[n - 1].1 * dims[n - 1].0 == stride {
            dims[n - 1].0 *= size;
            continue;
        }
        if n == WALK_DIMS {
            return false;
        }
        dims[n] = (size, stride);
        n += 1;
    }
    if n == 0 {
        f(Run::Slice(&data[offset..offset + 1]));
        return true;
    }
    dims[..n].reverse();
    let (inner, step) = dims[n - 1];
    let mut index = [0usize; WALK_DIMS];
    let mut base = offset;
    loop {
        f(match step {
            1 => Run::Slice(&data[base..base + inner]),
            0 => Run::Repeat(&data[base], inner),
            _ => Run::Step(&data[base..base + (inner - 1) * step + 1], step),
        });
        let mut d = n - 1;
        loop {
            if d == 0 {
                return true;
            }
            d -= 1;
            index[d] += 1;
            base += dims[d].1;
            if index[d] < dims[d].0 {
                break;
            }
            base -= dims[d].1 * dims[d].0;
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_strides_and_contiguity() {
        let s = [2, 3, 4];
        let mut st = [0; 3];
        standard_strides(&s, &mut st);
        assert_eq!(st, [12, 4, 1]);
        assert!(is_standard(&s, &[12, 4, 1]));
        assert!(!is_standard(&s, &[1, 2, 6]));
        // Size-1 dims and empty tensors are contiguous whatever their strides.
        assert!(is_standard(&[1, 3], &[99, 1]));
        assert!(is_standard(&[0, 3], &[7, 7]));
        // Dims agree with these, inline or on the heap, whichever way they are made.
        for shape in [&[][..], &[5], &[2, 3], &[2, 3, 4], &[1, 2, 3, 4, 5]] {
            let mut st = vec![0; shape.len()];
            standard_strides(shape, &mut st);
            for d in [Dims::row_major(shape), Dims::new(shape, &st, 0)] {
                assert_eq!((d.shape(), d.strides()), (shape, &st[..]));
                assert_eq!(d.numel(), shape.iter().product::<usize>());
                assert!(d.is_contiguous());
            }
        }
        let t = Dims::new(&[3, 2], &[1, 3], 0);
        assert_eq!(
            (t.shape(), t.strides(), t.is_contiguous()),
            (&[3, 2][..], &[1, 3][..], false)
        );
        let t = Dims::new(&[2, 3, 4], &[1, 2, 6], 5);
        assert_eq!(
            (t.shape(), t.strides(), t.is_contiguous()),
            (&[2, 3, 4][..], &[1, 2, 6][..], false)
        );
    }

    #[test]
    fn a_small_layout_stays_inline_in_40_bytes() {
        assert_eq!(std::mem::size_of::<Dims>(), 40);
        let d = Dims::new(&[2, 3], &[3, 1], 7);
        assert!(matches!(d, Dims::Inline { .. }));
        assert_eq!(
            (d.shape(), d.strides(), d.offset()),
            (&[2, 3][..], &[3, 1][..], 7)
        );
        let far = Dims::new(&[2], &[1], 1 << 40);
        assert!(matches!(far, Dims::Heap { .. }));
        assert_eq!(
            (far.shape(), far.strides(), far.offset()),
            (&[2][..], &[1][..], 1 << 40)
        );
    }

    #[test]
    fn checked_numel_overflows_to_an_error() {
        assert_eq!(checked_numel("t", &[2, 3]).unwrap(), 6);
        assert_eq!(checked_numel("t", &[0, 5, 2]).unwrap(), 0);
        assert!(checked_numel("t", &[0, usize::MAX, 2]).is_err());
        let e = checked_numel("zeros", &[usize::MAX, 2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("zeros") && e.contains("overflow"), "{e}");
    }

    #[test]
    fn view_strides_follow_pytorch() {
        // Contiguous: any reshape is a view.
        assert_eq!(
            view_strides(&[2, 3, 4], &[12, 4, 1], &[6, 4]).unwrap(),
            [4, 1]
        );
        // A transpose of [3, 4] (strides [1, 4]) cannot be flattened without a copy ...
        assert!(view_strides(&[4, 3], &[1, 4], &[12]).is_none());
        // ... but its dims can be split (torch: x.t().view(2, 2, 3).stride() == (2, 1, 4)).
        assert_eq!(
            view_strides(&[4, 3], &[1, 4], &[2, 2, 3]).unwrap(),
            [2, 1, 4]
        );
        // Expanded dims (stride 0) can be merged with each other.
        assert_eq!(view_strides(&[2, 3], &[0, 0], &[6]).unwrap(), [0]);
        // Size-1 dims anywhere.
        assert_eq!(
            view_strides(&[2, 1, 3], &[3, 100, 1], &[1, 6, 1]).unwrap(),
            [6, 1, 1]
        );
    }
}
