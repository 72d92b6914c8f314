//! PyTorch's own checkpoint files: what `torch.save(model.state_dict(), f)` and
//! `torch.save({"model": …, "optimizer": opt.state_dict(), "epoch": n}, f)` write (the zip
//! format of PyTorch >= 1.6), read as `torch.load(f, weights_only=True)` reads them.
//!
//! Only what `weights_only=True` allows is unpickled (plain values, `OrderedDict`, tensors
//! rebuilt from typed storages): any other global or opcode is an error naming it, and nothing
//! in the file is ever run. Every dtype torch saves for weights is read (`float32`, `float64`,
//! `float16`, `bfloat16`, `int64`, `int32`, `int16`, `int8`, `uint8`, `bool`), views into
//! shared storages and non-contiguous strides included. Bad input is an error naming the file
//! and what is wrong, never a panic; memory stays within a small multiple of the file's size.
//!
//! ```no_run
//! use antorcha_nn::pt::{load_pt, read_pt};
//! use antorcha_nn::{Linear, Module, ReLU, Sequential};
//! let model: Sequential = Sequential::new().add(Linear::new(4, 8)).add(ReLU::new()).add(Linear::new(8, 3));
//! // model.load_state_dict(torch.load("checkpoint.pt")["model"])
//! load_pt(&model, "checkpoint.pt")?;
//! let ckpt = read_pt("checkpoint.pt")?;
//! let epoch = ckpt.get("epoch").and_then(|e| e.as_i64());
//! # Ok::<(), antorcha_nn::NnError>(())
//! ```

mod archive;
mod optimizer;
mod pickle;

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use antorcha_autograd::tensor::Float;
use antorcha_autograd::Tensor;

use crate::error::{NnError, Result, StateDictMismatch};
use crate::module::Module;
use crate::serialize::apply_state_dict;

pub use optimizer::{load_pt_optimizer, optimizer_state_from_pt};

use archive::Archive;
use pickle::{Obj, StorageRef, TensorRef};

/// The element type of a stored tensor (`tensor.dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PtDtype {
    /// `torch.float32` (`FloatStorage`).
    Float32,
    /// `torch.float64` (`DoubleStorage`).
    Float64,
    /// `torch.float16` (`HalfStorage`).
    Float16,
    /// `torch.bfloat16` (`BFloat16Storage`).
    BFloat16,
    /// `torch.int64` (`LongStorage`).
    Int64,
    /// `torch.int32` (`IntStorage`).
    Int32,
    /// `torch.int16` (`ShortStorage`).
    Int16,
    /// `torch.int8` (`CharStorage`).
    Int8,
    /// `torch.uint8` (`ByteStorage`).
    UInt8,
    /// `torch.bool` (`BoolStorage`).
    Bool,
}

impl PtDtype {
    fn from_storage(name: &str) -> Option<PtDtype> {
        Some(match name {
            "FloatStorage" => PtDtype::Float32,
            "DoubleStorage" => PtDtype::Float64,
            "HalfStorage" => PtDtype::Float16,
            "BFloat16Storage" => PtDtype::BFloat16,
            "LongStorage" => PtDtype::Int64,
            "IntStorage" => PtDtype::Int32,
            "ShortStorage" => PtDtype::Int16,
            "CharStorage" => PtDtype::Int8,
            "ByteStorage" => PtDtype::UInt8,
            "BoolStorage" => PtDtype::Bool,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            PtDtype::Float64 | PtDtype::Int64 => 8,
            PtDtype::Float32 | PtDtype::Int32 => 4,
            PtDtype::Float16 | PtDtype::BFloat16 | PtDtype::Int16 => 2,
            PtDtype::Int8 | PtDtype::UInt8 | PtDtype::Bool => 1,
        }
    }

    /// PyTorch's name (`"float32"`, `"bfloat16"`, `"int64"`, …).
    pub fn name(self) -> &'static str {
        match self {
            PtDtype::Float32 => "float32",
            PtDtype::Float64 => "float64",
            PtDtype::Float16 => "float16",
            PtDtype::BFloat16 => "bfloat16",
            PtDtype::Int64 => "int64",
            PtDtype::Int32 => "int32",
            PtDtype::Int16 => "int16",
            PtDtype::Int8 => "int8",
            PtDtype::UInt8 => "uint8",
            PtDtype::Bool => "bool",
        }
    }

