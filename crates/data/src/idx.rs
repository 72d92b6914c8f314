//! The IDX file format of MNIST and FashionMNIST (plain or gzip-compressed): a reader that
//! checks every length before trusting it, a writer, and the `FashionMnist` dataset.
//!
//! An IDX file is `0x00 0x00 type ndim`, then `ndim` big-endian `u32` sizes, then the elements
//! in row-major order, big-endian. Type codes: `0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32,
//! `0x0D` f32, `0x0E` f64. Byte offsets in errors count in the decompressed bytes for `.gz`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use antorcha_tensor::{Element, Tensor};

use crate::bounds::shape_bytes;
use crate::error::{DataError, Result};

/// An element type an IDX file can hold and this crate can write.
pub trait IdxElement: Element + Copy {
    /// The IDX type code (third byte of the magic number).
    const CODE: u8;
    /// Bytes per element.
    const SIZE: usize;
    /// Reads one element from `SIZE` big-endian bytes.
    fn from_be(bytes: &[u8]) -> Self;
    /// Appends the element's big-endian bytes.
    fn put_be(self, out: &mut Vec<u8>);
}

macro_rules! idx_element {
    ($($t:ty => $code:literal),*) => {$(
        impl IdxElement for $t {
            const CODE: u8 = $code;
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn from_be(bytes: &[u8]) -> Self {
                <$t>::from_be_bytes(bytes.try_into().expect("caller passes SIZE bytes"))
            }
            #[inline]
            fn put_be(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}
idx_element!(u8 => 0x08, i32 => 0x0C, f32 => 0x0D, f64 => 0x0E);

/// The contents of an IDX file, whatever its element type. `i8` and `i16` files are widened
/// to `i32` (the tensor crate has no narrower signed type).
#[derive(Clone, Debug, PartialEq)]
pub enum IdxTensor {
    /// Type code `0x08`.
    U8(Tensor<u8>),
    /// Type codes `0x09` (i8), `0x0B` (i16) and `0x0C` (i32).
    I32(Tensor<i32>),
    /// Type code `0x0D`.
    F32(Tensor<f32>),
    /// Type code `0x0E`.
    F64(Tensor<f64>),
}

impl IdxTensor {
    /// The shape the header announced.
    pub fn shape(&self) -> &[usize] {
        match self {
            IdxTensor::U8(t) => t.shape(),
            IdxTensor::I32(t) => t.shape(),
            IdxTensor::F32(t) => t.shape(),
            IdxTensor::F64(t) => t.shape(),
        }
    }

    /// The element type's name (`uint8`, `int32`, `float32`, `float64`).
    pub fn dtype(&self) -> &'static str {
        match self {
            IdxTensor::U8(_) => u8::DTYPE,
            IdxTensor::I32(_) => i32::DTYPE,
            IdxTensor::F32(_) => f32::DTYPE,
            IdxTensor::F64(_) => f64::DTYPE,
        }
    }
}

fn type_name(code: u8) -> Option<(&'static str, usize)> {
    Some(match code {
        0x08 => ("uint8", 1),
        0x09 => ("int8", 1),
        0x0B => ("int16", 2),
        0x0C => ("int32", 4),
        0x0D => ("float32", 4),
        0x0E => ("float64", 8),
        _ => return None,
    })
}

/// A parsed IDX header: element type code, dims, where the data starts and how long it is.
struct Header {
    code: u8,
    dims: Vec<usize>,
    data_start: usize,
    data_len: usize,
}

/// Reads the magic number and the dims (all of `bytes` past them is ignored), with every size
/// checked: the data length is computed in checked arithmetic and must be an array PyTorch could
/// lay out (see [`shape_bytes`]).
fn parse_prefix(bytes: &[u8], path: &Path) -> Result<Header> {
    let short = |needed: usize| DataError::ShortHeader {
        path: path.to_path_buf(),
        offset: bytes.len() as u64,
        needed: needed as u64,
        len: bytes.len() as u64,
    };
    if bytes.len() < 4 {
        // Check what is there first, so a wrong file is called wrong rather than short.
        if bytes.iter().take(2).any(|&b| b != 0) {
            return Err(bad_magic(bytes, path, "0x000008xx (IDX)"));
        }
        return Err(short(4));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad_magic(bytes, path, "0x000008xx (IDX)"));
    }
    let code = bytes[2];
    let (_, size) = type_name(code).ok_or_else(|| DataError::BadHeader {
        path: path.to_path_buf(),
        offset: 2,
        message: format!(
            "unknown IDX type code 0x{code:02X} (known: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)"
        ),
    })?;
    let ndim = bytes[3] as usize;
    let data_start = 4 + 4 * ndim;
    if bytes.len() < data_start {
        return Err(short(data_start));
    }
    let dims: Vec<usize> = bytes[4..data_start]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let data_len = shape_bytes(&dims, size).ok_or_else(|| DataError::BadHeader {
        path: path.to_path_buf(),
        offset: 4,
        message: format!(
            "dims {dims:?} of {size}-byte elements overflow the address space (stride calculation overflowed)"
        ),
    })?;
    Ok(Header {
        code,
        dims,
        data_start,
        data_len,
    })
}

/// [`parse_prefix`], then checks that exactly the announced data follow the header.
fn parse_header(bytes: &[u8], path: &Path) -> Result<Header> {
    let h = parse_prefix(bytes, path)?;
    let found = bytes.len() - h.data_start;
    if found < h.data_len {
        return Err(DataError::ShortData {
            path: path.to_path_buf(),
            offset: bytes.len() as u64,
            start: h.data_start as u64,
            expected: h.data_len as u64,
            found: found as u64,
        });
    }
    if found > h.data_len {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            offset: (h.data_start + h.data_len) as u64,
            extra: (found - h.data_len) as u64,
        });
    }
    Ok(h)
}

