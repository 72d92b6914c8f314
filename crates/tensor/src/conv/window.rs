//! A convolution's window matrix, one sample at a time: im2col gathers the input under each
//! tap of each window into a `[C·kh·kw, OH·OW]` matrix (zero in the padding), col2im adds such
//! a matrix back onto the input's positions (its adjoint, for the input's gradient).

use ndarray::{ArrayView3, Axis};

use super::Geom;
use crate::element::Float;

/// The output columns `x` whose input column `x·sw + kj·dw - pw` lies inside `0..w`.
#[inline]
fn valid_cols(g: &Geom, kj: usize) -> (usize, usize) {
    let off = kj * g.dw; // the input column of output column 0, plus pw
    let lo = g.pw.saturating_sub(off).div_ceil(g.sw).min(g.ow);
    // First x with x·sw + off >= w + pw.
    let hi = (g.w + g.pw).saturating_sub(off).div_ceil(g.sw).min(g.ow);
    (lo, hi.max(lo))
}

/// The input row of output row `y` and kernel row `ki`, or `None` in the padding.
#[inline]
fn src_row(g: &Geom, y: usize, ki: usize) -> Option<usize> {
    let r = (y * g.sh + ki * g.dh).checked_sub(g.ph)?;
    (r < g.h).then_some(r)
}