    /// Whether it is a floating-point dtype (`dtype.is_floating_point`).
    pub fn is_floating_point(self) -> bool {
        matches!(
            self,
            PtDtype::Float32 | PtDtype::Float64 | PtDtype::Float16 | PtDtype::BFloat16
        )
    }
}

/// A tensor's elements in row-major order: floating dtypes widened to `f64` (exact for all
/// four), integers to `i64`.
#[derive(Debug, Clone, PartialEq)]
pub enum PtData {
    /// `float32`, `float64`, `float16`, `bfloat16`.
    Float(Vec<f64>),
    /// `int64`, `int32`, `int16`, `int8`, `uint8`.
    Int(Vec<i64>),
    /// `bool`.
    Bool(Vec<bool>),
}

/// A tensor read from a `.pt` file: its dtype, shape, the strides and storage offset it had in
/// the file, and its elements copied out in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct PtTensor {
    dtype: PtDtype,
    shape: Vec<usize>,
    stride: Vec<usize>,
    storage_offset: usize,
    data: PtData,
}

impl PtTensor {
    /// The dtype it was saved with.
    pub fn dtype(&self) -> PtDtype {
        self.dtype
    }

    /// Its shape (`tensor.shape`).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Its strides in the file (`tensor.stride()`), in elements of its storage.
    pub fn stride(&self) -> &[usize] {
        &self.stride
    }

    /// Its offset into its storage in the file (`tensor.storage_offset()`).
    pub fn storage_offset(&self) -> usize {
        self.storage_offset
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &PtData {
        &self.data
    }

    /// The elements as `f64` in row-major order (integers and booleans converted).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.data {
            PtData::Float(v) => v.clone(),
            PtData::Int(v) => v.iter().map(|&x| x as f64).collect(),
            PtData::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        }
    }

    /// As a float tensor of `T`, converted as `param.copy_(tensor)` converts (float64 to
    /// float32 rounds to nearest; half types widen exactly).
    pub fn to_tensor<T: Float>(&self) -> Tensor<T> {
        let data = self.to_f64_vec().into_iter().map(T::cast).collect();
        Tensor::from_vec(data, &self.shape)
    }

    /// As an `i64` tensor, for the integer and boolean dtypes; `None` for floating ones.
    pub fn to_i64_tensor(&self) -> Option<Tensor<i64>> {
        let data = match &self.data {
            PtData::Float(_) => return None,
            PtData::Int(v) => v.clone(),
            PtData::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
        };
        Some(Tensor::from_vec(data, &self.shape))
    }
}

/// A value of a `.pt` file: what `torch.load(f, weights_only=True)` returns, with dicts
/// (`dict` and `OrderedDict`) as key-value pairs in their order.
#[derive(Debug, Clone, PartialEq)]
pub enum PtValue {
    /// `None`.
    None,
    /// A `bool`.
    Bool(bool),
    /// An `int` (64-bit).
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<PtValue>),
    /// A `list`.
    List(Vec<PtValue>),
    /// A `dict` or `OrderedDict`.
    Dict(Vec<(PtValue, PtValue)>),
    /// A tensor (or a parameter).
    Tensor(PtTensor),
}