fn bad_magic(bytes: &[u8], path: &Path, expected: &str) -> DataError {
    let found = bytes
        .iter()
        .take(4)
        .map(|b| format!("{b:02X}"))
        .collect::<String>();
    DataError::BadMagic {
        path: path.to_path_buf(),
        offset: 0,
        found: format!("0x{found}"),
        expected: expected.to_string(),
    }
}

fn convert<T: IdxElement, U: Element>(
    data: &[u8],
    dims: &[usize],
    f: impl Fn(T) -> U,
) -> Result<Tensor<U>> {
    let v: Vec<U> = data
        .chunks_exact(T::SIZE)
        .map(|c| f(T::from_be(c)))
        .collect();
    Ok(Tensor::try_from_vec(v, dims)?)
}

/// Parses the bytes of an IDX file (already decompressed); `path` only names the file in
/// errors. Every length is checked against the header before any element is read.
///
/// ```
/// use antorcha_data::idx::{decode_idx, IdxTensor};
/// let bytes = [0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9];
/// let IdxTensor::U8(t) = decode_idx(&bytes, "labels")? else { panic!("u8 file") };
/// assert_eq!(t.to_vec(), vec![7, 8, 9]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub fn decode_idx(bytes: &[u8], path: impl AsRef<Path>) -> Result<IdxTensor> {
    let h = parse_header(bytes, path.as_ref())?;
    // The data were checked to be in `bytes`, so each vector below is bounded by the file.
    let data = &bytes[h.data_start..h.data_start + h.data_len];
    Ok(match h.code {
        0x08 => IdxTensor::U8(Tensor::try_from_vec(data.to_vec(), &h.dims)?),
        0x09 => IdxTensor::I32(Tensor::try_from_vec(
            data.iter().map(|&b| b as i8 as i32).collect(),
            &h.dims,
        )?),
        0x0B => IdxTensor::I32(Tensor::try_from_vec(
            data.chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]) as i32)
                .collect(),
            &h.dims,
        )?),
        0x0C => IdxTensor::I32(convert::<i32, i32>(data, &h.dims, |x| x)?),
        0x0D => IdxTensor::F32(convert::<f32, f32>(data, &h.dims, |x| x)?),
        0x0E => IdxTensor::F64(convert::<f64, f64>(data, &h.dims, |x| x)?),
        _ => unreachable!("parse_header accepts only known codes"),
    })
}

