//! The products of a convolution whose inner dim (`C/groups · kh · kw`) is small, as a first
//! layer's 3x3 kernel on one channel has: register-blocked direct loops, built for AVX-512,
//! AVX2+FMA and portable code and picked at run time, where a GEMM's packing would cost more
//! than its arithmetic.

use crate::element::Float;

/// Below this inner dim (`C/groups · kh · kw`, e.g. 9 for a 3x3 kernel on one channel) the
/// products run as the direct loops below: a GEMM's packing costs more than the arithmetic
/// (measured on W5's first layer: about 5 GFLOP/s through sgemm with k = 9).
pub(super) const SMALL_K: usize = 16;

/// The instruction sets the small-`k` kernels below are compiled for, picked at run time on
/// each call (the same on every thread, so a sample's numbers do not depend on the thread that
/// runs it; the fused builds round differently from the portable one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Isa {
    /// Any CPU (SSE2 on x86-64): separate multiplies and adds.
    Portable,
    /// AVX2 with fused multiply-adds: eight `f32` lanes, sixteen vector registers.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 with fused multiply-adds: sixteen `f32` lanes, thirty-two vector registers.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The widest of [`Isa`] this CPU runs.
fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx2") && has!("fma") {
            return Isa::Avx512;
        }
        if has!("avx2") && has!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// `c + a·b`, fused (one rounding) when `FMA`, else a multiply then an add.
#[inline(always)]
fn fmadd<T: Float, const FMA: bool>(a: T, b: T, c: T) -> T {
    if FMA {
        a.mul_add(b, c)
    } else {
        c + a * b
    }
}

/// `L` elements of `s` from `at`, as an array (a vector register once compiled), without a
/// bounds check (which would cost as much as the multiply-add in the kernels' inner loops).
///
/// # Safety
/// `at + L <= s.len()`.
#[inline(always)]
unsafe fn load<T: Float, const L: usize>(s: &[T], at: usize) -> [T; L] {
    debug_assert!(at + L <= s.len());
    // SAFETY: the caller keeps `at..at + L` inside `s`; `[T; L]` has no alignment beyond T's
    // and the read is unaligned anyway.
    unsafe { s.as_ptr().add(at).cast::<[T; L]>().read_unaligned() }
}

/// Writes `v` to `s[at..at + L]` without a bounds check.
///
/// # Safety
/// `at + L <= s.len()`.
#[inline(always)]
unsafe fn store<T: Float, const L: usize>(s: &mut [T], at: usize, v: [T; L]) {
    debug_assert!(at + L <= s.len());
    // SAFETY: as in `load`.
    unsafe { s.as_mut_ptr().add(at).cast::<[T; L]>().write_unaligned(v) }
}

/// `s[at]` without a bounds check.
///
/// # Safety
/// `at < s.len()`.
#[inline(always)]
unsafe fn get<T: Float>(s: &[T], at: usize) -> T {
    debug_assert!(at < s.len());
    // SAFETY: the caller keeps `at` inside `s`.
    unsafe { *s.get_unchecked(at) }
}

/// `c += a · b` with row-major `a` `[m, k]` (the weight), `b` `[k, n]` (the window matrix)
/// and `c` `[m, n]`, `k` small. Register-blocked: a tile of output channels times a few
/// vectors of positions stays in registers while the `k` taps are added (each window vector
/// loaded once per tile, each weight broadcast), then is stored once. Each element of `c` gets
/// its `k` products added in tap order.
pub(super) fn axpy_rows<T: Float>(a: &[T], b: &[T], c: &mut [T], dims: (usize, usize, usize)) {
    axpy_rows_on(isa(), a, b, c, dims)
}

/// [`axpy_rows`] with the build for `isa` (which the CPU must run).
pub(super) fn axpy_rows_on<T: Float>(
    isa: Isa,
    a: &[T],
    b: &[T],
    c: &mut [T],
    dims: (usize, usize, usize),
) {
    let f32s = std::mem::size_of::<T>() == 4;
    match isa {
        // SAFETY (both): `isa()` found these features on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { axpy_rows_avx512(a, b, c, dims) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { axpy_rows_avx2(a, b, c, dims) },
        Isa::Portable if f32s => axpy_rows_body::<T, false, 4, 4, 2>(a, b, c, dims),
        Isa::Portable => axpy_rows_body::<T, false, 2, 4, 2>(a, b, c, dims),
    }
}

