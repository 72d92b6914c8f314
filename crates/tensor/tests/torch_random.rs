//! The generator against PyTorch's CPU generator, bit for bit: `uniform_`, `normal_` (both
//! of its paths, below and from 16 elements), `rand`, `randn`, `randperm`, the `int64`
//! `random_()` that seeds `RandomSampler`, and `bernoulli_`. Expected values come from
//! `tests/fixtures/make_random.py` (torch 2.x on x86-64).

use antorcha_tensor::{manual_seed, Generator, Tensor};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/random_torch.json")).expect("valid JSON")
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("integer"))
        .collect()
}

/// The bit patterns a call draws, as the fixture stores them.
fn draw(g: &mut Generator, call: &Value) -> Vec<u64> {
    let n = call["n"].as_u64().unwrap() as usize;
    let dtype = call["dtype"].as_str().unwrap_or("");
    let f = |k: &str| call[k].as_f64().unwrap();
    let f32s = |v: Vec<f32>| v.into_iter().map(|x| u64::from(x.to_bits())).collect();
    let f64s = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect();
    match (call["op"].as_str().unwrap(), dtype) {
        ("uniform", "f32") => f32s(g.uniform_fill(n, f("low"), f("high"))),
        ("uniform", _) => f64s(g.uniform_fill(n, f("low"), f("high"))),
        ("normal", "f32") => f32s(g.normal_fill(n, f("mean"), f("std"))),
        ("normal", _) => f64s(g.normal_fill(n, f("mean"), f("std"))),
        ("rand", "f32") => f32s(Tensor::<f32>::rand_from(&[n], g).to_vec()),
        ("rand", _) => f64s(Tensor::<f64>::rand_from(&[n], g).to_vec()),
        ("randn", "f32") => f32s(Tensor::<f32>::randn_from(&[n], g).to_vec()),
        ("randn", _) => f64s(Tensor::<f64>::randn_from(&[n], g).to_vec()),
        ("randperm", _) => g.randperm(n).into_iter().map(|i| i as u64).collect(),
        ("random_i64", _) => vec![g.random_i64() as u64],
        ("bernoulli", _) => (0..n).map(|_| u64::from(g.bernoulli(f("p")))).collect(),
        (op, _) => panic!("unknown op {op}"),
    }
}

#[test]
fn every_draw_equals_pytorch_bit_for_bit() {
    let fx = fixture();
    for case in fx["cases"].as_array().unwrap() {
        let seed = case["seed"].as_u64().unwrap();
        let mut g = Generator::new(seed);
        for call in case["calls"].as_array().unwrap() {
            let want = if call["bits"].is_null() {
                u64s(&call["ints"])
            } else {
                u64s(&call["bits"])
            };
            let got = draw(&mut g, call);
            let first_bad = got.iter().zip(&want).position(|(a, b)| a != b);
            assert!(
                got.len() == want.len() && first_bad.is_none(),
                "seed {seed}, {call_op} {dtype} n={n}: first difference at {first_bad:?} of {len}",
                call_op = call["op"],
                dtype = call["dtype"],
                n = call["n"],
                len = want.len(),
            );
        }
    }
}

#[test]
fn the_global_generator_follows_manual_seed_like_torch() {
    // The first case's first calls through the global generator and the tensor constructors.
    let fx = fixture();
    let case = &fx["cases"][0];
    manual_seed(case["seed"].as_u64().unwrap());
    let calls = case["calls"].as_array().unwrap();
    let (u32c, u64c) = (&calls[0], &calls[1]);
    let a = Tensor::<f32>::uniform(&[100], -0.3, 0.45).to_vec();
    let b = Tensor::<f64>::uniform(&[100], -0.3, 0.45).to_vec();
    let a: Vec<u64> = a.into_iter().map(|x| u64::from(x.to_bits())).collect();
    let b: Vec<u64> = b.into_iter().map(f64::to_bits).collect();
    assert_eq!(a, u64s(&u32c["bits"]));
    assert_eq!(b, u64s(&u64c["bits"]));
}
