//! numpy's `.npy` files (format versions 1.0, 2.0 and 3.0), so arrays move between numpy and
//! Rust: `np.save` / `np.load` on one side, [`write_npy`] / [`read_npy`] on the other.
//!
//! Element types: `<f4`, `<f8`, `<i8`, `<i4`, `|u1`, `|b1` (and their big-endian `>` forms
//! when reading). Fortran-ordered files are read and turned into row-major tensors; files are
//! always written in C order, little-endian, with numpy's own header layout, so the bytes equal
//! `np.save`'s.

use std::path::Path;

use antorcha_tensor::ndarray::{ArrayD, IxDyn, ShapeBuilder};
use antorcha_tensor::{Element, Tensor};

use crate::bounds::shape_bytes;
use crate::error::{DataError, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy aligns the data to 64 bytes.
const ALIGN: usize = 64;
/// numpy leaves room for the first dimension to grow to this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// An element type `.npy` files can hold and this crate can read and write.
pub trait NpyElement: Element + Copy {
    /// numpy's type character and size: `f4`, `f8`, `i8`, `i4`, `u1`, `b1`.
    const TYPE: &'static str;
    /// Bytes per element.
    const SIZE: usize;
    /// Decodes one element; `None` when the bytes are not a valid value (a bool other than 0/1).
    fn decode(bytes: &[u8], little_endian: bool) -> Option<Self>;
    /// Appends the element's little-endian bytes.
    fn put_le(self, out: &mut Vec<u8>);
}

macro_rules! npy_number {
    ($($t:ty => $ty:literal),*) => {$(
        impl NpyElement for $t {
            const TYPE: &'static str = $ty;
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn decode(bytes: &[u8], little_endian: bool) -> Option<Self> {
                let b = bytes.try_into().ok()?;
                Some(if little_endian { <$t>::from_le_bytes(b) } else { <$t>::from_be_bytes(b) })
            }
            #[inline]
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
npy_number!(f32 => "f4", f64 => "f8", i64 => "i8", i32 => "i4", u8 => "u1");

impl NpyElement for bool {
    const TYPE: &'static str = "b1";
    const SIZE: usize = 1;
    fn decode(bytes: &[u8], _: bool) -> Option<Self> {
        match bytes {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
}

/// The parsed header of a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// numpy's dtype string, e.g. `<f4`.
    pub descr: String,
    /// Whether the data are in column-major (Fortran) order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The byte offset where the data start.
    pub data_offset: usize,
}

/// A `.npy` array of whichever element type the file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyArray {
    /// `f4`.
    F32(Tensor<f32>),
    /// `f8`.
    F64(Tensor<f64>),
    /// `i8`.
    I64(Tensor<i64>),
    /// `i4`.
    I32(Tensor<i32>),
    /// `u1`.
    U8(Tensor<u8>),
    /// `b1`.
    Bool(Tensor<bool>),
}

impl NpyArray {
    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F32(t) => t.shape(),
            NpyArray::F64(t) => t.shape(),
            NpyArray::I64(t) => t.shape(),
            NpyArray::I32(t) => t.shape(),
            NpyArray::U8(t) => t.shape(),
            NpyArray::Bool(t) => t.shape(),
        }
    }
}

fn bad_header(path: &Path, offset: usize, message: impl Into<String>) -> DataError {
    DataError::BadHeader {
        path: path.to_path_buf(),
        offset: offset as u64,
        message: message.into(),
    }
}

/// Reads the header of a `.npy` file from its bytes (`path` names it in errors).
pub fn parse_npy_header(bytes: &[u8], path: impl AsRef<Path>) -> Result<NpyHeader> {
    let path = path.as_ref();
    let short = |needed: usize| DataError::ShortHeader {
        path: path.to_path_buf(),
        offset: bytes.len() as u64,
        needed: needed as u64,
        len: bytes.len() as u64,
    };
    let prefix = &bytes[..bytes.len().min(6)];
    if prefix != &MAGIC[..prefix.len()] {
        let found: String = bytes.iter().take(6).map(|b| format!("{b:02X}")).collect();
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            offset: 0,
            found: format!("0x{found}"),
            expected: "\\x93NUMPY (0x934E554D5059)".to_string(),
        });
    }
    if bytes.len() < 10 {
        return Err(short(10));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_size, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => {
            return Err(bad_header(
                path,
                6,
                format!("unsupported format version {major}.{minor} (known: 1.0, 2.0, 3.0)"),
            ))
        }
    };
    let start = 8 + len_size;
    if bytes.len() < start {
        return Err(short(start));
    }
    let header_len = if len_size == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize
    };
    let end = start
        .checked_add(header_len)
        .ok_or_else(|| short(usize::MAX))?;
    if bytes.len() < end {
        return Err(short(end));
    }
    let raw = &bytes[start..end];
    let text: String = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|e| bad_header(path, start + e.valid_up_to(), "header is not UTF-8"))?
            .to_string()
    } else {
        // Latin-1: every byte is one char.
        raw.iter().map(|&b| b as char).collect()
    };
    let mut p = DictParser {
        s: text.as_bytes(),
        i: 0,
        base: start,
        path,
    };
    let (descr, fortran_order, shape) = p.dict()?;
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// A parser for the Python dict literal of a `.npy` header.
struct DictParser<'a> {
    s: &'a [u8],
    i: usize,
    base: usize,
    path: &'a Path,
}

enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

impl DictParser<'_> {
    fn err(&self, message: impl Into<String>) -> DataError {
        bad_header(self.path, self.base + self.i, message)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected '{}'", c as char)))
        }
    }

    fn string(&mut self) -> Result<String> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("expected a quoted string")),
        };
        self.i += 1;
        let from = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        if self.i == self.s.len() {
            return Err(self.err("unterminated string"));
        }
        let out = String::from_utf8_lossy(&self.s[from..self.i]).into_owned();
        self.i += 1;
        Ok(out)
    }

    fn int(&mut self) -> Result<usize> {
        self.ws();
        let from = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let digits = std::str::from_utf8(&self.s[from..self.i]).expect("ASCII digits");
        // Python 2 era files may write `3L`.
        if self.s.get(self.i) == Some(&b'L') {
            self.i += 1;
        }
        digits.parse().map_err(|_| {
            self.i = from;
            self.err("expected a non-negative dimension")
        })
    }

    fn value(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    if self.peek() == Some(b')') {
                        self.i += 1;
                        return Ok(Value::Tuple(dims));
                    }
                    dims.push(self.int()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {}
                        _ => return Err(self.err("expected ',' or ')' in the shape")),
                    }
                }
            }
            _ => {
                for (word, v) in [("True", true), ("False", false)] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(Value::Bool(v));
                    }
                }
                Err(self.err("expected a string, True, False or a tuple"))
            }
        }
    }

    fn dict(&mut self) -> Result<(String, bool, Vec<usize>)> {
        self.expect(b'{')?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            if self.peek() == Some(b'}') {
                self.i += 1;
                break;
            }
            let key_at = self.i;
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            match (key.as_str(), value) {
                ("descr", Value::Str(s)) => descr = Some(s),
                ("fortran_order", Value::Bool(b)) => fortran = Some(b),
                ("shape", Value::Tuple(t)) => shape = Some(t),
                ("descr" | "fortran_order" | "shape", _) => {
                    self.i = key_at;
                    return Err(self.err(format!("key '{key}' has a value of the wrong kind (structured dtypes are not supported)")));
                }
                _ => {
                    self.i = key_at;
                    return Err(self.err(format!("unknown key '{key}'")));
                }
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
        match (descr, fortran, shape) {
            (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
            _ => Err(self.err("the header needs 'descr', 'fortran_order' and 'shape'")),
        }
    }
}

/// Splits `<f4` into (little_endian, "f4"); `|` and `=` count as little-endian.
fn split_descr(descr: &str) -> Option<(bool, &str)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let le = match order {
        '<' | '|' | '=' => true,
        '>' => false,
        _ => return None,
    };
    Some((le, chars.as_str()))
}

