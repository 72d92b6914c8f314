//! Property tests (f64): `matmul` against a naive triple loop for every rank combination,
//! `softmax` / `log_softmax` / `logsumexp` against each other, and `sum_to`, `sum_dim`,
//! `sum_dims` and `max_dim` against naive loops.

use antorcha_tensor::ndarray::{ArrayD, IxDyn};
use antorcha_tensor::Tensor;
use proptest::prelude::*;

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of flat row-major position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        idx[i] = flat % shape[i];
        flat /= shape[i];
    }
    idx
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

/// A tensor of `shape` holding `data`, stored either row-major or with its last two dims
/// swapped in memory (a strided, non-contiguous layout), to exercise both code paths.
fn make(data: &[f64], shape: &[usize], swapped: bool) -> Tensor<f64> {
    let n = shape.len();
    if !swapped || n < 2 {
        return Tensor::from_vec(data.to_vec(), shape);
    }
    let mut st = shape.to_vec();
    st.swap(n - 2, n - 1);
    let mut stored = vec![0.0; data.len()];
    for (flat, &v) in data.iter().enumerate() {
        let mut idx = unravel(flat, shape);
        idx.swap(n - 2, n - 1);
        stored[ravel(&idx, &st)] = v;
    }
    let mut arr = ArrayD::from_shape_vec(IxDyn(&st), stored).unwrap();
    arr.swap_axes(n - 2, n - 1);
    let t = Tensor::from_array(arr);
    assert_eq!(t.shape(), shape);
    t
}

/// torch.matmul by definition: promote 1-D operands, broadcast batch dims, triple loop.
fn naive_matmul(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<f64>, Vec<usize>) {
    let pa: Vec<usize> = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.to_vec()
    };
    let pb: Vec<usize> = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.to_vec()
    };
    let (m, k) = (pa[pa.len() - 2], pa[pa.len() - 1]);
    let n = pb[pb.len() - 1];
    let (ba, bb) = (&pa[..pa.len() - 2], &pb[..pb.len() - 2]);
    let nb = ba.len().max(bb.len());
    let get = |s: &[usize], i: usize| {
        if i < nb - s.len() {
            1
        } else {
            s[i - (nb - s.len())]
        }
    };
    let batch: Vec<usize> = (0..nb).map(|i| get(ba, i).max(get(bb, i))).collect();
    let bsz: usize = batch.iter().product();
    let mut out = Vec::with_capacity(bsz * m * n);
    for flat in 0..bsz {
        let bi = unravel(flat, &batch);
        // Index of this batch entry in each operand (size-1 dims stretch).
        let pick = |s: &[usize]| -> usize {
            let idx: Vec<usize> = (0..s.len())
                .map(|j| {
                    let d = bi[nb - s.len() + j];
                    if s[j] == 1 {
                        0
                    } else {
                        d
                    }
                })
                .collect();
            ravel(&idx, s)
        };
        let (oa, ob) = (pick(ba) * m * k, pick(bb) * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0;
                for p in 0..k {
                    acc += a[oa + i * k + p] * b[ob + p * n + j];
                }
                out.push(acc);
            }
        }
    }
    let mut shape = batch;
    if sa.len() >= 2 {
        shape.push(m);
    }
    if sb.len() >= 2 {
        shape.push(n);
    }
    (out, shape)
}

/// Elementwise agreement within `tol` (relative for large values); infinities and NaNs only
/// agree with themselves exactly.
fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(&x, &y)| {
            if x.is_finite() && y.is_finite() {
                (x - y).abs() <= tol * (1.0 + x.abs().max(y.abs()))
            } else {
                x == y
            }
        })
}

/// Shapes for a matmul pair: ranks 1..=4 on each side, inner dims that agree, batch dims that
/// are equal, 1 (stretched) or missing.
fn matmul_case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, bool, bool)> {
    (
        1usize..=4,
        1usize..=4,
        0usize..4,
        0usize..4,
        0usize..4,
        prop::collection::vec((1usize..4, 0u8..3, 0u8..3), 2),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(ra, rb, m, k, n, batch, swap_a, swap_b)| {
            // Batch dim i: full size, or 1 on one side.
            let bdims = |r: usize, pick: fn(&(usize, u8, u8)) -> u8| -> Vec<usize> {
                let nbd = r.saturating_sub(2);
                batch[2 - nbd..]
                    .iter()
                    .map(|c| if pick(c) == 0 { 1 } else { c.0 })
                    .collect()
            };
            let mut sa = bdims(ra, |c| c.1);
            let mut sb = bdims(rb, |c| c.2);
            if ra == 1 {
                sa.push(k);
            } else {
                sa.extend([m, k]);
            }
            if rb == 1 {
                sb.push(k);
            } else {
                sb.extend([k, n]);
            }
            (sa, sb, swap_a, swap_b)
        })
}