impl PtValue {
    /// The value under string key `key` of a dict (`value[key]`).
    pub fn get(&self, key: &str) -> Option<&PtValue> {
        match self {
            PtValue::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, PtValue::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under integer key `key` of a dict (`state[0]`).
    pub fn get_int(&self, key: i64) -> Option<&PtValue> {
        match self {
            PtValue::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, PtValue::Int(i) if *i == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// An `int` (or `bool`) as `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PtValue::Int(i) => Some(*i),
            PtValue::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// A number as `f64` (`float`, `int`, or a one-element tensor).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PtValue::Float(f) => Some(*f),
            PtValue::Int(i) => Some(*i as f64),
            PtValue::Tensor(t) if t.shape.iter().product::<usize>() == 1 => {
                t.to_f64_vec().first().copied()
            }
            _ => None,
        }
    }

    /// A `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PtValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A tensor.
    pub fn as_tensor(&self) -> Option<&PtTensor> {
        match self {
            PtValue::Tensor(t) => Some(t),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            PtValue::None => "None",
            PtValue::Bool(_) => "bool",
            PtValue::Int(_) => "int",
            PtValue::Float(_) => "float",
            PtValue::Str(_) => "str",
            PtValue::Bytes(_) => "bytes",
            PtValue::Tuple(_) => "tuple",
            PtValue::List(_) => "list",
            PtValue::Dict(_) => "dict",
            PtValue::Tensor(_) => "tensor",
        }
    }
}

fn pt_error(path: &Path, message: impl Into<String>) -> NnError {
    NnError::Pt {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a `.pt` file written by `torch.save`, like `torch.load(path, weights_only=True)`.
/// The legacy non-zip format, TorchScript archives, globals other than the ones for tensors
/// and containers, and anything malformed are errors naming the file.
pub fn read_pt(path: impl AsRef<Path>) -> Result<PtValue> {
    let path = path.as_ref();
    let archive = Archive::open(path).map_err(|m| pt_error(path, m))?;
    read_archive(archive, path)
}

/// [`read_pt`] on the bytes of a file already in memory; `name` names it in errors.
pub fn read_pt_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<PtValue> {
    let path = name.as_ref();
    let archive = Archive::new(std::io::Cursor::new(bytes), bytes.len() as u64)
        .map_err(|m| pt_error(path, m))?;
    read_archive(archive, path)
}

fn read_archive<R: std::io::Read + std::io::Seek>(
    mut archive: Archive<R>,
    path: &Path,
) -> Result<PtValue> {
    let pkl = archive.data_pkl().map_err(|m| pt_error(path, m))?;
    let obj = pickle::unpickle(&pkl).map_err(|m| pt_error(path, format!("data.pkl: {m}")))?;
    let mut builder = Builder {
        archive: &mut archive,
        storages: HashMap::new(),
        nodes_left: 2 * pkl.len() + 1024,
        elements_left: 4 * (pkl.len() as u64) + (1 << 24),
    };
    builder.value(&obj, 0).map_err(|m| pt_error(path, m))
}

/// The tensors of a state dict as `T`: the file's top-level dict when its values are tensors,
/// else the one under `"model"`, `"state_dict"` or `"model_state_dict"` (the usual checkpoint
/// layouts), by name in the file's order. Every dtype is converted as `copy_` would.
pub fn state_dict_from_pt<T: Float>(
    value: &PtValue,
) -> std::result::Result<Vec<(String, Tensor<T>)>, String> {
    let dict = find_state_dict(value)?;
    dict.iter()
        .map(|(k, v)| match (k, v) {
            (PtValue::Str(k), PtValue::Tensor(t)) => Ok((k.clone(), t.to_tensor::<T>())),
            (PtValue::Str(k), other) => Err(format!(
                "state dict entry `{k}` is a {}, not a tensor",
                other.kind()
            )),
            (other, _) => Err(format!("a state dict key of type {}", other.kind())),
        })
        .collect()
}

fn is_state_dict(v: &PtValue) -> bool {
    matches!(v, PtValue::Dict(items) if items.iter().all(|(k, v)| matches!((k, v), (PtValue::Str(_), PtValue::Tensor(_)))))
}

fn find_state_dict(value: &PtValue) -> std::result::Result<&[(PtValue, PtValue)], String> {
    let candidates = std::iter::once(Some(value))
        .chain(["model", "state_dict", "model_state_dict"].map(|k| value.get(k)));
    for v in candidates.flatten() {
        if let (true, PtValue::Dict(items)) = (is_state_dict(v), v) {
            return Ok(items);
        }
    }
    let keys: Vec<String> = match value {
        PtValue::Dict(items) => items.iter().map(|(k, _)| format!("{k:?}")).collect(),
        other => {
            return Err(format!(
                "the file holds a {}, not a state dict",
                other.kind()
            ))
        }
    };
    Err(format!(
        "no state dict (a dict of tensors) at the top or under \"model\", \"state_dict\" or \"model_state_dict\"; the top-level keys are {}",
        keys.join(", ")
    ))
}

/// Loads a `.pt` state dict into `module`'s parameters by name, like
/// `model.load_state_dict(torch.load(path), strict=True)` (or `torch.load(path)["model"]` for
/// a checkpoint dict, see [`state_dict_from_pt`]). Every key and shape is checked first:
/// missing or unexpected keys and wrong shapes are one error listing them all, and then no
/// parameter has changed. Tensors of another dtype are converted, as `load_state_dict` does.
pub fn load_pt<T: Float, M: Module<T> + ?Sized>(module: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let value = read_pt(path)?;
    let tensors = state_dict_from_pt::<T>(&value).map_err(|m| pt_error(path, m))?;
    let dict: HashMap<String, Tensor<T>> = tensors.into_iter().collect();
    apply_state_dict(
        module,
        &dict,
        StateDictMismatch {
            source: Some(path.to_path_buf()),
            ..Default::default()
        },
    )
}

/// Turns the unpickled objects into values, reading each storage once.
struct Builder<'a, R> {
    archive: &'a mut Archive<R>,
    /// Each storage read, by key, with the dtype and size it was read as.
    storages: HashMap<String, (PtDtype, usize, Rc<PtData>)>,
    /// Values that may still be made: shared references cannot blow up the result.
    nodes_left: usize,
    /// Tensor elements that may still be copied out (expanded views share in the file).
    elements_left: u64,
}

impl<R: std::io::Read + std::io::Seek> Builder<'_, R> {
    fn value(&mut self, obj: &Obj, depth: usize) -> std::result::Result<PtValue, String> {
        if depth > 200 {
            return Err("values nested more than 200 deep".into());
        }
        self.nodes_left = self
            .nodes_left
            .checked_sub(1)
            .ok_or("the pickle refers to its values more often than its size allows")?;
        Ok(match obj {
            Obj::None => PtValue::None,
            Obj::Bool(b) => PtValue::Bool(*b),
            Obj::Int(i) => PtValue::Int(*i),
            Obj::Float(f) => PtValue::Float(*f),
            Obj::Str(s) => PtValue::Str(s.to_string()),
            Obj::Bytes(b) => PtValue::Bytes(b.to_vec()),
            Obj::Tuple(t) => PtValue::Tuple(self.values(t, depth)?),
            Obj::List(l) => PtValue::List(self.values(&l.borrow(), depth)?),
            Obj::Dict(d) => {
                let d = d.borrow();
                let mut out = Vec::with_capacity(d.items.len());
                for (k, v) in &d.items {
                    out.push((self.value(k, depth + 1)?, self.value(v, depth + 1)?));
                }
                PtValue::Dict(out)
            }
            Obj::Tensor(t) => PtValue::Tensor(self.tensor(t)?),
            Obj::Storage(s) => return Err(format!("a bare storage `{}` outside a tensor", s.key)),
            Obj::Global(g) => return Err(format!("a global ({g:?}) left as a value")),
        })
    }

    fn values(&mut self, items: &[Obj], depth: usize) -> std::result::Result<Vec<PtValue>, String> {
        items.iter().map(|o| self.value(o, depth + 1)).collect()
    }

    fn storage(&mut self, s: &StorageRef) -> std::result::Result<Rc<PtData>, String> {
        if let Some((dtype, numel, d)) = self.storages.get(&s.key) {
            if *dtype != s.dtype || *numel != s.numel {
                return Err(format!(
                    "storage `{}` named as {} elements of {} and as {} of {}",
                    s.key,
                    numel,
                    dtype.name(),
                    s.numel,
                    s.dtype.name()
                ));
            }
            return Ok(Rc::clone(d));
        }
        let nbytes = s
            .numel
            .checked_mul(s.dtype.size())
            .ok_or_else(|| format!("storage `{}` of {} elements overflows", s.key, s.numel))?;
        let bytes = self.archive.storage(&s.key, nbytes)?;
        let data = Rc::new(decode(s.dtype, &bytes[..nbytes]));
        self.storages
            .insert(s.key.clone(), (s.dtype, s.numel, Rc::clone(&data)));
        Ok(data)
    }

    fn tensor(&mut self, t: &TensorRef) -> std::result::Result<PtTensor, String> {
        let storage = self.storage(&t.storage)?;
        let numel = t
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
            .ok_or("a tensor whose size overflows")?;
        self.elements_left = self.elements_left.checked_sub(numel).ok_or_else(|| {
            format!(
                "tensor views of shape {:?} expand to more elements than the file can describe",
                t.shape
            )
        })?;
        let index = strided_indices(t.offset, &t.shape, &t.stride);
        let data = match &*storage {
            PtData::Float(v) => PtData::Float(index.map(|i| v[i]).collect()),
            PtData::Int(v) => PtData::Int(index.map(|i| v[i]).collect()),
            PtData::Bool(v) => PtData::Bool(index.map(|i| v[i]).collect()),
        };
        Ok(PtTensor {
            dtype: t.storage.dtype,
            shape: t.shape.clone(),
            stride: t.stride.clone(),
            storage_offset: t.offset,
            data,
        })
    }
}

/// The storage index of each element of a view, in row-major order (bounds checked by the
/// unpickler against the storage's size).
fn strided_indices<'a>(
    offset: usize,
    shape: &'a [usize],
    stride: &'a [usize],
) -> impl Iterator<Item = usize> + 'a {
    let numel: usize = shape.iter().product();
    let mut pos = vec![0usize; shape.len()];
    let mut current = offset;
    (0..numel).map(move |k| {
        if k > 0 {
            for d in (0..shape.len()).rev() {
                pos[d] += 1;
                current += stride[d];
                if pos[d] < shape[d] {
                    break;
                }
                current -= stride[d] * shape[d];
                pos[d] = 0;
            }
        }
        current
    })
}