fn decode_data<T: NpyElement>(bytes: &[u8], h: &NpyHeader, path: &Path) -> Result<Tensor<T>> {
    let (le, ty) = split_descr(&h.descr)
        .filter(|(_, ty)| *ty == T::TYPE)
        .ok_or_else(|| DataError::WrongType {
            path: path.to_path_buf(),
            found: h.descr.clone(),
            expected: format!("{} ('<{}')", T::DTYPE, T::TYPE),
        })?;
    debug_assert_eq!(ty, T::TYPE);
    let count = shape_bytes(&h.shape, T::SIZE).ok_or_else(|| {
        bad_header(
            path,
            8,
            format!(
                "shape {:?} of {}-byte elements overflows the address space (array is too big)",
                h.shape,
                T::SIZE
            ),
        )
    })?;
    let found = bytes.len() - h.data_offset;
    if found < count {
        return Err(DataError::ShortData {
            path: path.to_path_buf(),
            offset: bytes.len() as u64,
            start: h.data_offset as u64,
            expected: count as u64,
            found: found as u64,
        });
    }
    if found > count {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            offset: (h.data_offset + count) as u64,
            extra: (found - count) as u64,
        });
    }
    let data = &bytes[h.data_offset..];
    let mut values = Vec::with_capacity(count / T::SIZE);
    for (k, chunk) in data.chunks_exact(T::SIZE).enumerate() {
        values.push(T::decode(chunk, le).ok_or_else(|| DataError::BadData {
            path: path.to_path_buf(),
            offset: (h.data_offset + k * T::SIZE) as u64,
            message: format!("byte {:?} is not a {}", chunk, T::DTYPE),
        })?);
    }
    let shape_error = |e: antorcha_tensor::ndarray::ShapeError| {
        bad_header(path, 8, format!("shape {:?}: {e}", h.shape))
    };
    let array = if h.fortran_order {
        ArrayD::from_shape_vec(IxDyn(&h.shape).f(), values)
            .map_err(shape_error)?
            .as_standard_layout()
            .into_owned()
    } else {
        ArrayD::from_shape_vec(IxDyn(&h.shape), values).map_err(shape_error)?
    };
    Ok(Tensor::from_array(array))
}

/// Parses the bytes of a `.npy` file holding `T` elements (`path` names it in errors): an
/// error names the file's dtype when it is another one.
///
/// ```
/// use antorcha_data::npy::{decode_npy, encode_npy};
/// use antorcha_tensor::Tensor;
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
/// let bytes = encode_npy(&t);
/// assert_eq!(&bytes[..6], b"\x93NUMPY");
/// assert_eq!(decode_npy::<f32>(&bytes, "t.npy")?, t);
/// assert!(decode_npy::<f64>(&bytes, "t.npy").is_err());
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub fn decode_npy<T: NpyElement>(bytes: &[u8], path: impl AsRef<Path>) -> Result<Tensor<T>> {
    let path = path.as_ref();
    let h = parse_npy_header(bytes, path)?;
    decode_data(bytes, &h, path)
}

/// Parses the bytes of a `.npy` file of any supported element type.
pub fn decode_npy_any(bytes: &[u8], path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let h = parse_npy_header(bytes, path)?;
    let ty = split_descr(&h.descr).map(|(_, ty)| ty);
    Ok(match ty {
        Some("f4") => NpyArray::F32(decode_data(bytes, &h, path)?),
        Some("f8") => NpyArray::F64(decode_data(bytes, &h, path)?),
        Some("i8") => NpyArray::I64(decode_data(bytes, &h, path)?),
        Some("i4") => NpyArray::I32(decode_data(bytes, &h, path)?),
        Some("u1") => NpyArray::U8(decode_data(bytes, &h, path)?),
        Some("b1") => NpyArray::Bool(decode_data(bytes, &h, path)?),
        _ => {
            return Err(DataError::WrongType {
                path: path.to_path_buf(),
                found: h.descr,
                expected: "one of <f4, <f8, <i8, <i4, |u1, |b1".to_string(),
            })
        }
    })
}