/// Reads a whole file, gunzipping it when it starts with the gzip magic bytes (see
/// [`inflate_idx`]: a `.gz` file is inflated no further than its IDX header declares).
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    gunzip_if_gz(raw, path)
}

fn gunzip_if_gz(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        inflate_idx(flate2::read::MultiGzDecoder::new(&raw[..]), path)
    } else {
        Ok(raw)
    }
}

/// Parses the bytes of an IDX file as stored on disk, plain or gzip-compressed (detected from
/// its first bytes), as [`read_idx`] does with a file; `path` only names it in errors. A
/// compressed file is inflated no further than its header declares.
pub fn decode_idx_file(bytes: &[u8], path: impl AsRef<Path>) -> Result<IdxTensor> {
    let path = path.as_ref();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        decode_idx(&gunzip_if_gz(bytes.to_vec(), path)?, path)
    } else {
        decode_idx(bytes, path)
    }
}

/// Reads the decompressed bytes of an IDX file from `stream`, never more than its header
/// declares: the magic number and dims first, then at most the declared data plus one byte, so
/// a gzip bomb (a small file whose header announces a few bytes and that inflates to gigabytes)
/// is an error after a few bytes, and memory stays bounded by the declared size. A stream that
/// ends early is returned as it is, for [`decode_idx`] to name what is missing.
pub(crate) fn inflate_idx(mut stream: impl Read, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut fill = |out: &mut Vec<u8>, upto: usize| -> Result<()> {
        let more = upto.saturating_sub(out.len()) as u64;
        (&mut stream)
            .take(more)
            .read_to_end(out)
            .map_err(|e| DataError::io(path, e))?;
        Ok(())
    };
    fill(&mut out, 4)?;
    if out.len() < 4 {
        return Ok(out);
    }
    let header_len = 4 + 4 * out[3] as usize;
    fill(&mut out, header_len)?;
    let h = match parse_prefix(&out, path) {
        Ok(h) => h,
        Err(DataError::ShortHeader { .. }) => return Ok(out),
        Err(e) => return Err(e),
    };
    let end = h.data_start + h.data_len;
    // `data_len` fits in `isize`, so `end + 1` cannot overflow.
    fill(&mut out, end + 1)?;
    if out.len() > end {
        return Err(DataError::BadData {
            path: path.to_path_buf(),
            offset: end as u64,
            message: format!(
                "the decompressed stream goes on past the {} bytes of data that dims {:?} declare \
                 (inflating stopped there)",
                h.data_len, h.dims
            ),
        });
    }
    Ok(out)
}

/// Reads an IDX file, plain or gzip-compressed (detected from its first bytes).
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxTensor> {
    let path = path.as_ref();
    decode_idx(&read_maybe_gz(path)?, path)
}

/// Reads an IDX file of `u8` elements (MNIST's images and labels), or says what it holds.
pub fn read_idx_u8(path: impl AsRef<Path>) -> Result<Tensor<u8>> {
    let path = path.as_ref();
    match read_idx(path)? {
        IdxTensor::U8(t) => Ok(t),
        other => Err(DataError::WrongType {
            path: path.to_path_buf(),
            found: other.dtype().to_string(),
            expected: "uint8".to_string(),
        }),
    }
}

