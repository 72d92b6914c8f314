//! Crafted IDX files (plain and gzip) that once panicked or inflated without bound: each is an
//! error naming the file, found without allocating what the header claims.

use std::io::Write;

use antorcha_data::idx::{decode_idx, read_idx};
use antorcha_data::DataError;

/// The reproducer: a zero dim next to two dims of 2^32 - 1. PyTorch refuses the shape
/// ("Stride calculation overflowed"), numpy too ("array is too big").
#[test]
fn zero_dim_next_to_huge_dims_is_an_error() {
    let bytes = [
        0, 0, 8, 3, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
    let e = decode_idx(&bytes, "x").unwrap_err();
    assert!(matches!(e, DataError::BadHeader { offset: 4, .. }), "{e}");
    assert!(e.to_string().contains("overflow"), "{e}");
    // Every element type, and huge dims without a zero.
    for code in [0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E] {
        let mut b = vec![0, 0, code, 3];
        for d in [u32::MAX, u32::MAX, 0] {
            b.extend_from_slice(&d.to_be_bytes());
        }
        assert!(decode_idx(&b, "y").is_err(), "type 0x{code:02X}");
    }
    // A zero dim next to sizes that do fit is an empty tensor, as in PyTorch.
    let b = [0, 0, 8, 2, 0, 0, 0, 0, 0, 1, 0, 0];
    assert_eq!(decode_idx(&b, "z").unwrap().shape(), &[0, 65536]);
}

/// A gzip bomb at a small scale: a header declaring 10 bytes, then 100 MiB of zeros,
/// compressed to about 100 kB. Reading it stops after the declared bytes.
#[test]
fn gzip_bomb_fails_without_inflating_everything() {
    let dir = std::env::temp_dir().join(format!("antorcha-idx-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bomb-idx1-ubyte.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    enc.write_all(&[0, 0, 8, 1, 0, 0, 0, 10]).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);

    let e = read_idx(&path).unwrap_err();
    assert!(matches!(e, DataError::BadData { offset: 18, .. }), "{e}");
    assert!(e.to_string().contains("bomb-idx1-ubyte.gz"), "{e}");
    assert!(e.to_string().contains("[10]"), "{e}");

    // A header that declares an impossible size fails on the header alone.
    let path2 = dir.join("huge.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&path2).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&[
        0, 0, 8, 3, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
    ])
    .unwrap();
    enc.finish().unwrap();
    assert!(matches!(
        read_idx(&path2).unwrap_err(),
        DataError::BadHeader { offset: 4, .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