/// Reads a `.npy` file holding `T` elements, like `np.load(path)`.
pub fn read_npy<T: NpyElement>(path: impl AsRef<Path>) -> Result<Tensor<T>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_npy(&bytes, path)
}

/// Reads a `.npy` file of any supported element type.
pub fn read_npy_any(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_npy_any(&bytes, path)
}

/// The bytes `np.save` writes for `t`: C order, little-endian, format 1.0 (2.0 when the
/// header is too long for 1.0), numpy's padding.
pub fn encode_npy<T: NpyElement>(t: &Tensor<T>) -> Vec<u8> {
    let order = if T::SIZE == 1 { '|' } else { '<' };
    let shape = match t.shape() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{order}{}', 'fortran_order': False, 'shape': {shape}, }}",
        T::TYPE
    );
    if let Some(d0) = t.shape().first() {
        let digits = d0.to_string().len();
        header.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let hlen = header.len() + 1;
    let wrap = |len_size: usize| ALIGN - ((8 + len_size + hlen) % ALIGN);
    let (major, len_size) = if hlen + wrap(2) < 65536 {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let pad = wrap(len_size);
    let mut out = Vec::with_capacity(8 + len_size + hlen + pad + t.numel() * T::SIZE);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    let total = (hlen + pad) as u32;
    if len_size == 2 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&total.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    for &x in t.view().iter() {
        x.put_le(&mut out);
    }
    out
}

/// Writes `t` as a `.npy` file, like `np.save(path, array)` (the path is used as given).
pub fn write_npy<T: NpyElement>(path: impl AsRef<Path>, t: &Tensor<T>) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, encode_npy(t)).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as `np.save(np.array([[1, 2]], dtype='<i8'))` writes it, made by hand.
    fn hand_made() -> Vec<u8> {
        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&118u16.to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend(std::iter::repeat_n(b' ', 117 - header.len()));
        b.push(b'\n');
        assert_eq!(b.len(), 128);
        b.extend_from_slice(&1i64.to_le_bytes());
        b.extend_from_slice(&2i64.to_le_bytes());
        b
    }

    #[test]
    fn hand_made_header_reads_and_encodes_identically() {
        let b = hand_made();
        let h = parse_npy_header(&b, "h.npy").unwrap();
        assert_eq!(
            h,
            NpyHeader {
                descr: "<i8".into(),
                fortran_order: false,
                shape: vec![1, 2],
                data_offset: 128
            }
        );
        let t = decode_npy::<i64>(&b, "h.npy").unwrap();
        assert_eq!(t, Tensor::from_vec(vec![1, 2], &[1, 2]));
        assert_eq!(encode_npy(&t), b);
    }

    #[test]
    fn header_variants_parse() {
        let mk = |header: &str| {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(header.len() as u16).to_le_bytes());
            b.extend_from_slice(header.as_bytes());
            b
        };
        let h = parse_npy_header(
            &mk("{\"shape\":(3L,),\"fortran_order\":True,\"descr\":\"<f8\"}\n"),
            "x",
        )
        .unwrap();
        assert_eq!(
            (h.shape, h.fortran_order, h.descr.as_str()),
            (vec![3], true, "<f8")
        );
        let h = parse_npy_header(
            &mk("{'descr': '|b1', 'fortran_order': False, 'shape': ()}"),
            "x",
        )
        .unwrap();
        assert!(h.shape.is_empty());
        for (bad, what) in [
            ("{'descr': '<f8', 'shape': (2,)}", "needs"),
            (
                "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,)}",
                "expected a string",
            ),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",
                "expected a string",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
                "dimension",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 'y'}",
                "unknown key",
            ),
            ("{'descr': '<f8' 'fortran_order': False}", "expected ','"),
            ("{'descr: '<f8'", "expected ':'"),
            ("", "expected '{'"),
        ] {
            let e = parse_npy_header(&mk(bad), "bad.npy")
                .unwrap_err()
                .to_string();
            assert!(e.contains(what) && e.contains("bad.npy"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_name_offsets() {
        let b = hand_made();
        let e = decode_npy::<i64>(&b[..130], "t.npy").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::ShortData {
                    offset: 130,
                    start: 128,
                    expected: 16,
                    found: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = decode_npy::<i64>(&b[..50], "t.npy").unwrap_err();
        assert!(
            matches!(e, DataError::ShortHeader { needed: 128, .. }),
            "{e}"
        );
        let e = decode_npy::<i64>(&b[..4], "t.npy").unwrap_err();
        assert!(
            matches!(e, DataError::ShortHeader { needed: 10, .. }),
            "{e}"
        );
        let e = decode_npy::<i64>(b"PK\x03\x04 not npy", "t.npz").unwrap_err();
        assert!(matches!(e, DataError::BadMagic { offset: 0, .. }), "{e}");
        let mut v = b.clone();
        v[6] = 9;
        assert!(decode_npy::<i64>(&v, "t")
            .unwrap_err()
            .to_string()
            .contains("version 9.0"));
        let mut v = b.clone();
        v.push(0);
        assert!(matches!(
            decode_npy::<i64>(&v, "t"),
            Err(DataError::TrailingData { extra: 1, .. })
        ));
        let e = decode_npy::<f32>(&b, "t.npy").unwrap_err();
        assert!(
            e.to_string().contains("<i8") && e.to_string().contains("float32"),
            "{e}"
        );
        let mut bools = encode_npy(&Tensor::from(vec![true, false]));
        *bools.last_mut().unwrap() = 2;
        let e = decode_npy::<bool>(&bools, "m.npy").unwrap_err();
        assert!(matches!(e, DataError::BadData { offset: 129, .. }), "{e}");
    }

    #[test]
    fn round_trips_every_type_and_shape() {
        fn rt<T: NpyElement>(t: Tensor<T>) {
            let b = encode_npy(&t);
            assert_eq!(parse_npy_header(&b, "x").unwrap().data_offset % 64, 0);
            assert_eq!(decode_npy::<T>(&b, "x").unwrap(), t);
        }
        rt(Tensor::from_vec(
            vec![1.5f32, -0.0, f32::MAX, f32::MIN_POSITIVE],
            &[2, 1, 2],
        ));
        rt(Tensor::scalar(std::f64::consts::PI));
        rt(Tensor::from(vec![i64::MIN, 0, i64::MAX]));
        rt(Tensor::from(vec![i32::MIN, 7]));
        rt(Tensor::from_vec(vec![0u8, 255, 3, 4, 5, 6], &[3, 2]));
        rt(Tensor::from(vec![true, false, true]));
        rt(Tensor::<f32>::from_vec(vec![], &[0, 3]));
        rt(Tensor::from_vec(
            (0..1_000_000u64).map(|i| i as u8).collect::<Vec<_>>(),
            &[10, 100_000],
        ));
        // A header longer than 65535 bytes needs version 2.0.
        let many = vec![1usize; 30_000];
        let t = Tensor::from_vec(vec![9i64], &many);
        let b = encode_npy(&t);
        assert_eq!(b[6], 2);
        assert_eq!(decode_npy::<i64>(&b, "x").unwrap(), t);
    }

    #[test]
    fn fortran_order_is_reordered() {
        let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        // Column-major [[0, 1, 2], [3, 4, 5]]: 0 3 1 4 2 5.
        for v in [0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let t = decode_npy::<f64>(&b, "f").unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(t.view().is_standard_layout());
    }
}
