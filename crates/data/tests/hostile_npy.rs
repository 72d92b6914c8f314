//! Crafted `.npy` headers that once panicked: each is an error naming the file, found before
//! anything the header claims is allocated.

use antorcha_data::npy::{decode_npy, decode_npy_any};
use antorcha_data::DataError;

fn npy(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

/// A zero dim next to dims whose product overflows: numpy says "array is too big", PyTorch
/// "Stride calculation overflowed"; this once reached `expect("length checked")`.
#[test]
fn zero_dim_next_to_huge_dims_is_an_error() {
    let b = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967295, 4294967295), }",
        &[],
    );
    let e = decode_npy::<f32>(&b, "z.npy").unwrap_err();
    assert!(matches!(e, DataError::BadHeader { .. }), "{e}");
    assert!(
        e.to_string().contains("z.npy") && e.to_string().contains("too big"),
        "{e}"
    );
    for order in ["True", "False"] {
        let b = npy(
            &format!(
                "{{'descr': '|u1', 'fortran_order': {order}, 'shape': (4611686018427387904, 4, 0), }}"
            ),
            &[],
        );
        assert!(
            decode_npy_any(&b, "z.npy").is_err(),
            "fortran_order {order}"
        );
    }
    // Sizes that fit, with a zero: an empty array, as numpy gives.
    let b = npy(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 0), }",
        &[],
    );
    assert_eq!(decode_npy::<f64>(&b, "e.npy").unwrap().shape(), &[3, 0]);
}

/// Huge sizes without a zero, a dim past `u64`, and a header length past the end of the file.
#[test]
fn huge_declared_sizes_are_errors() {
    let b = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846975,), }",
        &[0; 8],
    );
    assert!(matches!(
        decode_npy::<f64>(&b, "h.npy").unwrap_err(),
        DataError::BadHeader { .. } | DataError::ShortData { .. }
    ));
    let b = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        &[],
    );
    assert!(matches!(
        decode_npy::<f64>(&b, "h.npy").unwrap_err(),
        DataError::BadHeader { .. }
    ));
    let mut b = b"\x93NUMPY\x02\x00".to_vec();
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    b.extend_from_slice(b"{}");
    assert!(matches!(
        decode_npy::<f64>(&b, "h.npy").unwrap_err(),
        DataError::ShortHeader { .. }
    ));
}
