//! The fuzz targets, one per parser of untrusted bytes, and the seed corpus written by this
//! project's own writers (`cargo xtask fuzz --write-seeds`).
//!
//! A target returns `Ok(true)` when the input was accepted, `Ok(false)` when it was refused
//! with an error, and `Err` when a property broke (a refused load that changed something).

use std::io::Write;
use std::path::Path;

use antorcha_autograd::tensor::manual_seed;
use antorcha_autograd::{Tensor, Var};
use antorcha_data::idx::{decode_idx, decode_idx_file, encode_idx};
use antorcha_data::npy::{decode_npy_any, encode_npy};
use antorcha_nn::pt::state_dict_from_pt;
use antorcha_nn::{
    decode_safetensors, load_safetensors_bytes, read_pt_bytes, write_safetensors, Conv2d, Flatten,
    Linear, MaxPool2d, Module, ReLU, Sequential,
};
use antorcha_optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, Optimizer, OptimizerState,
    RMSprop, RmspropOptions, SgdOptions, SGD,
};

/// One parser under test.
pub struct Target {
    /// The name `--target` takes.
    pub name: &'static str,
    /// The folder of `fuzz/corpus/` its seeds come from.
    pub corpus: &'static str,
    /// The longest input tried.
    pub max_len: usize,
    /// Runs one input.
    pub run: fn(&[u8]) -> Result<bool, String>,
}

/// Every target, in the order they run.
pub const TARGETS: [Target; 7] = [
    Target {
        name: "idx",
        corpus: "idx",
        max_len: 4096,
        run: |b| Ok(decode_idx(b, "fuzz.idx").is_ok()),
    },
    Target {
        name: "idx_gz",
        corpus: "idx_gz",
        max_len: 4096,
        run: |b| Ok(decode_idx_file(b, "fuzz.idx.gz").is_ok()),
    },
    Target {
        name: "idx_gz_inner",
        corpus: "idx",
        max_len: 4096,
        run: idx_gz_inner,
    },
    Target {
        name: "npy",
        corpus: "npy",
        max_len: 4096,
        run: |b| Ok(decode_npy_any(b, "fuzz.npy").is_ok()),
    },
    Target {
        name: "safetensors",
        corpus: "safetensors",
        max_len: 8192,
        run: safetensors,
    },
    Target {
        name: "pt",
        corpus: "pt",
        max_len: 16384,
        run: pt,
    },
    Target {
        name: "optim_state",
        corpus: "optim_state",
        max_len: 8192,
        run: optim_state,
    },
];

/// A mutated IDX file, gzip-compressed and read back: the mutations reach the inflated
/// header and data (a mutated `.gz` mostly fails its checksum).
fn idx_gz_inner(bytes: &[u8]) -> Result<bool, String> {
    Ok(decode_idx_file(&gzip_stored(bytes), "fuzz.idx.gz").is_ok())
}

/// A gzip member holding `bytes` in stored (uncompressed) deflate blocks: valid gzip made
/// without a compressor's setup cost, so this target runs as fast as the others.
fn gzip_stored(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = bytes.chunks(0xFFFF).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// The model the safetensors seeds were saved from.
fn cnn<T: antorcha_autograd::tensor::Float>() -> Sequential<T> {
    Sequential::new()
        .add(Conv2d::new(1, 2, 3).padding(1))
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(8, 3))
}

thread_local! {
    static MODEL: Sequential<f32> = cnn();
}

/// Reads the file, then loads it into a model: a refused load must change no parameter.
/// Accepted: read, or loaded.
fn safetensors(bytes: &[u8]) -> Result<bool, String> {
    let read = decode_safetensors::<f32>(bytes, "fuzz.safetensors").is_ok();
    MODEL.with(|m| {
        let before = values(m);
        match load_safetensors_bytes(m, bytes, "fuzz.safetensors") {
            Ok(()) => Ok(true),
            Err(e) if values(m) != before => Err(format!("a refused load ({e}) changed the model")),
            Err(_) => Ok(read),
        }
    })
}