/// The bytes of an IDX file holding `t`.
///
/// Fails when `t` has more than 255 dims or a dim larger than `u32::MAX`, which IDX cannot
/// express.
pub fn encode_idx<T: IdxElement>(t: &Tensor<T>) -> Result<Vec<u8>> {
    if t.ndim() > 255 {
        return Err(DataError::invalid(
            "encode_idx",
            format!("IDX holds at most 255 dims, the tensor has {}", t.ndim()),
        ));
    }
    let mut out = Vec::with_capacity(4 + 4 * t.ndim() + t.numel() * T::SIZE);
    out.extend_from_slice(&[0, 0, T::CODE, t.ndim() as u8]);
    for &d in t.shape() {
        let d = u32::try_from(d).map_err(|_| {
            DataError::invalid(
                "encode_idx",
                format!("dim {d} of shape {:?} exceeds u32::MAX", t.shape()),
            )
        })?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    for &x in t.view().iter() {
        x.put_be(&mut out);
    }
    Ok(out)
}

/// Writes `t` as an IDX file; a path ending in `.gz` is gzip-compressed.
pub fn write_idx<T: IdxElement>(path: impl AsRef<Path>, t: &Tensor<T>) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode_idx(t)?;
    let io = |e| DataError::io(path, e);
    if path.extension().is_some_and(|e| e == "gz") {
        let file = std::fs::File::create(path).map_err(io)?;
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        enc.write_all(&bytes).map_err(io)?;
        enc.finish().map_err(io)?;
        Ok(())
    } else {
        std::fs::write(path, bytes).map_err(io)
    }
}

/// FashionMNIST (or MNIST: same files) read from a folder: images `u8 [N, 28, 28]` and labels
/// `i64 [N]`. No download: the four standard files must be there.
///
/// As a [`Dataset`](crate::Dataset) each item is `(image u8 [H, W], label)`.
#[derive(Clone, Debug)]
pub struct FashionMnist {
    images: Tensor<u8>,
    labels: Tensor<i64>,
}

impl FashionMnist {
    /// The ten class names, in label order.
    pub const CLASSES: [&'static str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];

    /// The file names of the training (`train = true`) or test split: `(images, labels)`.
    pub fn file_names(train: bool) -> (&'static str, &'static str) {
        if train {
            ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
        } else {
            ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        }
    }

    /// Reads the training or test split from `root`, like
    /// `torchvision.datasets.FashionMNIST(root, train=train)` without download. Each file may be
    /// plain or end in `.gz`; torchvision's `root/FashionMNIST/raw/` layout is found too.
    /// A missing file is an error naming the file and the path where it was expected.
    pub fn new(root: impl AsRef<Path>, train: bool) -> Result<Self> {
        let root = root.as_ref();
        let (images, labels) = Self::file_names(train);
        let images = find_file(root, images)?;
        let labels = find_file(root, labels)?;
        Self::from_files(images, labels)
    }

    /// Reads an images file (`u8`, 3 dims, magic `0x00000803`) and a labels file (`u8`,
    /// 1 dim, magic `0x00000801`) with the same number of samples.
    pub fn from_files(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self> {
        let (ip, lp) = (images.as_ref(), labels.as_ref());
        let ib = read_maybe_gz(ip)?;
        check_magic(&ib, ip, 3)?;
        let lb = read_maybe_gz(lp)?;
        check_magic(&lb, lp, 1)?;
        let IdxTensor::U8(images) = decode_idx(&ib, ip)? else {
            unreachable!("magic checked as u8")
        };
        let IdxTensor::U8(labels) = decode_idx(&lb, lp)? else {
            unreachable!("magic checked as u8")
        };
        if images.shape()[0] != labels.shape()[0] {
            return Err(DataError::CountMismatch {
                images_path: ip.to_path_buf(),
                images: images.shape()[0],
                labels_path: lp.to_path_buf(),
                labels: labels.shape()[0],
            });
        }
        let labels = labels.map(|&l| l as i64);
        Ok(FashionMnist { images, labels })
    }

    /// Builds the dataset from tensors already in memory (images `[N, H, W]`, labels `[N]`).
    pub fn from_tensors(images: Tensor<u8>, labels: Tensor<i64>) -> Result<Self> {
        if images.ndim() != 3 || labels.ndim() != 1 || images.shape()[0] != labels.shape()[0] {
            return Err(DataError::invalid(
                "FashionMnist::from_tensors",
                format!(
                    "need images [N, H, W] and labels [N], got {:?} and {:?}",
                    images.shape(),
                    labels.shape()
                ),
            ));
        }
        Ok(FashionMnist { images, labels })
    }

    /// All images, `u8 [N, H, W]`.
    pub fn images(&self) -> &Tensor<u8> {
        &self.images
    }

    /// All labels, `i64 [N]`.
    pub fn labels(&self) -> &Tensor<i64> {
        &self.labels
    }

    /// The images as `f32 [N, 1, H, W]` in `[0, 1]` with the labels, as one
    /// [`TensorDataset`](crate::TensorDataset) whose batches are gathered without per-item work.
    pub fn to_tensor_dataset(&self) -> crate::TensorDataset<(Tensor<f32>, Tensor<i64>)> {
        let s = self.images.shape();
        let x = self.images.map(|&p| p as f32 / 255.0);
        let x = Tensor::from_array(
            x.into_array()
                .into_shape_with_order(antorcha_tensor::ndarray::IxDyn(&[s[0], 1, s[1], s[2]]))
                .expect("same number of elements"),
        );
        crate::TensorDataset::new((x, self.labels.clone()))
            .expect("images and labels share their first dim")
    }
}

impl crate::Dataset for FashionMnist {
    /// `(image u8 [H, W], label)`.
    type Item = (Tensor<u8>, i64);

    fn len(&self) -> usize {
        self.labels.shape()[0]
    }

    fn get(&self, index: usize) -> Result<(Tensor<u8>, i64)> {
        crate::check_index("FashionMnist::get", index, self.len())?;
        let label = self.labels.view()[&[index][..]];
        Ok((self.images.try_select(0, index as isize)?, label))
    }

    /// One `index_select` for the images and one for the labels.
    fn get_batch(&self, indices: &[usize]) -> Result<(Tensor<u8>, Tensor<i64>)> {
        if let Some(&index) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::IndexOutOfRange {
                op: "FashionMnist::get_batch",
                index,
                len: self.len(),
            });
        }
        Ok((
            self.images.try_index_select(0, indices)?,
            self.labels.try_index_select(0, indices)?,
        ))
    }
}

