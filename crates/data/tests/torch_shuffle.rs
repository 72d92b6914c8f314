//! Shuffling as PyTorch shuffles: `RandomSampler` (with and without replacement, its own
//! generator or the global one), `SubsetRandomSampler`, `WeightedRandomSampler`, `DataLoader(shuffle=True)` alternating
//! with an ordered loader (each epoch's base seed drawn as PyTorch draws it) and `random_split`
//! give PyTorch's indices, and leave the global generator where PyTorch leaves it. Expected
//! values come from `tests/fixtures/make_shuffle.py`. One test: nothing else in this binary
//! touches the global generator.

use antorcha_data::{
    random_split, DataLoader, Lengths, RandomSampler, Sampler, SubsetRandomSampler, TensorDataset,
    WeightedRandomSampler,
};
use antorcha_tensor::{manual_seed, Generator, Tensor};
use serde_json::Value;

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn nested(v: &Value) -> Vec<Vec<usize>> {
    v.as_array().unwrap().iter().map(usizes).collect()
}

/// The global generator's next draws, compared with what PyTorch drew after the same calls.
fn check_after(case: &Value, what: &str) {
    let want: Vec<f64> = case["after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(
        Tensor::<f64>::rand(&[2]).to_vec(),
        want,
        "{what}: stream after"
    );
}

fn samplers(fx: &Value) {
    for case in fx["samplers"].as_array().unwrap() {
        let what = format!("{case}");
        manual_seed(case["seed"].as_u64().unwrap());
        let own = case["generator"].as_u64();
        let mut sampler: Box<dyn Sampler> = if case["kind"] == "weighted" {
            let w: Vec<f64> = case["weights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let k = case["num_samples"].as_u64().unwrap() as usize;
            let s =
                WeightedRandomSampler::new(w, k, case["replacement"].as_bool().unwrap()).unwrap();
            Box::new(match own {
                Some(seed) => s.with_seed(seed),
                None => s,
            })
        } else if case["kind"] == "subset" {
            let s = SubsetRandomSampler::new(usizes(&case["indices"]));
            Box::new(match own {
                Some(seed) => s.with_seed(seed),
                None => s,
            })
        } else {
            let n = case["n"].as_u64().unwrap() as usize;
            let k = case["num_samples"].as_u64().map(|k| k as usize);
            let replacement = case["replacement"].as_bool().unwrap();
            let s = RandomSampler::try_new(n, replacement, k).unwrap();
            Box::new(match own {
                Some(seed) => s.with_generator(Generator::new(seed)),
                None => s,
            })
        };
        let epochs = vec![sampler.indices(), sampler.indices()];
        assert_eq!(epochs, nested(&case["epochs"]), "{what}");
        check_after(case, &what);
    }
}

fn loaders(fx: &Value) {
    for case in fx["loaders"].as_array().unwrap() {
        let what = format!(
            "loader seed {} generator {}",
            case["seed"], case["generator"]
        );
        manual_seed(case["seed"].as_u64().unwrap());
        let n = case["n"].as_u64().unwrap() as usize;
        let data = Tensor::from_vec((0..n as i64).collect(), &[n]);
        let mut train = DataLoader::builder(TensorDataset::new(data).unwrap())
            .batch_size(case["batch_size"].as_u64().unwrap() as usize)
            .shuffle(true);
        if let Some(seed) = case["generator"].as_u64() {
            train = train.seed(seed);
        }
        let train = train.build().unwrap();
        let test = DataLoader::new(
            TensorDataset::new(Tensor::from_vec((0..5i64).collect(), &[5])).unwrap(),
            2,
            false,
        )
        .unwrap();
        let mut epochs = Vec::new();
        for _ in 0..2 {
            let batches: Vec<Vec<usize>> = train
                .iter()
                .map(|b| b.unwrap().to_vec().iter().map(|&i| i as usize).collect())
                .collect();
            epochs.push(batches);
            assert_eq!(test.iter().count(), 3);
        }
        assert_eq!(
            epochs,
            case["epochs"]
                .as_array()
                .unwrap()
                .iter()
                .map(nested)
                .collect::<Vec<_>>(),
            "{what}"
        );
        check_after(case, &what);
    }
}

fn splits(fx: &Value) {
    for case in fx["splits"].as_array().unwrap() {
        let n = case["n"].as_u64().unwrap() as usize;
        let lengths: Lengths = if case["lengths"][0].is_f64() {
            Lengths::Fractions(
                case["lengths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect(),
            )
        } else {
            Lengths::Counts(usizes(&case["lengths"]))
        };
        let ds = TensorDataset::new(Tensor::<f32>::zeros(&[n])).unwrap();
        let mut g = Generator::new(case["seed"].as_u64().unwrap());
        let parts = random_split(ds, lengths, &mut g).unwrap();
        let got: Vec<Vec<usize>> = parts.iter().map(|p| p.indices().to_vec()).collect();
        assert_eq!(got, nested(&case["parts"]), "split {case}");
    }
}

#[test]
fn orders_and_splits_equal_pytorchs() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/shuffle_torch.json")).unwrap();
    samplers(&fx);
    loaders(&fx);
    splits(&fx);
}
