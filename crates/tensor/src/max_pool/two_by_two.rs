//! The common 2x2 max pool with stride 2 (no padding or dilation, floor mode), written over
//! groups of [`LANES`] windows of fixed size so that the compiler vectorises it (the four taps
//! of a group's windows are deinterleaved from two input rows and compared with selects), and
//! compiled a second time for AVX2, picked at run time as `conv.rs` does. It gives exactly what
//! the general loop of `max_pool.rs` gives.

use std::mem::MaybeUninit;

use super::beats;
use crate::dispatch::cpu_dispatch;
use crate::element::Float;

/// Windows per group: a row of eight f32 (two of four f64) in an AVX2 register.
const LANES: usize = 8;

cpu_dispatch! { "avx2":
    /// The 2x2, stride-2 windows of the `h x w` planes of `xs` into `vals` and `idx` (`h/2 x
    /// w/2` per plane; an odd last row or column is in no window): each output is its
    /// window's [`beats`] winner, the taps taken in the order (0,0), (0,1), (1,0), (1,1), with
    /// its index in the plane.
    pub(super) fn forward / forward_avx2<T: Float>(
        xs: &[T],
        hw: (usize, usize),
        vals: &mut [MaybeUninit<T>],
        idx: &mut [MaybeUninit<i64>],
    ) => forward_body;
}

#[inline(always)]
fn forward_body<T: Float>(
    xs: &[T],
    (h, w): (usize, usize),
    vals: &mut [MaybeUninit<T>],
    idx: &mut [MaybeUninit<i64>],
) {
    let (oh, ow) = (h / 2, w / 2);
    if oh == 0 || ow == 0 {
        return;
    }
    let planes = xs.chunks_exact(h * w);
    let outputs = vals
        .chunks_exact_mut(oh * ow)
        .zip(idx.chunks_exact_mut(oh * ow));
    for (plane, (vals, idx)) in planes.zip(outputs) {
        let rows = vals.chunks_exact_mut(ow).zip(idx.chunks_exact_mut(ow));
        for (y, (vals, idx)) in rows.enumerate() {
            let top = 2 * y * w;
            let r0 = &plane[top..top + 2 * ow];
            let r1 = &plane[top + w..top + w + 2 * ow];
            forward_row((r0, r1), top, w, vals, idx);
        }
    }
}

/// The winner of the window `a b / c d` of a plane `w` wide and its offset from `a`.
#[inline(always)]
fn window<T: Float>([a, b, c, d]: [T; 4], w: i64) -> (T, i64) {
    let (mut best, mut off) = (a, 0);
    for (v, o) in [(b, 1), (c, w), (d, w + 1)] {
        let take = beats(v, best);
        best = if take { v } else { best };
        off = if take { o } else { off };
    }
    (best, off)
}

/// The `vals.len()` windows of the rows `r0` and `r1` (twice as long), the first at index
/// `top` of a plane `w` wide: in groups of eight (of four for rows of four to seven; one by
/// one for shorter rows).
#[inline(always)]
fn forward_row<T: Float>(
    rows: (&[T], &[T]),
    top: usize,
    w: usize,
    vals: &mut [MaybeUninit<T>],
    idx: &mut [MaybeUninit<i64>],
) {
    let (n, top, w) = (vals.len(), top as i64, w as i64);
    if n >= LANES {
        forward_groups::<T, LANES, { 2 * LANES }>(rows, top, w, vals, idx);
    } else if n >= LANES / 2 {
        forward_groups::<T, { LANES / 2 }, LANES>(rows, top, w, vals, idx);
    } else {
        forward_groups::<T, 1, 2>(rows, top, w, vals, idx);
    }
}

/// [`forward_row`] in groups of `L` windows (`L2 = 2 * L` inputs a row; at least `L` windows):
/// the last group overlaps the one before when `L` does not divide the row (its outputs are
/// written twice, with the same values).
#[inline(always)]
fn forward_groups<T: Float, const L: usize, const L2: usize>(
    rows: (&[T], &[T]),
    top: i64,
    w: i64,
    vals: &mut [MaybeUninit<T>],
    idx: &mut [MaybeUninit<i64>],
) {
    let n = vals.len();
    let mut s = 0;
    while s < n {
        let first = s.min(n.saturating_sub(L));
        forward_group::<T, L, L2>(rows, first, top, w, vals, idx);
        s = first + L;
    }
}

/// The `L` windows from window `s` of [`forward_row`]'s rows, as arrays the compiler
/// vectorises (`L2 = 2 * L` inputs from each row); one by one if there are fewer than `L`
/// from `s` (which [`forward_groups`] never asks for).
#[inline(always)]
fn forward_group<T: Float, const L: usize, const L2: usize>(
    (r0, r1): (&[T], &[T]),
    s: usize,
    top: i64,
    w: i64,
    vals: &mut [MaybeUninit<T>],
    idx: &mut [MaybeUninit<i64>],
) {
    let at = top + 2 * s as i64;
    let (r0, r1, vals, idx) = (&r0[2 * s..], &r1[2 * s..], &mut vals[s..], &mut idx[s..]);
    let arrays = (
        r0.first_chunk::<L2>(),
        r1.first_chunk::<L2>(),
        vals.first_chunk_mut::<L>(),
        idx.first_chunk_mut::<L>(),
    );
    if let (Some(t), Some(b), Some(v), Some(i), true) =
        (arrays.0, arrays.1, arrays.2, arrays.3, L2 == 2 * L)
    {
        let mut taps = [[T::zero(); L]; 4];
        for l in 0..L {
            taps[0][l] = t[2 * l];
            taps[1][l] = t[2 * l + 1];
            taps[2][l] = b[2 * l];
            taps[3][l] = b[2 * l + 1];
        }
        let mut best = taps[0];
        let mut off = [0i64; L];
        for (tap, o) in [(taps[1], 1), (taps[2], w), (taps[3], w + 1)] {
            for l in 0..L {
                let take = beats(tap[l], best[l]);
                best[l] = if take { tap[l] } else { best[l] };
                off[l] = if take { o } else { off[l] };
            }
        }
        for l in 0..L {
            v[l].write(best[l]);
            i[l].write(at + 2 * l as i64 + off[l]);
        }
        return;
    }
    let windows = vals.iter_mut().zip(idx.iter_mut()).take(L);
    let taps = r0.chunks_exact(2).zip(r1.chunks_exact(2));
    for (k, ((v, i), (t, b))) in windows.zip(taps).enumerate() {
        let (best, off) = window([t[0], t[1], b[0], b[1]], w);
        v.write(best);
        i.write(at + 2 * k as i64 + off);
    }
}
