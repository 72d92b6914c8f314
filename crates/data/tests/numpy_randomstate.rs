//! numpy's legacy RandomState reproduced bit for bit: every array of
//! `tests/fixtures/numpy_randomstate.json` (made with numpy 2.4).

use antorcha_data::RandomState;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    sizes: Sizes,
    seeds: Vec<SeedCase>,
    seed_notebook: Notebook,
}

#[derive(Deserialize)]
struct Sizes {
    rand: usize,
    randn: usize,
    permutation: usize,
    shuffle_arange: usize,
}

#[derive(Deserialize)]
struct SeedCase {
    seed: u32,
    mt19937_raw_uint32_first8: Vec<u32>,
    rand: Vec<f64>,
    randn: Vec<f64>,
    permutation: Vec<i64>,
    shuffle_arange: Vec<i64>,
    shuffle_arange_after_permutation_same_state: Vec<i64>,
    rand_then_randn_same_state: RandThenRandn,
}

#[derive(Deserialize)]
struct RandThenRandn {
    rand: Vec<f64>,
    randn: Vec<f64>,
}

#[derive(Deserialize)]
struct FixtureTensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Notebook {
    seed: u32,
    x: FixtureTensor,
    y: FixtureTensor,
    idx: Vec<i64>,
    train_idx: Vec<i64>,
    val_idx: Vec<i64>,
    gd: Gd,
}

#[derive(Deserialize)]
struct Gd {
    lr: f64,
    n_epochs: usize,
    init_a: f64,
    init_b: f64,
    fitted_a: f64,
    fitted_b: f64,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/numpy_randomstate.json"
    ))
    .expect("fixture file");
    serde_json::from_str(&text).expect("fixture parses")
}

fn as_usize(v: &[i64]) -> Vec<usize> {
    v.iter().map(|&i| i as usize).collect()
}

/// Bit-for-bit equality, with the first differing position in the message.
fn assert_bits(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}[{i}]: got {g:e}, numpy {w:e}"
        );
    }
}

#[test]
fn raw_mt19937_outputs() {
    for case in fixture().seeds {
        let mut rs = RandomState::new(case.seed);
        let got: Vec<u32> = (0..8).map(|_| rs.next_u32_raw()).collect();
        assert_eq!(got, case.mt19937_raw_uint32_first8, "seed {}", case.seed);
    }
}

#[test]
fn rand_and_randn_from_fresh_states() {
    let f = fixture();
    for case in &f.seeds {
        let got = RandomState::new(case.seed).rand(&[f.sizes.rand]).to_vec();
        assert_bits(&got, &case.rand, &format!("seed {} rand", case.seed));
        let got = RandomState::new(case.seed).randn(&[f.sizes.randn]).to_vec();
        assert_bits(&got, &case.randn, &format!("seed {} randn", case.seed));
    }
}

#[test]
fn permutation_and_shuffle() {
    let f = fixture();
    for case in &f.seeds {
        let got = RandomState::new(case.seed).permutation(f.sizes.permutation);
        assert_eq!(got, as_usize(&case.permutation), "seed {}", case.seed);

        let mut a: Vec<i64> = (0..f.sizes.shuffle_arange as i64).collect();
        RandomState::new(case.seed).shuffle(&mut a);
        assert_eq!(a, case.shuffle_arange, "seed {}", case.seed);

        let mut rs = RandomState::new(case.seed);
        rs.permutation(f.sizes.permutation);
        let mut a: Vec<i64> = (0..f.sizes.shuffle_arange as i64).collect();
        rs.shuffle(&mut a);
        assert_eq!(a, case.shuffle_arange_after_permutation_same_state);
    }
}

#[test]
fn rand_then_randn_share_the_state() {
    for case in fixture().seeds {
        let mut rs = RandomState::new(case.seed);
        let r = rs.rand(&[3]).to_vec();
        let n = rs.randn(&[3]).to_vec();
        assert_bits(&r, &case.rand_then_randn_same_state.rand, "rand");
        assert_bits(&n, &case.rand_then_randn_same_state.randn, "randn");
    }
}

#[test]
fn notebook_data_and_split() {
    let nb = fixture().seed_notebook;
    let mut rs = RandomState::new(nb.seed);
    let x = rs.rand(&[100, 1]);
    let noise = rs.randn(&[100, 1]);
    // y = 1 + 2 * x + 0.1 * randn, evaluated in numpy's order.
    let y: Vec<f64> = x
        .to_vec()
        .iter()
        .zip(noise.to_vec())
        .map(|(&x, e)| 1.0 + 2.0 * x + 0.1 * e)
        .collect();
    assert_eq!(x.shape(), &nb.x.shape[..]);
    assert_eq!(nb.y.shape, vec![100, 1]);
    assert_bits(&x.to_vec(), &nb.x.data, "x");
    assert_bits(&y, &nb.y.data, "y");

    let mut idx: Vec<usize> = (0..100).collect();
    rs.shuffle(&mut idx);
    assert_eq!(idx, as_usize(&nb.idx));
    assert_eq!(idx[..80], as_usize(&nb.train_idx)[..]);
    assert_eq!(idx[80..], as_usize(&nb.val_idx)[..]);

    // The notebook re-seeds and draws the two starting parameters.
    rs.seed(nb.seed);
    let a0 = rs.randn(&[1]).item();
    let b0 = rs.randn(&[1]).item();
    assert_eq!(a0.to_bits(), nb.gd.init_a.to_bits());
    assert_eq!(b0.to_bits(), nb.gd.init_b.to_bits());

    // And the full-batch gradient descent on those training points lands where numpy's did.
    let xs: Vec<f64> = idx[..80].iter().map(|&i| x.to_vec()[i]).collect();
    let ys: Vec<f64> = idx[..80].iter().map(|&i| y[i]).collect();
    let (mut a, mut b) = (a0, b0);
    for _ in 0..nb.gd.n_epochs {
        let err: Vec<f64> = xs.iter().zip(&ys).map(|(x, y)| y - (a + b * x)).collect();
        let n = err.len() as f64;
        let a_grad = -2.0 * err.iter().sum::<f64>() / n;
        let b_grad = -2.0 * xs.iter().zip(&err).map(|(x, e)| x * e).sum::<f64>() / n;
        a -= nb.gd.lr * a_grad;
        b -= nb.gd.lr * b_grad;
    }
    assert!(
        (a - nb.gd.fitted_a).abs() < 1e-9,
        "a {a} vs {}",
        nb.gd.fitted_a
    );
    assert!(
        (b - nb.gd.fitted_b).abs() < 1e-9,
        "b {b} vs {}",
        nb.gd.fitted_b
    );
}
