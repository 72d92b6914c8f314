//! `.npy` files written by numpy 2.4 (`np.save`) read back exactly, and our writer's bytes
//! equal numpy's.

use antorcha_data::npy::{encode_npy, read_npy, read_npy_any, write_npy, NpyArray};
use antorcha_data::DataError;
use antorcha_tensor::Tensor;
use proptest::prelude::*;

proptest! {
    #[test]
    fn random_and_truncated_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        cut in 0usize..300,
    ) {
        let _ = antorcha_data::npy::decode_npy_any(&bytes, "random.npy");
        let full = encode_npy(&Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1]));
        let cut = cut.min(full.len());
        let r = antorcha_data::npy::decode_npy::<f32>(&full[..cut], "cut.npy");
        prop_assert_eq!(r.is_ok(), cut == full.len());
        // A header with one random byte in it.
        let mut mangled = encode_npy(&Tensor::from(vec![true]));
        if let Some(&b) = bytes.first() {
            mangled[bytes.len() % 80] = b;
        }
        let _ = antorcha_data::npy::decode_npy_any(&mangled, "mangled.npy");
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npy")
        .join(name)
}

#[test]
fn reads_numpy_files() {
    let t = read_npy::<f32>(fixture("f4_2x3.npy")).unwrap();
    assert_eq!(
        t,
        Tensor::from_vec(vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25], &[2, 3])
    );
    let t = read_npy::<f64>(fixture("f8_scalar.npy")).unwrap();
    assert_eq!(t, Tensor::scalar(-2.5));
    let t = read_npy::<i64>(fixture("i8_5.npy")).unwrap();
    assert_eq!(t.to_vec(), vec![-3, 0, 7, 1 << 40, -(1 << 62)]);
    let t = read_npy::<u8>(fixture("u1_2x2.npy")).unwrap();
    assert_eq!(t, Tensor::from_vec(vec![0, 255, 17, 1], &[2, 2]));
    let t = read_npy::<bool>(fixture("b1_3.npy")).unwrap();
    assert_eq!(t.to_vec(), vec![true, false, true]);
    let t = read_npy::<f64>(fixture("f8_fortran_2x3.npy")).unwrap();
    assert_eq!(
        t,
        Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3])
    );
    let t = read_npy::<i32>(fixture("i4_be_4.npy")).unwrap();
    assert_eq!(t.to_vec(), vec![1, -2, 3, 70000]);
    let t = read_npy::<f32>(fixture("f4_empty_0x3.npy")).unwrap();
    assert_eq!(t.shape(), &[0, 3]);
    let t = read_npy::<f64>(fixture("f8_v2_2.npy")).unwrap();
    assert_eq!(t.to_vec(), vec![1.5, -0.25]);
}

#[test]
fn any_type_reader() {
    match read_npy_any(fixture("u1_2x2.npy")).unwrap() {
        NpyArray::U8(t) => assert_eq!(t.shape(), &[2, 2]),
        other => panic!("expected u8, got {other:?}"),
    }
    assert!(matches!(
        read_npy_any(fixture("b1_3.npy")).unwrap(),
        NpyArray::Bool(_)
    ));
    assert_eq!(read_npy_any(fixture("i8_5.npy")).unwrap().shape(), &[5]);
}

#[test]
fn writer_matches_numpy_bytes() {
    for (name, bytes) in [
        (
            "f4_2x3.npy",
            encode_npy(&read_npy::<f32>(fixture("f4_2x3.npy")).unwrap()),
        ),
        ("f8_scalar.npy", encode_npy(&Tensor::scalar(-2.5f64))),
        (
            "i8_5.npy",
            encode_npy(&read_npy::<i64>(fixture("i8_5.npy")).unwrap()),
        ),
        (
            "u1_2x2.npy",
            encode_npy(&read_npy::<u8>(fixture("u1_2x2.npy")).unwrap()),
        ),
        (
            "b1_3.npy",
            encode_npy(&Tensor::from(vec![true, false, true])),
        ),
        (
            "f4_empty_0x3.npy",
            encode_npy(&Tensor::<f32>::from_vec(vec![], &[0, 3])),
        ),
    ] {
        assert_eq!(bytes, std::fs::read(fixture(name)).unwrap(), "{name}");
    }
}

#[test]
fn file_round_trip_and_errors() {
    let dir = std::env::temp_dir().join(format!("antorcha-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = Tensor::from_vec((0..24).map(|i| i as f64 / 3.0).collect(), &[2, 3, 4]);
    write_npy(dir.join("t.npy"), &t).unwrap();
    assert_eq!(read_npy::<f64>(dir.join("t.npy")).unwrap(), t);
    let e = read_npy::<f32>(dir.join("t.npy")).unwrap_err();
    assert!(matches!(e, DataError::WrongType { .. }), "{e}");
    let e = read_npy::<f32>(dir.join("missing.npy")).unwrap_err();
    assert!(
        matches!(e, DataError::Io { .. }) && e.to_string().contains("missing.npy"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