/// [`axpy_rows`] compiled for AVX2 and FMA: tiles of 4 channels x 2 vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_rows_avx2<T: Float>(a: &[T], b: &[T], c: &mut [T], dims: (usize, usize, usize)) {
    if std::mem::size_of::<T>() == 4 {
        axpy_rows_body::<T, true, 8, 4, 2>(a, b, c, dims)
    } else {
        axpy_rows_body::<T, true, 4, 4, 2>(a, b, c, dims)
    }
}

/// [`axpy_rows`] compiled for AVX-512: tiles of 4 channels x 4 vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn axpy_rows_avx512<T: Float>(a: &[T], b: &[T], c: &mut [T], dims: (usize, usize, usize)) {
    if std::mem::size_of::<T>() == 4 {
        axpy_rows_body::<T, true, 16, 4, 4>(a, b, c, dims)
    } else {
        axpy_rows_body::<T, true, 8, 4, 4>(a, b, c, dims)
    }
}

/// The body of [`axpy_rows`] with vectors of `L` elements and tiles of `MR` channels x `NV`
/// vectors; the last channels run as tiles of one, the last vectors as tiles of one vector,
/// and the last positions (fewer than `L`) as one vector padded with zeros.
#[inline(always)]
fn axpy_rows_body<T: Float, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    (m, k, n): (usize, usize, usize),
) {
    let (a, b, c) = (&a[..m * k], &b[..k * n], &mut c[..m * n]);
    let tiles = n / (L * NV) * (L * NV);
    let vecs = n / L * L;
    let mut i = 0;
    while i + MR <= m {
        axpy_tile::<T, FMA, L, MR, NV>(a, b, c, i, (m, k, n), 0..tiles);
        axpy_tile::<T, FMA, L, MR, 1>(a, b, c, i, (m, k, n), tiles..vecs);
        i += MR;
    }
    for i in i..m {
        axpy_tile::<T, FMA, L, 1, NV>(a, b, c, i, (m, k, n), 0..tiles);
        axpy_tile::<T, FMA, L, 1, 1>(a, b, c, i, (m, k, n), tiles..vecs);
    }
    if vecs < n {
        let mut i = 0;
        while i + MR <= m {
            axpy_tail::<T, FMA, L, MR>(a, b, c, i, (m, k, n));
            i += MR;
        }
        for i in i..m {
            axpy_tail::<T, FMA, L, 1>(a, b, c, i, (m, k, n));
        }
    }
}

/// The last `n % L` positions of rows `i..i + MR` of `c` as one vector padded with zeros.
#[inline(always)]
fn axpy_tail<T: Float, const FMA: bool, const L: usize, const MR: usize>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    i: usize,
    (_, k, n): (usize, usize, usize),
) {
    let j = n / L * L;
    let mut acc: [[T; L]; MR] = std::array::from_fn(|r| padded(&c[(i + r) * n..][..n], j));
    for p in 0..k {
        let bv: [T; L] = padded(&b[p * n..][..n], j);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let w = a[(i + r) * k + p];
            for (s, &x) in acc_r.iter_mut().zip(&bv) {
                *s = fmadd::<T, FMA>(w, x, *s);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        c[(i + r) * n + j..(i + r + 1) * n].copy_from_slice(&acc_r[..n - j]);
    }
}

/// `row[from..]` (fewer than `L` elements) followed by zeros.
#[inline(always)]
fn padded<T: Float, const L: usize>(row: &[T], from: usize) -> [T; L] {
    let mut v = [T::zero(); L];
    let tail = &row[from..];
    v[..tail.len()].copy_from_slice(tail);
    v
}

/// Rows `i..i + MR` of `c` at positions `cols` (a multiple of `NV·L` long), `NV·L` at a time.
/// `a`, `b` and `c` are exactly `[m, k]`, `[k, n]` and `[m, n]` with `i + MR <= m` and
/// `cols.end <= n`.
#[inline(always)]
fn axpy_tile<T: Float, const FMA: bool, const L: usize, const MR: usize, const NV: usize>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    i: usize,
    (m, k, n): (usize, usize, usize),
    cols: std::ops::Range<usize>,
) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    assert!(i + MR <= m && cols.end <= n);
    let mut j = cols.start;
    while j + NV * L <= cols.end {
        // SAFETY (every access below): rows `i + r < m`, taps `p < k`, positions
        // `j + v·L + L <= cols.end <= n`, inside the exact sizes checked above.
        let mut acc: [[[T; L]; NV]; MR] = std::array::from_fn(|r| {
            std::array::from_fn(|v| unsafe { load(c, (i + r) * n + j + v * L) })
        });
        for p in 0..k {
            let bv: [[T; L]; NV] = std::array::from_fn(|v| unsafe { load(b, p * n + j + v * L) });
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let w = unsafe { get(a, (i + r) * k + p) };
                for (acc_v, bv_v) in acc_r.iter_mut().zip(&bv) {
                    for (s, &x) in acc_v.iter_mut().zip(bv_v) {
                        *s = fmadd::<T, FMA>(w, x, *s);
                    }
                }
            }
        }
        for (r, acc_r) in acc.into_iter().enumerate() {
            for (v, acc_v) in acc_r.into_iter().enumerate() {
                unsafe { store(c, (i + r) * n + j + v * L, acc_v) };
            }
        }
        j += NV * L;
    }
}