fn values(len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-10.0f64..10.0, len)
}

/// A shape of rank 0..=3 with dims in 0..4 (zero-size dims included) and its data.
fn tensor_case(max_rank: usize, min_dim: usize) -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
    prop::collection::vec(min_dim..4usize, 0..=max_rank).prop_flat_map(|shape| {
        let len = shape.iter().product();
        (Just(shape), values(len))
    })
}

proptest! {
    #[test]
    fn matmul_agrees_with_naive_loops(
        ((sa, sb, swap_a, swap_b), seed) in (matmul_case(), any::<u64>())
    ) {
        let la: usize = sa.iter().product();
        let lb: usize = sb.iter().product();
        // Deterministic values from the seed (keeps the strategy simple).
        let gen = |len: usize, salt: u64| -> Vec<f64> {
            (0..len)
                .map(|i| {
                    let h = (seed ^ salt).wrapping_add(i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    ((h >> 11) as f64 / (1u64 << 53) as f64) * 20.0 - 10.0
                })
                .collect()
        };
        let (a, b) = (gen(la, 1), gen(lb, 2));
        let (want, want_shape) = naive_matmul(&a, &sa, &b, &sb);
        let ta = make(&a, &sa, swap_a);
        let tb = make(&b, &sb, swap_b);
        let got = ta.try_matmul(&tb).unwrap();
        prop_assert_eq!(got.shape(), &want_shape[..], "{:?} @ {:?}", sa, sb);
        prop_assert!(close(&got.to_vec(), &want, 1e-12), "{:?} @ {:?}", sa, sb);
    }

    #[test]
    fn matmul_inner_mismatch_is_an_error(m in 1usize..4, k in 1usize..4, extra in 1usize..3) {
        let a = Tensor::<f64>::zeros(&[m, k]);
        let b = Tensor::<f64>::zeros(&[k + extra, 2]);
        let err = a.try_matmul(&b).unwrap_err().to_string();
        let shapes = format!("{:?} and {:?}", [m, k], [k + extra, 2]);
        prop_assert!(err.contains(&shapes), "{}", err);
    }

    #[test]
    fn softmax_rows_sum_to_one_and_match_log_softmax(
        (shape, data) in tensor_case(3, 1),
        dim_seed in any::<usize>(),
        offset in prop_oneof![Just(0.0), Just(1000.0), Just(-1000.0)],
    ) {
        let x = Tensor::from_vec(data.iter().map(|v| v + offset).collect(), &shape);
        let nd = shape.len().max(1) as isize;
        let dim = (dim_seed % (2 * nd as usize)) as isize - nd; // -nd..nd
        let s = x.softmax(dim);
        let ls = x.log_softmax(dim);
        prop_assert_eq!(s.shape(), x.shape());
        let sums = s.sum_dim(dim, false).to_vec();
        prop_assert!(sums.iter().all(|v| (v - 1.0).abs() < 1e-12), "{:?}", sums);
        prop_assert!(close(&ls.exp().to_vec(), &s.to_vec(), 1e-12));
        // log_softmax = x - logsumexp(keepdim); shift invariance of softmax.
        let lse = x.logsumexp(dim, true);
        prop_assert!(close(&x.sub(&lse).to_vec(), &ls.to_vec(), 1e-12));
        let shifted = Tensor::from_vec(data.clone(), &shape).softmax(dim);
        prop_assert!(close(&shifted.to_vec(), &s.to_vec(), 1e-9));
        prop_assert!(s.to_vec().iter().all(|v| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn sum_to_of_a_broadcast_equals_a_naive_sum(
        small in prop::collection::vec(1usize..4, 0..=3),
        stretch in prop::collection::vec((1usize..4, any::<bool>()), 3),
        lead in prop::collection::vec(1usize..4, 0..=2),
        swapped in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // The broadcast shape: extra leading dims, and some size-1 dims of `small` stretched.
        let small: Vec<usize> = small
            .iter()
            .zip(&stretch)
            .map(|(&s, &(_, one))| if one { 1 } else { s })
            .collect();
        let mut big = lead.clone();
        big.extend(small.iter().zip(&stretch).map(|(&s, &(w, _))| if s == 1 { w } else { s }));
        let len: usize = big.iter().product();
        let g: Vec<f64> = (0..len)
            .map(|i| ((seed.wrapping_add(i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f64) / 1e3 - 8.0)
            .collect();
        let mut want = vec![0.0; small.iter().product()];
        for (flat, &v) in g.iter().enumerate() {
            let idx = unravel(flat, &big);
            let tail = &idx[lead.len()..];
            let sidx: Vec<usize> = tail.iter().zip(&small).map(|(&i, &s)| if s == 1 { 0 } else { i }).collect();
            want[ravel(&sidx, &small)] += v;
        }
        let gt = make(&g, &big, swapped);
        let got = gt.try_sum_to(&small).unwrap();
        prop_assert_eq!(got.shape(), &small[..]);
        prop_assert!(close(&got.to_vec(), &want, 1e-12), "{:?} -> {:?}", big, small);
        // And x.broadcast(big).sum_to(small) for an x of shape `small`.
        let x: Vec<f64> = (0..want.len()).map(|i| i as f64 - 1.5).collect();
        let xa = ArrayD::from_shape_vec(IxDyn(&small), x.clone()).unwrap();
        let xb = Tensor::from_array(xa.broadcast(IxDyn(&big)).unwrap().to_owned());
        let reps = (len / want.len().max(1)) as f64;
        let back = xb.sum_to(&small).to_vec();
        let expect: Vec<f64> = x.iter().map(|v| v * reps).collect();
        prop_assert!(close(&back, &expect, 1e-12));
    }

    #[test]
    fn sum_dim_and_max_dim_agree_with_naive_loops(
        (shape, data) in tensor_case(3, 0),
        dim_seed in any::<usize>(),
        keepdim in any::<bool>(),
        swapped in any::<bool>(),
    ) {
        let x = make(&data, &shape, swapped);
        let nd = shape.len().max(1);
        let dim = (dim_seed % (2 * nd)) as isize - nd as isize;
        let axis = if dim < 0 { dim + nd as isize } else { dim } as usize;
        let mut out_shape = shape.clone();
        if !shape.is_empty() {
            out_shape[axis] = 1;
        }
        let out_len: usize = out_shape.iter().product();
        let mut want = vec![0.0; out_len];
        let mut best: Vec<Option<(f64, i64)>> = vec![None; out_len];
        for (flat, &v) in data.iter().enumerate() {
            let mut idx = unravel(flat, &shape);
            let along = if shape.is_empty() { 0 } else { std::mem::replace(&mut idx[axis], 0) };
            let o = ravel(&idx, &out_shape);
            want[o] += v;
            let better = match best[o] {
                None => true,
                Some((b, _)) => v > b,
            };
            if better {
                best[o] = Some((v, along as i64));
            }
        }
        let got = x.sum_dim(dim, keepdim);
        let mut expect_shape = out_shape.clone();
        if !keepdim && !shape.is_empty() {
            expect_shape.remove(axis);
        }
        prop_assert_eq!(got.shape(), &expect_shape[..]);
        prop_assert!(close(&got.to_vec(), &want, 1e-12));
        let mean = x.mean_dim(dim, keepdim).to_vec();
        let n = if shape.is_empty() { 1 } else { shape[axis] } as f64;
        prop_assert!(mean.iter().zip(&want).all(|(m, w)| (m.is_nan() && n == 0.0) || (m - w / n).abs() < 1e-12));
        match x.try_max_dim(dim, keepdim) {
            Ok((v, i)) => {
                prop_assert_eq!(v.shape(), &expect_shape[..]);
                let (wv, wi): (Vec<f64>, Vec<i64>) = best.iter().map(|b| b.unwrap()).unzip();
                prop_assert_eq!(v.to_vec(), wv);
                prop_assert_eq!(i.to_vec(), wi);
            }
            Err(_) => prop_assert!(!shape.is_empty() && shape[axis] == 0),
        }
    }

    #[test]
    fn sum_dims_agrees_with_repeated_sum_dim(
        (shape, data) in tensor_case(3, 0),
        mask in prop::collection::vec(any::<bool>(), 3),
        keepdim in any::<bool>(),
    ) {
        prop_assume!(!shape.is_empty());
        let x = Tensor::from_vec(data, &shape);
        let dims: Vec<isize> = (0..shape.len()).filter(|&d| mask[d]).map(|d| d as isize - shape.len() as isize).collect();
        prop_assume!(!dims.is_empty());
        let got = x.sum_dims(&dims, keepdim);
        // One dim at a time, highest first so the remaining dims keep their positions.
        let mut want = x.clone();
        for &d in dims.iter().rev() {
            want = want.sum_dim(d + shape.len() as isize, true);
        }
        let want_shape: Vec<usize> = if keepdim {
            want.shape().to_vec()
        } else {
            shape.iter().enumerate().filter(|(d, _)| !mask[*d]).map(|(_, &s)| s).collect()
        };
        prop_assert_eq!(got.shape(), &want_shape[..]);
        prop_assert!(close(&got.to_vec(), &want.to_vec(), 1e-12));
    }
}
