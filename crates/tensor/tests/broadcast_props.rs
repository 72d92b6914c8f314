//! Property tests (f64) for broadcasting and the structural ops: NumPy's broadcast shape,
//! broadcasting versus explicit `broadcast_to`, `cat`/`narrow`, `permute` round trips, and the
//! adjoint pairs `index_select`/`index_add` and `gather`/`scatter_add` that autograd relies on.

use antorcha_tensor::{broadcast_shapes, Tensor};
use proptest::prelude::*;

/// NumPy's broadcast shape, written independently of the crate: align at the right, a 1
/// stretches to the other size.
fn numpy_broadcast(a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        let pad = n - s.len();
        if i < pad {
            1
        } else {
            s[i - pad]
        }
    };
    (0..n)
        .map(|i| {
            let (x, y) = (at(a, i), at(b, i));
            assert!(x == y || x == 1 || y == 1, "test generated {a:?} vs {b:?}");
            if x == 1 {
                y
            } else {
                x
            }
        })
        .collect()
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 1usize..4, 1 => Just(0usize)]
}

fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-10.0f64..10.0, n)
}

/// Small integers as floats, so that sums of products are exact in any order.
fn ints(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((-5i32..=5).prop_map(f64::from), n)
}

/// `shape` with its first `drop` dims removed and the dims marked in `ones` set to 1.
fn derive(shape: &[usize], drop: usize, ones: &[bool]) -> Vec<usize> {
    (drop..shape.len())
        .map(|i| if ones[i] { 1 } else { shape[i] })
        .collect()
}

/// Two shapes that broadcast together: a result shape with leading dims dropped and some
/// dims set to 1 on each side, plus data for both.
fn broadcast_pair() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    prop::collection::vec(size(), 0..=4)
        .prop_flat_map(|r| {
            let n = r.len();
            (
                Just(r),
                0..=n,
                0..=n,
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(any::<bool>(), n),
            )
        })
        .prop_flat_map(|(r, da, db, oa, ob)| {
            let (sa, sb) = (derive(&r, da, &oa), derive(&r, db, &ob));
            let (na, nb) = (sa.iter().product(), sb.iter().product());
            (Just(sa), Just(sb), values(na), values(nb))
        })
        .prop_map(|(sa, sb, va, vb)| (Tensor::from_vec(va, &sa), Tensor::from_vec(vb, &sb)))
}

/// A tensor of 1..=3 dims (sizes 1..4) with integer values, and one of its dims.
fn tensor_and_dim() -> impl Strategy<Value = (Tensor<f64>, usize)> {
    prop::collection::vec(1usize..4, 1..=3)
        .prop_flat_map(|s| {
            let n = s.iter().product();
            let nd = s.len();
            (Just(s), ints(n), 0..nd)
        })
        .prop_map(|(s, v, d)| (Tensor::from_vec(v, &s), d))
}

fn sum(t: &Tensor<f64>) -> f64 {
    t.to_vec().iter().sum()
}