/// `Σ x·y` with sixteen running sums, so the multiply-adds vectorise.
#[inline(always)]
pub(super) fn lane_dot<T: Float>(xs: &[T], ys: &[T]) -> T {
    let mut acc = [T::zero(); 16];
    let (mut cx, mut cy) = (xs.chunks_exact(16), ys.chunks_exact(16));
    for (a, b) in (&mut cx).zip(&mut cy) {
        for ((s, &x), &y) in acc.iter_mut().zip(a).zip(b) {
            *s += x * y;
        }
    }
    let tail = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .fold(T::zero(), |s, (&x, &y)| s + x * y);
    acc.iter().fold(tail, |s, &v| s + v)
}

/// `c += a · bᵀ` with row-major `a` `[m, n]` (the output's gradient), `b` `[k, n]` (the window
/// matrix) and `c` `[m, k]`, `k` small. Register-blocked: a tile of channels times taps keeps
/// one vector of running sums per element of `c` while the positions stream by (each vector
/// of `a` and `b` loaded once per tile; the last positions, fewer than a vector, as one vector
/// padded with zeros); the lanes are then added pairwise.
pub(super) fn dot_rows<T: Float>(a: &[T], b: &[T], c: &mut [T], dims: (usize, usize, usize)) {
    dot_rows_on(isa(), a, b, c, dims)
}

/// [`dot_rows`] with the build for `isa` (which the CPU must run).
pub(super) fn dot_rows_on<T: Float>(
    isa: Isa,
    a: &[T],
    b: &[T],
    c: &mut [T],
    dims: (usize, usize, usize),
) {
    let f32s = std::mem::size_of::<T>() == 4;
    match isa {
        // SAFETY (both): `isa()` found these features on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { dot_rows_avx512(a, b, c, dims) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { dot_rows_avx2(a, b, c, dims) },
        Isa::Portable if f32s => dot_rows_body::<T, false, 4, 2>(a, b, c, dims),
        Isa::Portable => dot_rows_body::<T, false, 2, 2>(a, b, c, dims),
    }
}

/// [`dot_rows`] compiled for AVX2 and FMA: tiles of 3 channels x 3 taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_rows_avx2<T: Float>(a: &[T], b: &[T], c: &mut [T], dims: (usize, usize, usize)) {
    if std::mem::size_of::<T>() == 4 {
        dot_rows_body::<T, true, 8, 3>(a, b, c, dims)
    } else {
        dot_rows_body::<T, true, 4, 3>(a, b, c, dims)
    }
}

/// [`dot_rows`] compiled for AVX-512: tiles of 4 channels x 3 taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot_rows_avx512<T: Float>(a: &[T], b: &[T], c: &mut [T], dims: (usize, usize, usize)) {
    if std::mem::size_of::<T>() == 4 {
        dot_rows_body::<T, true, 16, 4>(a, b, c, dims)
    } else {
        dot_rows_body::<T, true, 8, 4>(a, b, c, dims)
    }
}

