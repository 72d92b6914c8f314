//! Property tests: random chains of view ops on random shapes give the same elements as the
//! same ops done on owned ndarray arrays (the oracle), share their input's storage (reshape may copy, as PyTorch's), and every
//! kind of kernel (elementwise, broadcast, reduction, matmul, softmax) reads the strided
//! result as it reads a contiguous copy.

use antorcha_tensor::ndarray::{ArrayD, Axis, IxDyn, Slice};
use antorcha_tensor::Tensor;
use proptest::prelude::*;

/// One view op, with arguments already valid for the shape it is applied to.
#[derive(Debug, Clone)]
enum View {
    Transpose(usize, usize),
    Permute(Vec<usize>),
    Unsqueeze(usize),
    SqueezeDim(usize),
    Expand(usize, usize),
    Narrow(usize, usize, usize),
    Slice(usize, usize, usize),
    Select(usize, usize),
    Reshape(Vec<usize>),
}

/// Picks a view op valid for `shape` from the random numbers `r`.
fn pick(shape: &[usize], r: &[usize]) -> View {
    let n = shape.len();
    match r[0] % 9 {
        0 if n >= 2 => View::Transpose(r[1] % n, r[2] % n),
        1 if n >= 1 => {
            let mut dims: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                dims.swap(i, r[3 + i % 4] % (i + 1));
            }
            View::Permute(dims)
        }
        2 if n < 5 => View::Unsqueeze(r[1] % (n + 1)),
        3 if shape.contains(&1) => View::SqueezeDim(shape.iter().position(|&s| s == 1).unwrap()),
        4 if shape.contains(&1) && n < 5 => {
            View::Expand(shape.iter().position(|&s| s == 1).unwrap(), 1 + r[2] % 3)
        }
        5 if n >= 1 && shape[r[1] % n] > 0 => {
            let d = r[1] % n;
            let start = r[2] % shape[d];
            View::Narrow(d, start, r[3] % (shape[d] - start + 1))
        }
        6 if n >= 1 && shape[r[1] % n] > 0 => {
            let d = r[1] % n;
            View::Slice(d, r[2] % shape[d], 1 + r[3] % 3)
        }
        7 if n >= 2 && shape[r[1] % n] > 0 => {
            let d = r[1] % n;
            View::Select(d, r[2] % shape[d])
        }
        _ => {
            // Split the elements into up to three dims (any order of the same count).
            let numel: usize = shape.iter().product();
            let first = (1..=numel.max(1))
                .filter(|k| numel.is_multiple_of(*k))
                .nth(r[4] % 3)
                .unwrap_or(1);
            if numel == 0 {
                View::Reshape(vec![0])
            } else {
                View::Reshape(vec![first, numel / first])
            }
        }
    }
}

fn apply(t: &Tensor<f64>, v: &View) -> Tensor<f64> {
    match v {
        View::Transpose(a, b) => t.transpose(*a as isize, *b as isize),
        View::Permute(d) => t.permute(&d.iter().map(|&d| d as isize).collect::<Vec<_>>()),
        View::Unsqueeze(d) => t.unsqueeze(*d as isize),
        View::SqueezeDim(d) => t.squeeze_dim(*d as isize),
        View::Expand(d, k) => {
            let mut sizes: Vec<isize> = vec![-1; t.ndim()];
            sizes[*d] = *k as isize;
            t.expand(&sizes)
        }
        View::Narrow(d, s, l) => t.narrow(*d as isize, *s as isize, *l),
        View::Slice(d, s, step) => t.slice(*d as isize, *s as isize, t.shape()[*d] as isize, *step),
        View::Select(d, i) => t.select(*d as isize, *i as isize),
        View::Reshape(s) => t.reshape(&s.iter().map(|&d| d as isize).collect::<Vec<_>>()),
    }
}

/// The same op on an owned, standard-layout array.
fn oracle(a: &ArrayD<f64>, v: &View) -> ArrayD<f64> {
    let out = match v {
        View::Transpose(x, y) => {
            let mut b = a.view();
            b.swap_axes(*x, *y);
            b.to_owned()
        }
        View::Permute(d) => a.view().permuted_axes(IxDyn(d)).to_owned(),
        View::Unsqueeze(d) => a.view().insert_axis(Axis(*d)).to_owned(),
        View::SqueezeDim(d) => a.index_axis(Axis(*d), 0).to_owned(),
        View::Expand(d, k) => {
            let mut shape = a.shape().to_vec();
            shape[*d] = *k;
            a.broadcast(IxDyn(&shape)).unwrap().to_owned()
        }
        View::Narrow(d, s, l) => a.slice_axis(Axis(*d), Slice::from(*s..s + l)).to_owned(),
        View::Slice(d, s, step) => a
            .slice_axis(Axis(*d), Slice::from(*s..).step_by(*step as isize))
            .to_owned(),
        View::Select(d, i) => a.index_axis(Axis(*d), *i).to_owned(),
        View::Reshape(s) => {
            let flat: Vec<f64> = a.iter().copied().collect();
            ArrayD::from_shape_vec(IxDyn(s), flat).unwrap()
        }
    };
    out.as_standard_layout().into_owned()
}

fn values(shape: &[usize]) -> Vec<f64> {
    let n: usize = shape.iter().product();
    (0..n).map(|i| (i as f64 * 0.37).sin() * 3.0).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn view_chains_match_the_oracle_and_share_storage(
        shape in prop::collection::vec(0usize..5, 1..4),
        steps in prop::collection::vec(prop::collection::vec(0usize..1000, 8), 1..6),
    ) {
        let x = Tensor::from_vec(values(&shape), &shape);
        let mut t = x.clone();
        let mut a = x.view().to_owned();
        for r in &steps {
            let v = pick(t.shape(), r);
            let reshape = matches!(v, View::Reshape(_));
            let input = t;
            t = apply(&input, &v);
            a = oracle(&a, &v);
            prop_assert_eq!(t.shape(), a.shape(), "after {:?}", v);
            prop_assert_eq!(t.to_vec(), a.iter().copied().collect::<Vec<_>>(), "after {:?}", v);
            if !reshape && t.numel() > 0 {
                prop_assert!(t.ptr_eq(&input), "{:?} copied", v);
            }
        }
        // Every kernel reads the strided result as it reads a contiguous copy.
        let c = t.contiguous();
        prop_assert!(c.is_contiguous());
        prop_assert_eq!((&t * 2.0 + 1.0).to_vec(), (&c * 2.0 + 1.0).to_vec());
        prop_assert_eq!((&t + &c).to_vec(), (&c + &c).to_vec());
        prop_assert_eq!(t.exp().to_vec(), c.exp().to_vec());
        // Sums may run in another order over another layout: equal to rounding.
        let close = |a: Vec<f64>, b: Vec<f64>| {
            a.len() == b.len()
                && a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs()))
        };
        if t.ndim() >= 1 {
            let last = t.ndim() as isize - 1;
            prop_assert!(close(t.sum_dim(0, false).to_vec(), c.sum_dim(0, false).to_vec()));
            prop_assert!(close(t.softmax(last).to_vec(), c.softmax(last).to_vec()));
        }
        if t.ndim() == 2 {
            let m = t.t();
            prop_assert!(close(t.matmul(&m).to_vec(), c.matmul(&c.t().contiguous()).to_vec()));
        }
    }
}
