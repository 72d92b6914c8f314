//! IDX files: round trips through files (plain and .gz), and random or truncated bytes never
//! make the parser panic.

use antorcha_data::idx::{decode_idx, encode_idx, read_idx, write_idx, IdxTensor};
use antorcha_data::DataError;
use antorcha_tensor::Tensor;
use proptest::prelude::*;

fn dims() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 0..4)
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_idx(&bytes, "random");
    }

    #[test]
    fn idx_like_headers_never_panic(
        code in prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07, 0xFF]),
        ndim in 0u8..6,
        rest in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut bytes = vec![0, 0, code, ndim];
        bytes.extend(rest);
        let _ = decode_idx(&bytes, "random");
    }

    #[test]
    fn truncated_files_are_errors(shape in dims(), cut in 0usize..1000) {
        let n: usize = shape.iter().product();
        let t = Tensor::from_vec((0..n).map(|i| i as f32 * 0.5).collect(), &shape);
        let bytes = encode_idx(&t).unwrap();
        let cut = cut % (bytes.len() + 1);
        let r = decode_idx(&bytes[..cut], "cut");
        if cut == bytes.len() {
            prop_assert_eq!(r.unwrap(), IdxTensor::F32(t));
        } else {
            let e = r.unwrap_err();
            prop_assert!(matches!(e, DataError::ShortHeader { .. } | DataError::ShortData { .. }), "{}", e);
            prop_assert!(e.to_string().contains("cut"));
        }
    }

    #[test]
    fn round_trip_u8(shape in dims(), seed in any::<u8>()) {
        let n: usize = shape.iter().product();
        let t = Tensor::from_vec((0..n).map(|i| (i as u8).wrapping_mul(seed)).collect(), &shape);
        prop_assert_eq!(decode_idx(&encode_idx(&t).unwrap(), "rt").unwrap(), IdxTensor::U8(t));
    }
}

#[test]
fn files_round_trip_plain_and_gz() {
    let dir = std::env::temp_dir().join(format!("antorcha-idx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Tensor::from_vec((0..60).map(|i| i as u8).collect(), &[3, 4, 5]);
    let b = Tensor::from_vec(vec![-1i32, 2, i32::MAX], &[3]);
    let c = Tensor::from_vec(vec![0.1f64, -2.0], &[2, 1]);
    write_idx(dir.join("a.idx"), &a).unwrap();
    write_idx(dir.join("a.idx.gz"), &a).unwrap();
    write_idx(dir.join("b.idx.gz"), &b).unwrap();
    write_idx(dir.join("c.idx"), &c).unwrap();
    assert_eq!(
        read_idx(dir.join("a.idx")).unwrap(),
        IdxTensor::U8(a.clone())
    );
    assert_eq!(read_idx(dir.join("a.idx.gz")).unwrap(), IdxTensor::U8(a));
    assert_eq!(read_idx(dir.join("b.idx.gz")).unwrap(), IdxTensor::I32(b));
    assert_eq!(read_idx(dir.join("c.idx")).unwrap(), IdxTensor::F64(c));
    std::fs::remove_dir_all(&dir).unwrap();
}