/// Little-endian storage bytes as values.
fn decode(dtype: PtDtype, b: &[u8]) -> PtData {
    macro_rules! ints {
        ($t:ty, $n:expr) => {
            PtData::Int(
                b.chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk size")) as i64)
                    .collect(),
            )
        };
    }
    match dtype {
        PtDtype::Float32 => PtData::Float(
            b.chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
        ),
        PtDtype::Float64 => PtData::Float(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        PtDtype::Float16 => PtData::Float(
            b.chunks_exact(2)
                .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        ),
        PtDtype::BFloat16 => PtData::Float(
            b.chunks_exact(2)
                .map(|c| {
                    f64::from(f32::from_bits(
                        u32::from(u16::from_le_bytes([c[0], c[1]])) << 16,
                    ))
                })
                .collect(),
        ),
        PtDtype::Int64 => ints!(i64, 8),
        PtDtype::Int32 => ints!(i32, 4),
        PtDtype::Int16 => ints!(i16, 2),
        PtDtype::Int8 => PtData::Int(b.iter().map(|&x| i64::from(x as i8)).collect()),
        PtDtype::UInt8 => PtData::Int(b.iter().map(|&x| i64::from(x)).collect()),
        PtDtype::Bool => PtData::Bool(b.iter().map(|&x| x != 0).collect()),
    }
}

/// IEEE half precision to `f64` (exact).
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_indices_walk_views_in_row_major_order() {
        // A [3, 4] base transposed: shape [4, 3], strides [1, 4].
        let v: Vec<usize> = strided_indices(0, &[4, 3], &[1, 4]).collect();
        assert_eq!(v, vec![0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
        let v: Vec<usize> = strided_indices(5, &[2, 3], &[4, 1]).collect();
        assert_eq!(v, vec![5, 6, 7, 9, 10, 11]);
        assert_eq!(strided_indices(3, &[], &[]).collect::<Vec<_>>(), vec![3]);
        assert_eq!(strided_indices(0, &[2, 0], &[1, 1]).count(), 0);
        let v: Vec<usize> = strided_indices(1, &[2, 3], &[1, 0]).collect();
        assert_eq!(v, vec![1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn halves_decode_exactly() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xfbff), -65504.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(
            decode(PtDtype::BFloat16, &[0x80, 0x3f]),
            PtData::Float(vec![1.0])
        );
    }
}
