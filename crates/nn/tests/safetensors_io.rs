//! Weights on disk: a safetensors round trip keeps every value, names and dtypes are
//! PyTorch's, and every way a file can fail to fit (missing or unexpected keys, wrong shapes,
//! wrong dtypes, a corrupt or absent file) is an error that names it and changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use antorcha_autograd::{Tensor, Var};
use antorcha_nn::{
    load_safetensors, read_safetensors, save_safetensors, write_safetensors, Conv2d, Flatten,
    Linear, MaxPool2d, Module, NnError, ReLU, Sequential,
};
use safetensors::tensor::{Dtype, SafeTensors};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("antorcha_nn_{tag}_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cnn<T: antorcha_autograd::tensor::Float>() -> Sequential<T> {
    Sequential::new()
        .add(Conv2d::new(1, 2, 3).padding(1))
        .add(ReLU::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(8, 3))
}

fn values<T: antorcha_autograd::tensor::Float>(m: &dyn Module<T>) -> Vec<(String, Vec<T>)> {
    m.state_dict()
        .into_iter()
        .map(|(k, t)| (k, t.to_vec()))
        .collect()
}

fn mlp(hidden: usize) -> Sequential {
    Sequential::new()
        .add(Linear::new(4, hidden))
        .add(ReLU::new())
        .add(Linear::new(hidden, 2))
}

#[test]
fn round_trip_keeps_every_value_in_both_dtypes() {
    let dir = TempDir::new("round_trip");
    let path = dir.file("cnn32.safetensors");
    let a: Sequential<f32> = cnn();
    save_safetensors(&a, &path).unwrap();
    let b: Sequential<f32> = cnn();
    assert_ne!(values(&a), values(&b));
    load_safetensors(&b, &path).unwrap();
    assert_eq!(values(&a), values(&b));
    let x = Var::<f32>::randn(&[2, 1, 4, 4]);
    assert_eq!(a.forward(&x).to_vec(), b.forward(&x).to_vec());
    // The loaded parameters are still leaves that require grad.
    assert!(b.parameters().iter().all(|p| p.is_leaf() && p.needs_grad()));

    let path64 = dir.file("cnn64.safetensors");
    let c: Sequential<f64> = cnn();
    save_safetensors(&c, &path64).unwrap();
    let d: Sequential<f64> = cnn();
    load_safetensors(&d, &path64).unwrap();
    assert_eq!(values(&c), values(&d));
}

#[test]
fn files_use_pytorch_names_dtypes_and_metadata() {
    let dir = TempDir::new("names");
    let path = dir.file("m.safetensors");
    let m: Sequential<f32> = cnn();
    save_safetensors(&m, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "4.bias", "4.weight"]);
    let w = st.tensor("0.weight").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[2usize, 1, 3, 3][..]));
    assert_eq!(st.tensor("4.weight").unwrap().shape(), &[3, 8]);
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");

    let m64: Sequential<f64> = cnn();
    save_safetensors(&m64, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert!(st.iter().all(|(_, v)| v.dtype() == Dtype::F64));
    // read_safetensors gives the tensors sorted by name.
    let read: Vec<(String, Tensor<f64>)> = read_safetensors(&path).unwrap();
    assert_eq!(
        read.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["0.bias", "0.weight", "4.bias", "4.weight"]
    );
    // Read as f32, each value is the f64 rounded to nearest (PyTorch's `copy_`).
    let as_f32: Vec<(String, Tensor<f32>)> = read_safetensors(&path).unwrap();
    for ((k32, t32), (k64, t64)) in as_f32.iter().zip(&read) {
        assert_eq!(k32, k64);
        let rounded: Vec<f32> = t64.to_vec().iter().map(|&x| x as f32).collect();
        assert_eq!(t32.to_vec(), rounded);
    }
}