proptest! {
    #[test]
    fn binary_ops_broadcast_like_numpy((a, b) in broadcast_pair()) {
        let expected = numpy_broadcast(a.shape(), b.shape());
        prop_assert_eq!(broadcast_shapes("add", a.shape(), b.shape()).unwrap(), expected.clone());
        let (ea, eb) = (a.broadcast_to(&expected), b.broadcast_to(&expected));
        prop_assert_eq!(ea.shape(), &expected[..]);
        for (got, explicit) in [
            (a.add(&b), ea.add(&eb)),
            (a.mul(&b), ea.mul(&eb)),
            (a.maximum(&b), ea.maximum(&eb)),
            (b.add(&a), eb.add(&ea)),
        ] {
            prop_assert_eq!(got.shape(), &expected[..]);
            prop_assert_eq!(got, explicit);
        }
    }

    #[test]
    fn comparisons_broadcast_like_arithmetic((a, b) in broadcast_pair()) {
        let gt = a.gt(&b);
        let diff = a.sub(&b);
        prop_assert_eq!(gt.shape(), diff.shape());
        prop_assert_eq!(gt, diff.gt_scalar(0.0));
    }

    #[test]
    fn cat_then_narrow_recovers_the_parts(
        (base, d, sizes, negative) in prop::collection::vec(1usize..4, 1..=3).prop_flat_map(|s| {
            let nd = s.len();
            (Just(s), 0..nd, prop::collection::vec(0usize..4, 1..4), any::<bool>())
        }),
        seed in 0u64..1000,
    ) {
        let parts: Vec<Tensor<f64>> = sizes
            .iter()
            .enumerate()
            .map(|(k, &len)| {
                let mut shape = base.clone();
                shape[d] = len;
                let n: usize = shape.iter().product();
                let data = (0..n).map(|i| (seed + 100 * k as u64 + i as u64) as f64).collect();
                Tensor::from_vec(data, &shape)
            })
            .collect();
        let refs: Vec<&Tensor<f64>> = parts.iter().collect();
        let dim = if negative { d as isize - base.len() as isize } else { d as isize };
        let joined = Tensor::cat(&refs, dim);
        prop_assert_eq!(joined.shape()[d], sizes.iter().sum::<usize>());
        let mut start = 0;
        for p in &parts {
            let len = p.shape()[d];
            prop_assert_eq!(&joined.narrow(dim, start as isize, len), p);
            start += len;
        }
    }

    #[test]
    fn permute_then_inverse_is_identity(
        (shape, perm) in prop::collection::vec(1usize..4, 0..=4).prop_flat_map(|s| {
            let n = s.len();
            (Just(s), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let n: usize = shape.iter().product();
        let x = Tensor::from_vec((0..n).map(|i| i as f64).collect(), &shape);
        let dims: Vec<isize> = perm.iter().map(|&p| p as isize).collect();
        let y = x.permute(&dims);
        let permuted: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        prop_assert_eq!(y.shape(), &permuted[..]);
        let mut inverse = vec![0isize; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i as isize;
        }
        let back = y.permute(&inverse);
        prop_assert_eq!(&back, &x);
        prop_assert_eq!(back.contiguous().to_vec(), x.to_vec());
        // Reshape of the strided permutation equals reshape of its contiguous copy.
        prop_assert_eq!(y.reshape(&[-1]), y.contiguous().reshape(&[-1]));
    }

    #[test]
    fn index_add_is_the_adjoint_of_index_select(
        ((x, d), idx_raw, g_seed) in (tensor_and_dim(), prop::collection::vec(0usize..100, 0..6), ints(64)),
    ) {
        let size = x.shape()[d];
        let idx: Vec<usize> = idx_raw.iter().map(|i| i % size).collect();
        let y = x.index_select(d as isize, &idx);
        let g = Tensor::from_vec(g_seed.iter().cycle().take(y.numel()).copied().collect(), y.shape());
        let lhs = sum(&y.mul(&g));
        let back = Tensor::<f64>::zeros(x.shape()).index_add(d as isize, &idx, &g);
        prop_assert_eq!(back.shape(), x.shape());
        let rhs = sum(&x.mul(&back));
        prop_assert_eq!(lhs, rhs);
    }

    #[test]
    fn scatter_add_is_the_adjoint_of_gather(
        (x, d, index) in tensor_and_dim().prop_flat_map(|(x, d)| {
            let shape = x.shape().to_vec();
            let dims: Vec<BoxedStrategy<usize>> = shape
                .iter()
                .enumerate()
                .map(|(k, &s)| if k == d { (0usize..4).boxed() } else { (1..=s).boxed() })
                .collect();
            (Just(x), Just(d), dims).prop_flat_map(move |(x, d, ishape)| {
                let n: usize = ishape.iter().product();
                let size = x.shape()[d] as i64;
                let ishape2 = ishape.clone();
                (
                    Just(x),
                    Just(d),
                    prop::collection::vec(0..size, n)
                        .prop_map(move |v| Tensor::from_vec(v, &ishape2)),
                )
            })
        }),
        g_seed in ints(64),
    ) {
        let y = x.gather(d as isize, &index);
        prop_assert_eq!(y.shape(), index.shape());
        let g = Tensor::from_vec(g_seed.iter().cycle().take(y.numel()).copied().collect(), y.shape());
        let lhs = sum(&y.mul(&g));
        let back = Tensor::<f64>::zeros(x.shape()).scatter_add(d as isize, &index, &g);
        let rhs = sum(&x.mul(&back));
        prop_assert_eq!(lhs, rhs);
    }

    #[test]
    fn slice_scatter_is_the_adjoint_of_slice(
        ((x, d), start, end, step, g_seed) in (tensor_and_dim(), -4isize..5, -4isize..5, 1usize..4, ints(64)),
    ) {
        let y = x.slice(d as isize, start, end, step);
        let g = Tensor::from_vec(g_seed.iter().cycle().take(y.numel()).copied().collect(), y.shape());
        let back = Tensor::<f64>::zeros(x.shape()).slice_scatter(&g, d as isize, start, end, step);
        prop_assert_eq!(sum(&y.mul(&g)), sum(&x.mul(&back)));
        // Scattering the slice back into the tensor itself changes nothing.
        prop_assert_eq!(x.slice_scatter(&y, d as isize, start, end, step), x);
    }
}