/// The body of [`dot_rows`] with vectors of `L` elements and tiles of `MR` channels x 3 taps
/// (a 3x3 kernel's 9 taps per input channel split evenly), taps outer (three rows of `b` stay
/// in the L1 cache while the channels stream by); the last taps run as a tile of one or two,
/// the last channels as tiles of one.
#[inline(always)]
fn dot_rows_body<T: Float, const FMA: bool, const L: usize, const MR: usize>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    (m, k, n): (usize, usize, usize),
) {
    let (a, b, c) = (&a[..m * n], &b[..k * n], &mut c[..m * k]);
    let mut p = 0;
    while p + 3 <= k {
        dot_channels::<T, FMA, L, MR, 3>(a, b, c, p, (m, k, n));
        p += 3;
    }
    match k - p {
        2 => dot_channels::<T, FMA, L, MR, 2>(a, b, c, p, (m, k, n)),
        1 => dot_channels::<T, FMA, L, MR, 1>(a, b, c, p, (m, k, n)),
        _ => {}
    }
}

/// Taps `p..p + KP` of every row of `c`, `MR` rows at a time.
#[inline(always)]
fn dot_channels<T: Float, const FMA: bool, const L: usize, const MR: usize, const KP: usize>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    p: usize,
    (m, k, n): (usize, usize, usize),
) {
    let mut i = 0;
    while i + MR <= m {
        dot_tile::<T, FMA, L, MR, KP>(a, b, c, (i, p), (m, k, n));
        i += MR;
    }
    for i in i..m {
        dot_tile::<T, FMA, L, 1, KP>(a, b, c, (i, p), (m, k, n));
    }
}

/// `c[i + r, p + q] += Σ_j a[i + r, j] · b[p + q, j]` for `r < MR`, `q < KP`.
#[inline(always)]
fn dot_tile<T: Float, const FMA: bool, const L: usize, const MR: usize, const KP: usize>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    (i, p): (usize, usize),
    (m, k, n): (usize, usize, usize),
) {
    assert!(a.len() == m * n && b.len() == k * n && c.len() == m * k);
    assert!(i + MR <= m && p + KP <= k);
    let vecs = n / L * L;
    let mut acc = [[[T::zero(); L]; KP]; MR];
    let mut j = 0;
    while j < vecs {
        // SAFETY: rows `i + r < m`, taps `p + q < k`, positions `j + L <= n`, inside the exact
        // sizes checked above.
        let av: [[T; L]; MR] = std::array::from_fn(|r| unsafe { load(a, (i + r) * n + j) });
        for q in 0..KP {
            let bv: [T; L] = unsafe { load(b, (p + q) * n + j) };
            for (acc_r, av_r) in acc.iter_mut().zip(&av) {
                for ((s, &x), &y) in acc_r[q].iter_mut().zip(av_r).zip(&bv) {
                    *s = fmadd::<T, FMA>(x, y, *s);
                }
            }
        }
        j += L;
    }
    if vecs < n {
        // The last positions as one vector padded with zeros.
        let av: [[T; L]; MR] = std::array::from_fn(|r| padded(&a[(i + r) * n..][..n], vecs));
        for q in 0..KP {
            let bv: [T; L] = padded(&b[(p + q) * n..][..n], vecs);
            for (acc_r, av_r) in acc.iter_mut().zip(&av) {
                for ((s, &x), &y) in acc_r[q].iter_mut().zip(av_r).zip(&bv) {
                    *s = fmadd::<T, FMA>(x, y, *s);
                }
            }
        }
    }
    let sums = acc.map(|acc_r| acc_r.map(lane_sum));
    for (r, sums_r) in sums.iter().enumerate() {
        for (q, &sum) in sums_r.iter().enumerate() {
            c[(i + r) * k + p + q] += sum;
        }
    }
}

/// The sum of `L` lanes (a power of two), added pairwise: half onto half until one is left.
#[inline(always)]
fn lane_sum<T: Float, const L: usize>(mut v: [T; L]) -> T {
    let mut w = L;
    while w > 1 {
        w /= 2;
        for e in 0..w {
            v[e] += v[e + w];
        }
    }
    v[0]
}