#[test]
fn float_dtypes_convert_on_load_and_others_are_errors() {
    let dir = TempDir::new("dtypes");
    let path = dir.file("f64.safetensors");
    let m64: Sequential<f64> = cnn();
    save_safetensors(&m64, &path).unwrap();
    // An f64 checkpoint loads into an f32 model, rounded to nearest, as load_state_dict does.
    let m32: Sequential<f32> = cnn();
    load_safetensors(&m32, &path).unwrap();
    for ((k32, v32), (k64, v64)) in values(&m32).iter().zip(values(&m64).iter()) {
        assert_eq!(k32, k64);
        assert_eq!(*v32, v64.iter().map(|&x| x as f32).collect::<Vec<f32>>());
    }
    // And back: f32 values widen exactly.
    let path32 = dir.file("f32.safetensors");
    save_safetensors(&m32, &path32).unwrap();
    let back: Sequential<f64> = cnn();
    load_safetensors(&back, &path32).unwrap();
    for ((_, v64), (_, v32)) in values(&back).iter().zip(values(&m32).iter()) {
        assert_eq!(
            *v64,
            v32.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>()
        );
    }
    // A dtype that is not a float (here I64) is a mismatch naming the key; nothing loads.
    struct Ints(Vec<u8>);
    impl safetensors::tensor::View for &Ints {
        fn dtype(&self) -> Dtype {
            Dtype::I64
        }
        fn shape(&self) -> &[usize] {
            &[2]
        }
        fn data(&self) -> std::borrow::Cow<'_, [u8]> {
            std::borrow::Cow::Borrowed(&self.0)
        }
        fn data_len(&self) -> usize {
            self.0.len()
        }
    }
    let ints = Ints([1i64, 2].iter().flat_map(|x| x.to_le_bytes()).collect());
    let bad = dir.file("ints.safetensors");
    safetensors::serialize_to_file([("0.bias", &ints)], None, &bad).unwrap();
    let lin = Sequential::new().add(Linear::<f32>::new(3, 2));
    let before = values(&lin);
    let msg = load_safetensors(&lin, &bad).unwrap_err().to_string();
    assert!(msg.contains("0.bias") && msg.contains("I64"), "{msg}");
    assert_eq!(values(&lin), before);
    assert!(read_safetensors::<f32>(&bad)
        .unwrap_err()
        .to_string()
        .contains("dtype mismatch"));
}

#[test]
fn missing_and_unexpected_keys_are_listed_and_nothing_loads() {
    let dir = TempDir::new("keys");
    let path = dir.file("small.safetensors");
    let small = Sequential::new().add(Linear::<f32>::new(4, 4));
    save_safetensors(&small, &path).unwrap();

    let big = mlp(4);
    let before = values(&big);
    let err = load_safetensors(&big, &path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("Missing key(s) in state_dict: \"2.weight\", \"2.bias\""),
        "{msg}"
    );
    assert!(msg.contains("small.safetensors"), "{msg}");
    assert!(!msg.contains("Unexpected"), "{msg}");
    match err {
        NnError::StateDict(m) => {
            assert_eq!(m.missing, ["2.weight", "2.bias"]);
            assert!(m.unexpected.is_empty() && m.mismatched.is_empty());
        }
        other => panic!("expected a state dict error, got {other}"),
    }
    // 0.weight and 0.bias fit, but were not loaded either.
    assert_eq!(values(&big), before);

    // The other way round: the file has keys the model lacks.
    let path = dir.file("big.safetensors");
    save_safetensors(&big, &path).unwrap();
    let other = Sequential::new().add(Linear::<f32>::new(4, 4));
    let msg = load_safetensors(&other, &path).unwrap_err().to_string();
    assert!(
        msg.contains("Unexpected key(s) in state_dict: \"2.bias\", \"2.weight\""),
        "{msg}"
    );
}