/// A `torch.save` file, read as `torch.load(weights_only=True)` reads it, then its state dict
/// (if any) converted to f32 tensors. Accepted: read.
fn pt(bytes: &[u8]) -> Result<bool, String> {
    match read_pt_bytes(bytes, "fuzz.pt") {
        Ok(value) => {
            let _ = state_dict_from_pt::<f32>(&value);
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// Every parameter's bits (so NaN compares equal to itself).
fn values(m: &Sequential<f32>) -> Vec<(String, Vec<u32>)> {
    m.state_dict()
        .into_iter()
        .map(|(k, t)| (k, t.to_vec().iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// Two parameters in two groups, as the optimizer seeds were made.
fn params() -> (Var<f64>, Var<f64>) {
    (
        Var::from_vec(vec![1.0, -2.0, 0.5, 3.0], &[2, 2]).requires_grad(),
        Var::from_vec(vec![0.25, -1.0, 2.0], &[3]).requires_grad(),
    )
}

fn backward(a: &Var<f64>, b: &Var<f64>) {
    (a * a).sum().backward().expect("a scalar loss");
    (b * b).sum().backward().expect("a scalar loss");
}

/// Every optimizer, built on fresh parameters in two groups.
fn optimizers(a: &Var<f64>, b: &Var<f64>) -> Vec<Box<dyn Optimizer<f64>>> {
    let (a, b) = (vec![a.clone()], vec![b.clone()]);
    let sgd = SgdOptions::new(0.1).momentum(0.9);
    let adam = AdamOptions::new(0.01).amsgrad(true);
    let adamw = AdamWOptions::new(0.01);
    let rms = RmspropOptions::new(0.01).momentum(0.5).centered(true);
    let ada = AdagradOptions::new(0.1);
    let mut s = SGD::with_options(a.clone(), sgd).expect("valid");
    s.add_param_group(b.clone(), sgd).expect("valid");
    let mut m = Adam::with_options(a.clone(), adam).expect("valid");
    m.add_param_group(b.clone(), adam).expect("valid");
    let mut w = AdamW::with_options(a.clone(), adamw).expect("valid");
    w.add_param_group(b.clone(), adamw).expect("valid");
    let mut r = RMSprop::with_options(a.clone(), rms).expect("valid");
    r.add_param_group(b.clone(), rms).expect("valid");
    let mut g = Adagrad::with_options(a, ada).expect("valid");
    g.add_param_group(b, ada).expect("valid");
    vec![
        Box::new(s),
        Box::new(m),
        Box::new(w),
        Box::new(r),
        Box::new(g),
    ]
}

/// Parses the JSON of an `OptimizerState` and loads it into every optimizer: a refused load
/// must leave the optimizer as it was; an accepted one must then step without panicking.
fn optim_state(bytes: &[u8]) -> Result<bool, String> {
    let Ok(state) = serde_json::from_slice::<OptimizerState>(bytes) else {
        return Ok(false);
    };
    let (a, b) = params();
    let mut accepted = false;
    for mut opt in optimizers(&a, &b) {
        let before = format!("{:?}", opt.state());
        match opt.load_state(&state) {
            Ok(()) => {
                accepted = true;
                backward(&a, &b);
                let _ = opt.step();
                opt.zero_grad();
            }
            Err(e) if format!("{:?}", opt.state()) != before => {
                return Err(format!("a refused load ({e}) changed the optimizer"))
            }
            Err(_) => {}
        }
    }
    Ok(accepted)
}

/// Writes the seed corpus into `dir` (`fuzz/corpus`): small valid files of each format, made
/// by this project's writers (`np.save`'s bytes for `.npy`, `safetensors.torch.save_file`'s
/// layout), plus a few hand-made forms the writers do not produce.
pub fn write_seeds(dir: &Path) {
    let put = |sub: &str, name: &str, bytes: &[u8]| {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).expect("corpus folder");
        std::fs::write(d.join(name), bytes).expect("seed file");
    };

    // IDX: every element type, 0 to 3 dims, an empty array.
    let idx_files: Vec<(&str, Vec<u8>)> = vec![
        (
            "labels-u8-3",
            encode_idx(&Tensor::from_vec(vec![9u8, 0, 3], &[3])).expect("IDX"),
        ),
        (
            "images-u8-2x2x2",
            encode_idx(&Tensor::from_vec((0..8u8).collect(), &[2, 2, 2])).expect("IDX"),
        ),
        ("i8-2", vec![0, 0, 0x09, 1, 0, 0, 0, 2, 0xFF, 7]),
        ("i16-2", vec![0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 1, 44]),
        (
            "i32-2",
            encode_idx(&Tensor::from_vec(vec![-5i32, 70000], &[2])).expect("IDX"),
        ),
        (
            "f32-2x2",
            encode_idx(&Tensor::from_vec(vec![1.5f32, -0.0, 3.25, 1e-3], &[2, 2])).expect("IDX"),
        ),
        (
            "f64-1",
            encode_idx(&Tensor::from_vec(vec![0.1f64], &[1])).expect("IDX"),
        ),
        ("scalar-u8", vec![0, 0, 0x08, 0, 42]),
        (
            "empty-0x28x28",
            encode_idx(&Tensor::<u8>::from_vec(vec![], &[0, 28, 28])).expect("IDX"),
        ),
    ];
    for (name, bytes) in &idx_files {
        put("idx", &format!("{name}.idx"), bytes);
    }
    for (name, bytes) in idx_files.iter().take(5) {
        put("idx_gz", &format!("{name}.idx.gz"), &gzip(bytes));
    }

    // .npy: each dtype, C and Fortran order, big-endian, format 2.0, 0-d and empty arrays.
    let f32_2x2 = encode_npy(&Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]));
    let swap = |bytes: &[u8], from: &str, to: &str| {
        assert_eq!(from.len(), to.len());
        let at = bytes
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .expect("in the header");
        let mut out = bytes.to_vec();
        out[at..at + to.len()].copy_from_slice(to.as_bytes());
        out
    };
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }\n";
    v2.extend_from_slice(&(header.len() as u32).to_le_bytes());
    v2.extend_from_slice(header.as_bytes());
    for x in [1i32, -2, 3] {
        v2.extend_from_slice(&x.to_le_bytes());
    }
    for (name, bytes) in [
        ("f32-2x2", f32_2x2.clone()),
        ("f32-2x2-fortran", swap(&f32_2x2, "False", "True ")),
        (
            "f64-3-big-endian",
            swap(
                &encode_npy(&Tensor::from_vec(vec![0.5f64, 0.25, 2.0], &[3])),
                "<f8",
                ">f8",
            ),
        ),
        (
            "i64-1x2",
            encode_npy(&Tensor::from_vec(vec![1i64, 2], &[1, 2])),
        ),
        ("i32-scalar", encode_npy(&Tensor::scalar(7i32))),
        (
            "u8-empty",
            encode_npy(&Tensor::<u8>::from_vec(vec![], &[0, 4])),
        ),
        (
            "bool-2",
            encode_npy(&Tensor::from_vec(vec![true, false], &[2])),
        ),
        ("i4-3-v2", v2),
    ] {
        put("npy", &format!("{name}.npy"), &bytes);
    }

    // .pt: files PyTorch wrote (the nn fixtures; torch is not needed to copy them).
    let fixtures = super::root().join("crates/nn/tests/fixtures");
    for name in [
        "pt_mlp_state.pt",
        "pt_dtypes.pt",
        "pt_checkpoint_sgd.pt",
        "pt_checkpoint_adam.pt",
    ] {
        let bytes = std::fs::read(fixtures.join(name)).expect("a .pt fixture of crates/nn");
        put("pt", name, &bytes);
    }

    // safetensors: the fuzzed model in both dtypes, and another model's weights.
    manual_seed(0);
    let tmp = std::env::temp_dir().join(format!("xtask-fuzz-seed-{}", std::process::id()));
    let save = |name: &str, tensors: Vec<(String, Tensor<f64>)>, f32: bool| {
        if f32 {
            let t32: Vec<(String, Tensor<f32>)> = tensors
                .into_iter()
                .map(|(k, t)| (k, t.map(|&x| x as f32)))
                .collect();
            write_safetensors(&t32, &tmp).expect("safetensors");
        } else {
            write_safetensors(&tensors, &tmp).expect("safetensors");
        }
        put(
            "safetensors",
            &format!("{name}.safetensors"),
            &std::fs::read(&tmp).expect("written"),
        );
    };
    save("cnn-f32", cnn::<f64>().state_dict(), true);
    save("cnn-f64", cnn::<f64>().state_dict(), false);
    save("linear-f32", Linear::<f64>::new(2, 1).state_dict(), true);
    let _ = std::fs::remove_file(&tmp);

    // Optimizer states (JSON): before any step, and after two steps of each optimizer.
    let (a, b) = params();
    let fresh = optimizers(&a, &b).remove(0).state();
    put(
        "optim_state",
        "sgd-fresh.json",
        serde_json::to_string(&fresh).expect("JSON").as_bytes(),
    );
    let (a, b) = params();
    for (name, mut opt) in ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
        .into_iter()
        .zip(optimizers(&a, &b))
    {
        for _ in 0..2 {
            backward(&a, &b);
            opt.step().expect("a step");
            opt.zero_grad();
        }
        put(
            "optim_state",
            &format!("{name}.json"),
            serde_json::to_string(&opt.state())
                .expect("JSON")
                .as_bytes(),
        );
    }
    println!("wrote the seed corpus to {}", dir.display());
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn stored_gzip_inflates_to_its_input() {
        for n in [0usize, 1, 100, 0xFFFF, 0x1_0000, 200_000] {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&super::gzip_stored(&bytes)[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, bytes, "{n} bytes");
        }
    }

    /// Every seed is accepted by its target, so mutants start from files that parse.
    #[test]
    fn every_seed_is_accepted() {
        let corpus = super::super::root().join("fuzz").join("corpus");
        for t in &super::TARGETS {
            for seed in super::super::load_corpus(&corpus.join(t.corpus)) {
                assert_eq!((t.run)(&seed), Ok(true), "{}", t.name);
            }
        }
    }
}