fn check_magic(bytes: &[u8], path: &Path, ndim: u8) -> Result<()> {
    let want = [0u8, 0, 0x08, ndim];
    if bytes.len() >= 4 && bytes[..4] != want {
        let what = if ndim == 3 {
            "u8 images, 3 dims"
        } else {
            "u8 labels, 1 dim"
        };
        return Err(bad_magic(bytes, path, &format!("0x0000080{ndim} ({what})")));
    }
    Ok(())
}

/// Finds `name` or `name.gz` in `root` or in torchvision's `root/FashionMNIST/raw`.
fn find_file(root: &Path, name: &str) -> Result<PathBuf> {
    for dir in [root.to_path_buf(), root.join("FashionMNIST").join("raw")] {
        for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(DataError::MissingFile {
        what: "FashionMnist",
        file: name.to_string(),
        path: root.join(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(code: u8, dims: &[u32]) -> Vec<u8> {
        let mut v = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn decodes_a_hand_made_images_file() {
        let mut b = header(0x08, &[2, 2, 3]);
        b.extend(0..12u8);
        let t = decode_idx(&b, "x").unwrap();
        assert_eq!(t.shape(), &[2, 2, 3]);
        assert_eq!(
            t,
            IdxTensor::U8(Tensor::from_vec((0..12).collect(), &[2, 2, 3]))
        );
    }

    #[test]
    fn decodes_wider_types_big_endian() {
        let mut b = header(0x0B, &[2]);
        b.extend_from_slice(&(-2i16).to_be_bytes());
        b.extend_from_slice(&300i16.to_be_bytes());
        assert_eq!(
            decode_idx(&b, "x").unwrap(),
            IdxTensor::I32(Tensor::from(vec![-2, 300]))
        );
        let mut b = header(0x09, &[1]);
        b.push(0xFF);
        assert_eq!(
            decode_idx(&b, "x").unwrap(),
            IdxTensor::I32(Tensor::from(vec![-1]))
        );
        let mut b = header(0x0D, &[1]);
        b.extend_from_slice(&1.5f32.to_be_bytes());
        assert_eq!(
            decode_idx(&b, "x").unwrap(),
            IdxTensor::F32(Tensor::from(vec![1.5]))
        );
        let t = Tensor::from_vec(vec![0.25f64, -3.0], &[1, 2]);
        let b = encode_idx(&t).unwrap();
        assert_eq!(&b[..4], &[0, 0, 0x0E, 2]);
        assert_eq!(decode_idx(&b, "x").unwrap(), IdxTensor::F64(t));
    }

    #[test]
    fn zero_dims_and_empty_dims() {
        let b = [0, 0, 0x08, 0, 42];
        assert_eq!(
            decode_idx(&b, "s").unwrap(),
            IdxTensor::U8(Tensor::scalar(42))
        );
        let b = header(0x08, &[0, 28, 28]);
        assert_eq!(decode_idx(&b, "e").unwrap().shape(), &[0, 28, 28]);
    }

    #[test]
    fn errors_name_file_and_offset() {
        let e = decode_idx(&[0, 0, 8], "f.idx").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::ShortHeader {
                    offset: 3,
                    needed: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("f.idx"), "{e}");

        let e = decode_idx(&[1, 2, 3, 4, 5], "g").unwrap_err();
        assert!(matches!(e, DataError::BadMagic { offset: 0, .. }), "{e}");
        assert!(e.to_string().contains("0x01020304"), "{e}");

        let e = decode_idx(&[0, 0, 0x07, 1, 0, 0, 0, 1, 5], "h").unwrap_err();
        assert!(matches!(e, DataError::BadHeader { offset: 2, .. }), "{e}");

        let e = decode_idx(&header(0x08, &[2, 3])[..9], "i").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::ShortHeader {
                    needed: 12,
                    len: 9,
                    ..
                }
            ),
            "{e}"
        );

        let mut b = header(0x08, &[2, 3]);
        b.extend([1, 2, 3, 4]);
        let e = decode_idx(&b, "j").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::ShortData {
                    offset: 16,
                    start: 12,
                    expected: 6,
                    found: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("byte offset 16"), "{e}");

        b.extend([5, 6, 7]);
        let e = decode_idx(&b, "k").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::TrailingData {
                    offset: 18,
                    extra: 1,
                    ..
                }
            ),
            "{e}"
        );

        let e = decode_idx(&header(0x0E, &[u32::MAX, u32::MAX, u32::MAX]), "l").unwrap_err();
        assert!(
            matches!(e, DataError::BadHeader { .. } | DataError::ShortData { .. }),
            "{e}"
        );
    }

    #[test]
    fn gz_round_trip_and_fashion_mnist_files() {
        let dir = std::env::temp_dir().join(format!("antorcha-idx-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let images = Tensor::from_vec(
            (0..3 * 28 * 28).map(|i| (i % 251) as u8).collect(),
            &[3, 28, 28],
        );
        let labels = Tensor::from_vec(vec![9u8, 0, 3], &[3]);
        write_idx(dir.join("t10k-images-idx3-ubyte.gz"), &images).unwrap();
        write_idx(dir.join("t10k-labels-idx1-ubyte"), &labels).unwrap();
        let gz = std::fs::read(dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);

        let ds = FashionMnist::new(&dir, false).unwrap();
        assert_eq!(ds.images(), &images);
        assert_eq!(ds.labels().to_vec(), vec![9i64, 0, 3]);
        use crate::Dataset;
        assert_eq!(ds.len(), 3);
        let (img, label) = ds.get(2).unwrap();
        assert_eq!((img.shape(), label), (&[28, 28][..], 3));
        assert_eq!(img.to_vec()[..], images.to_vec()[2 * 784..]);
        let (imgs, labels_b) = ds.get_batch(&[2, 0]).unwrap();
        assert_eq!(
            (imgs.shape(), labels_b.to_vec()),
            (&[2, 28, 28][..], vec![3, 9])
        );
        assert!(matches!(
            ds.get(3),
            Err(DataError::IndexOutOfRange {
                index: 3,
                len: 3,
                ..
            })
        ));
        assert!(ds.get_batch(&[0, 3]).is_err());
        let td = ds.to_tensor_dataset();
        let (x, y) = td.get(0).unwrap();
        assert_eq!((x.shape(), y.item()), (&[1, 28, 28][..], 9));
        assert_eq!(x.to_vec()[5], 5.0 / 255.0);

        // torchvision's layout root/FashionMNIST/raw is found too.
        let tv = dir.join("tv");
        std::fs::create_dir_all(tv.join("FashionMNIST").join("raw")).unwrap();
        for f in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"] {
            std::fs::copy(dir.join(f), tv.join("FashionMNIST").join("raw").join(f)).unwrap();
        }
        assert_eq!(FashionMnist::new(&tv, false).unwrap().len(), 3);

        let e = FashionMnist::new(&dir, true).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, DataError::MissingFile { .. }), "{msg}");
        assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
        assert!(
            msg.contains(&dir.join("train-images-idx3-ubyte").display().to_string()),
            "{msg}"
        );

        // Swapped files: the magic says which is which.
        let e = FashionMnist::from_files(
            dir.join("t10k-labels-idx1-ubyte"),
            dir.join("t10k-images-idx3-ubyte.gz"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("0x00000803"), "{e}");

        // Counts that differ.
        write_idx(
            dir.join("short-labels"),
            &Tensor::from_vec(vec![1u8, 2], &[2]),
        )
        .unwrap();
        let e = FashionMnist::from_files(
            dir.join("t10k-images-idx3-ubyte.gz"),
            dir.join("short-labels"),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("short-labels"), "{e}");

        // A corrupted gzip stream is an I/O error naming the file, not a panic.
        let mut bad = gz.clone();
        let n = bad.len();
        bad.truncate(n / 2);
        std::fs::write(dir.join("bad.gz"), &bad).unwrap();
        let e = read_idx(dir.join("bad.gz")).unwrap_err();
        assert!(
            matches!(e, DataError::Io { .. }) && e.to_string().contains("bad.gz"),
            "{e}"
        );

        let e = read_idx_u8(dir.join("nope")).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A stream that never ends after its header: reading it whole would never finish, so
    /// this test finishing shows the reader stops at the declared size plus one byte.
    #[test]
    fn inflating_stops_after_the_declared_size() {
        let header = header(0x08, &[10]);
        let pulled = std::cell::Cell::new(0usize);
        struct Counting<'a, R>(R, &'a std::cell::Cell<usize>);
        impl<R: Read> Read for Counting<'_, R> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1.set(self.1.get() + n);
                Ok(n)
            }
        }
        let endless = Counting(header.as_slice().chain(std::io::repeat(0)), &pulled);
        let e = inflate_idx(endless, Path::new("bomb.gz")).unwrap_err();
        assert!(
            matches!(e, DataError::BadData { offset: 18, .. }) && e.to_string().contains("bomb.gz"),
            "{e}"
        );
        assert_eq!(pulled.get(), 8 + 10 + 1);

        // Exactly the declared bytes pass; a short stream is left for decode_idx to name.
        let mut ok = header.clone();
        ok.extend(0..10u8);
        assert_eq!(inflate_idx(ok.as_slice(), Path::new("f")).unwrap(), ok);
        assert_eq!(inflate_idx(&ok[..6], Path::new("f")).unwrap(), &ok[..6]);
        assert_eq!(inflate_idx(&ok[..12], Path::new("f")).unwrap(), &ok[..12]);
    }

    #[test]
    fn read_idx_u8_rejects_other_types() {
        let dir = std::env::temp_dir().join(format!("antorcha-idx-unit2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_idx(dir.join("f"), &Tensor::from(vec![1.0f32])).unwrap();
        let e = read_idx_u8(dir.join("f")).unwrap_err();
        assert!(
            matches!(e, DataError::WrongType { .. }) && e.to_string().contains("float32"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