#[test]
fn wrong_shapes_are_listed_with_both_shapes_and_nothing_loads() {
    let dir = TempDir::new("shapes");
    let path = dir.file("h6.safetensors");
    save_safetensors(&mlp(6), &path).unwrap();
    let model = mlp(5);
    let before = values(&model);
    let msg = load_safetensors(&model, &path).unwrap_err().to_string();
    for line in [
        "0.weight: size mismatch: copying a param with shape [6, 4] from checkpoint, the shape in current model is [5, 4]",
        "0.bias: size mismatch: copying a param with shape [6] from checkpoint, the shape in current model is [5]",
        "2.weight: size mismatch: copying a param with shape [2, 6] from checkpoint, the shape in current model is [2, 5]",
    ] {
        assert!(msg.contains(line), "{msg}");
    }
    // 2.bias fits, yet nothing changed.
    assert!(!msg.contains("2.bias"), "{msg}");
    assert_eq!(values(&model), before);
}

#[test]
fn load_state_dict_checks_the_same_way() {
    let a = mlp(3);
    let b = mlp(3);
    let dict: HashMap<String, Tensor> = a.state_dict().into_iter().collect();
    b.load_state_dict(&dict).unwrap();
    assert_eq!(values(&a), values(&b));

    let mut partial = dict.clone();
    partial.remove("2.bias");
    partial.insert("extra".into(), Tensor::zeros(&[1]));
    partial.insert("0.bias".into(), Tensor::zeros(&[4]));
    let c = mlp(3);
    let before = values(&c);
    let msg = c.load_state_dict(&partial).unwrap_err().to_string();
    assert!(
        msg.contains("Missing key(s) in state_dict: \"2.bias\"."),
        "{msg}"
    );
    assert!(
        msg.contains("Unexpected key(s) in state_dict: \"extra\"."),
        "{msg}"
    );
    assert!(msg.contains("0.bias: size mismatch"), "{msg}");
    assert_eq!(values(&c), before);
}

fn assert_format_error(path: &Path, expect: &str) {
    let model = mlp(2);
    let before = values(&model);
    let err = load_safetensors(&model, path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(expect), "{msg}");
    assert_eq!(values(&model), before);
}

#[test]
fn corrupt_and_absent_files_are_errors_naming_the_file() {
    let dir = TempDir::new("corrupt");
    let good = dir.file("good.safetensors");
    save_safetensors(&mlp(2), &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.safetensors", vec![]),
        ("short.safetensors", vec![1, 2, 3]),
        ("truncated.safetensors", bytes[..bytes.len() - 5].to_vec()),
        ("header_cut.safetensors", bytes[..20].to_vec()),
        ("huge_header.safetensors", {
            let mut b = u64::MAX.to_le_bytes().to_vec();
            b.extend_from_slice(b"{}");
            b
        }),
        ("garbage.safetensors", {
            let mut b = 12u64.to_le_bytes().to_vec();
            b.extend_from_slice(b"not json at ");
            b
        }),
        ("bad_offsets.safetensors", {
            let header = br#"{"0.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,999]}}"#;
            let mut b = (header.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(header);
            b.extend_from_slice(&[0; 32]);
            b
        }),
    ];
    for (name, content) in cases {
        let path = dir.file(name);
        std::fs::write(&path, content).unwrap();
        assert_format_error(&path, "not a valid safetensors file");
    }
    let absent = dir.file("absent.safetensors");
    let err = load_safetensors(&mlp(2), &absent).unwrap_err();
    assert!(matches!(err, NnError::Io { .. }), "{err}");
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
    // Writing into a directory that does not exist names the path too.
    let err = save_safetensors(&mlp(2), dir.file("no/such/dir/w.safetensors")).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[test]
fn writing_refuses_duplicate_keys() {
    let dir = TempDir::new("dup");
    let t = Tensor::<f32>::zeros(&[1]);
    let err = write_safetensors(
        &[("a".into(), t.clone()), ("a".into(), t)],
        dir.file("d.safetensors"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"a\" appears twice"), "{err}");
    assert!(!dir.file("d.safetensors").exists());
}