/// im2col of one sample `x` (`[C, H, W]`, any strides): `col[(c, ki, kj), (y, x)]` is the
/// input under tap `(ki, kj)` of window `(y, x)`, zero in the padding.
pub(super) fn im2col<T: Float>(x: &ArrayView3<'_, T>, g: &Geom, col: &mut [T]) {
    let (ow, l) = (g.ow, g.l());
    if let Some(xs) = x.as_slice().filter(|_| g.sw == 1) {
        return im2col_rows(xs, g, col);
    }
    for c in 0..g.c {
        let plane = x.index_axis(Axis(0), c);
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = (c * g.kh + ki) * g.kw + kj;
                let dst_row = &mut col[row * l..(row + 1) * l];
                let (lo, hi) = valid_cols(g, kj);
                let first = (lo * g.sw + kj * g.dw).wrapping_sub(g.pw);
                for y in 0..g.oh {
                    let dst = &mut dst_row[y * ow..(y + 1) * ow];
                    let Some(r) = src_row(g, y, ki) else {
                        dst.fill(T::zero());
                        continue;
                    };
                    dst[..lo].fill(T::zero());
                    dst[hi..].fill(T::zero());
                    if lo == hi {
                        continue;
                    }
                    let src = plane.row(r);
                    match src.as_slice() {
                        Some(s) if g.sw == 1 => {
                            copy_short(&mut dst[lo..hi], &s[first..first + (hi - lo)]);
                        }
                        Some(s) => {
                            for (i, d) in dst[lo..hi].iter_mut().enumerate() {
                                *d = s[first + i * g.sw];
                            }
                        }
                        None => {
                            for (i, d) in dst[lo..hi].iter_mut().enumerate() {
                                *d = src[first + i * g.sw];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// [`im2col`] of a row-major sample with column stride 1: each window row is one run of the
/// input row. A run that later rows follow is copied as whole blocks of eight even past its
/// end (the spill lands in the slots of the rows after it, which are written later), so W5's
/// rows of 11 take two vector moves rather than five.
fn im2col_rows<T: Float>(xs: &[T], g: &Geom, col: &mut [T]) {
    let (ow, l, plane) = (g.ow, g.l(), g.h * g.w);
    let wide = ow.next_multiple_of(8);
    for c in 0..g.c {
        let src_plane = &xs[c * plane..(c + 1) * plane];
        for ki in 0..g.kh {
            // The output rows whose input row lies inside the plane: ylo.., from input row r0.
            let (ylo, yhi) = valid_rows(g, ki);
            let r0 = (ylo * g.sh + ki * g.dh).wrapping_sub(g.ph);
            for kj in 0..g.kw {
                let row = (c * g.kh + ki) * g.kw + kj;
                let dst_row = &mut col[row * l..(row + 1) * l];
                dst_row[..ylo * ow].fill(T::zero());
                let (lo, hi) = valid_cols(g, kj);
                let first = (lo * g.sw + kj * g.dw).wrapping_sub(g.pw);
                let from = |y: usize| (r0 + (y - ylo) * g.sh) * g.w + first;
                let mut y = ylo;
                // Whole rows, spilling: all but the last valid one, if the reads stay inside
                // (`first` is only an input column when some columns are valid).
                let spill = (lo, hi) == (0, ow)
                    && yhi > ylo + 1
                    && from(yhi - 2) + wide <= plane
                    && (yhi - 2) * ow + wide <= l;
                if spill {
                    while y + 1 < yhi {
                        let f = from(y);
                        copy_blocks(&mut dst_row[y * ow..y * ow + wide], &src_plane[f..f + wide]);
                        y += 1;
                    }
                }
                for y in y..yhi {
                    let dst = &mut dst_row[y * ow..(y + 1) * ow];
                    dst[..lo].fill(T::zero());
                    dst[hi..].fill(T::zero());
                    if lo < hi {
                        let f = from(y);
                        copy_short(&mut dst[lo..hi], &src_plane[f..f + (hi - lo)]);
                    }
                }
                // After the copies: a spill may have run into these rows.
                dst_row[yhi * ow..].fill(T::zero());
            }
        }
    }
}

/// The output rows `y` whose input row `y·sh + ki·dh - ph` lies inside `0..h`.
#[inline]
fn valid_rows(g: &Geom, ki: usize) -> (usize, usize) {
    let off = ki * g.dh;
    let lo = g.ph.saturating_sub(off).div_ceil(g.sh).min(g.oh);
    let hi = (g.h + g.ph).saturating_sub(off).div_ceil(g.sh).min(g.oh);
    (lo, hi.max(lo))
}

/// Copies `dst.len()` (a multiple of eight) elements from the front of `src` in blocks of
/// eight.
#[inline(always)]
fn copy_blocks<T: Copy>(dst: &mut [T], src: &[T]) {
    for (d, s) in dst.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
        let block: [T; 8] = s.try_into().expect("eight");
        d.copy_from_slice(&block);
    }
}

/// `dst.copy_from_slice(src)` for the short rows of a window matrix (a few to a few dozen
/// elements): whole blocks of eight as inline vector moves instead of a `memcpy` call per row
/// (which cost as much as the copy on W5's second layer: 3,168 rows of 11 per sample).
#[inline(always)]
pub(super) fn copy_short<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len().min(src.len());
    let (mut d8, mut s8) = (dst[..n].chunks_exact_mut(8), src[..n].chunks_exact(8));
    for (d, s) in (&mut d8).zip(&mut s8) {
        let block: [T; 8] = s.try_into().expect("eight");
        d.copy_from_slice(&block);
    }
    let (d, s) = (d8.into_remainder(), s8.remainder());
    let mut i = 0;
    if d.len() >= 4 {
        let block: [T; 4] = s[..4].try_into().expect("four");
        d[..4].copy_from_slice(&block);
        i = 4;
    }
    if d.len() - i >= 2 {
        d[i] = s[i];
        d[i + 1] = s[i + 1];
        i += 2;
    }
    if i < d.len() {
        d[i] = s[i];
    }
}

/// `dst += src` elementwise for a short row, in blocks of eight, four, two and one (a scalar
/// loop over the tail cost as much as the vector part on W5's rows of 11).
#[inline(always)]
pub(super) fn add_short<T: Float>(dst: &mut [T], src: &[T]) {
    fn add<T: Float, const N: usize>(d: &mut [T], s: &[T]) {
        let (d, s): (&mut [T; N], &[T; N]) = (d.try_into().expect("N"), s.try_into().expect("N"));
        for i in 0..N {
            d[i] += s[i];
        }
    }
    let n = dst.len().min(src.len());
    let mut i = 0;
    while i + 8 <= n {
        add::<T, 8>(&mut dst[i..i + 8], &src[i..i + 8]);
        i += 8;
    }
    if i + 4 <= n {
        add::<T, 4>(&mut dst[i..i + 4], &src[i..i + 4]);
        i += 4;
    }
    if i + 2 <= n {
        add::<T, 2>(&mut dst[i..i + 2], &src[i..i + 2]);
        i += 2;
    }
    if i < n {
        dst[i] += src[i];
    }
}

/// The adjoint of [`im2col`]: adds each column entry to the input element it was read from.
/// `dx` is one sample, row-major `[C, H, W]`.
pub(super) fn col2im<T: Float>(col: &[T], g: &Geom, dx: &mut [T]) {
    let (ow, l, plane) = (g.ow, g.l(), g.h * g.w);
    for c in 0..g.c {
        let dplane = &mut dx[c * plane..(c + 1) * plane];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = (c * g.kh + ki) * g.kw + kj;
                let src_row_vals = &col[row * l..(row + 1) * l];
                let (lo, hi) = valid_cols(g, kj);
                if lo == hi {
                    continue;
                }
                let first = (lo * g.sw + kj * g.dw).wrapping_sub(g.pw);
                for y in 0..g.oh {
                    let Some(r) = src_row(g, y, ki) else {
                        continue;
                    };
                    let src = &src_row_vals[y * ow + lo..y * ow + hi];
                    let drow = &mut dplane[r * g.w..(r + 1) * g.w];
                    if g.sw == 1 {
                        add_short(&mut drow[first..first + (hi - lo)], src);
                    } else {
                        for (i, &s) in src.iter().enumerate() {
                            drow[first + i * g.sw] += s;
                        }
                    }
                }
            }
        }
    }
}
