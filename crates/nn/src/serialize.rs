//! Weights on disk as safetensors, with PyTorch's `state_dict` names and dtypes, so a file
//! written here loads with `model.load_state_dict(safetensors.torch.load_file(path))` and
//! the reverse. Loading checks every key, shape and dtype before it writes any parameter; an
//! `F32` or `F64` tensor is converted to the model's float type, as `load_state_dict` does.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use antorcha_autograd::tensor::Float;
use antorcha_autograd::{no_grad, Tensor, Var};
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};

use crate::atomic_write::write_atomic;
use crate::error::{NnError, Result, StateDictMismatch};
use crate::module::{walk_state, Buffer, Module, StateEntry};

/// The safetensors dtype of `T` (`F32` or `F64`).
fn dtype_of<T: Float>() -> Dtype {
    if std::mem::size_of::<T>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// One tensor for the safetensors writer, turned into little-endian bytes only when the
/// writer copies it into the file's buffer (so only one tensor's bytes exist at a time).
enum Raw<'a, T: Float> {
    Float(&'a Tensor<T>),
    /// An `int64` buffer (`num_batches_tracked`), written as `I64`.
    Int(&'a Tensor<i64>),
}

impl<T: Float> View for Raw<'_, T> {
    fn dtype(&self) -> Dtype {
        match self {
            Raw::Float(_) => dtype_of::<T>(),
            Raw::Int(_) => Dtype::I64,
        }
    }
    fn shape(&self) -> &[usize] {
        match self {
            Raw::Float(t) => t.shape(),
            Raw::Int(t) => t.shape(),
        }
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(match self {
            Raw::Float(t) => to_bytes(t),
            Raw::Int(t) => t.view().iter().flat_map(|v| v.to_le_bytes()).collect(),
        })
    }
    fn data_len(&self) -> usize {
        match self {
            Raw::Float(t) => t.numel() * std::mem::size_of::<T>(),
            Raw::Int(t) => t.numel() * 8,
        }
    }
}

fn to_bytes<T: Float>(t: &Tensor<T>) -> Vec<u8> {
    let width = std::mem::size_of::<T>();
    let mut bytes = Vec::with_capacity(t.numel() * width);
    // `iter` walks in logical (row-major) order whatever the layout.
    for &x in t.view().iter() {
        if width == 4 {
            bytes.extend_from_slice(&(x.as_f64() as f32).to_le_bytes());
        } else {
            bytes.extend_from_slice(&x.as_f64().to_le_bytes());
        }
    }
    bytes
}

/// A stored tensor as `T`: `F32` and `F64` are read and converted as PyTorch's `copy_` does
/// when `load_state_dict` meets another float dtype (f64 to f32 rounds to nearest); any other
/// dtype is the message of a mismatch.
fn decode<T: Float>(
    view: &safetensors::tensor::TensorView<'_>,
) -> Result<std::result::Result<Tensor<T>, String>> {
    let (data, shape) = (view.data(), view.shape());
    Ok(match view.dtype() {
        d if d == dtype_of::<T>() => Ok(from_bytes::<T>(data, shape)?),
        Dtype::F32 => Ok(from_bytes::<f32>(data, shape)?.map(|&x| T::cast(f64::from(x)))),
        Dtype::F64 => Ok(from_bytes::<f64>(data, shape)?.map(|&x| T::cast(x))),
        other => Err(dtype_message::<T>(other)),
    })
}

fn from_bytes<T: Float>(bytes: &[u8], shape: &[usize]) -> Result<Tensor<T>> {
    let data: Vec<T> = if std::mem::size_of::<T>() == 4 {
        bytes
            .chunks_exact(4)
            .map(|c| T::cast(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64))
            .collect()
    } else {
        bytes
            .chunks_exact(8)
            .map(|c| T::cast(f64::from_le_bytes(c.try_into().expect("8 bytes"))))
            .collect()
    };
    Ok(Tensor::try_from_vec(data, shape)?)
}

/// Refuses a stored shape PyTorch could not lay out ("Stride calculation overflowed"): the
/// product of its dims, each counted as at least 1 so that a zero dim does not hide huge ones,
/// times the element size must fit in `isize`. (The safetensors reader checks the product with
/// the zeros, which is 0 for such a shape.)
fn check_layout(path: &Path, name: &str, view: &safetensors::tensor::TensorView<'_>) -> Result<()> {
    let width = view.dtype().bitsize().div_ceil(8).max(1);
    let fits = view
        .shape()
        .iter()
        .try_fold(width, |acc, &d| acc.checked_mul(d.max(1)))
        .is_some_and(|n| n <= isize::MAX as usize);
    if fits {
        Ok(())
    } else {
        Err(NnError::Format {
            path: path.to_path_buf(),
            message: format!(
                "tensor \"{name}\" has shape {:?}, whose strides overflow the address space",
                view.shape()
            ),
        })
    }
}

fn format_error(path: &Path, e: SafeTensorError) -> NnError {
    match e {
        SafeTensorError::IoError(source) => NnError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => NnError::Format {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    }
}

/// Writes `tensors` to `path` as safetensors (metadata `{"format": "pt"}`, as
/// `safetensors.torch.save_file` writes). The file appears whole or not at all
/// ([`write_atomic`]): it is written beside `path`, fsynced and renamed over it, with the
/// permissions `File::create` would give it; if the write fails, what was at `path` stays.
pub fn write_safetensors<T: Float>(
    tensors: &[(String, Tensor<T>)],
    path: impl AsRef<Path>,
) -> Result<()> {
    write_with_ints(tensors, &HashMap::new(), path.as_ref())
}

/// `write_safetensors` where the keys in `ints` are written from those `int64` values (as
/// `I64`) instead of their entry in `tensors`.
fn write_with_ints<T: Float>(
    tensors: &[(String, Tensor<T>)],
    ints: &HashMap<String, Tensor<i64>>,
    path: &Path,
) -> Result<()> {
    let mut seen = HashSet::new();
    for (name, _) in tensors {
        if !seen.insert(name.as_str()) {
            return Err(NnError::invalid(
                "write_safetensors",
                format!("the key \"{name}\" appears twice"),
            ));
        }
    }
    let raw = tensors.iter().map(|(name, t)| {
        let raw = match ints.get(name) {
            Some(i) => Raw::Int(i),
            None => Raw::Float(t),
        };
        (name.clone(), raw)
    });
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = safetensors::serialize(raw, Some(metadata)).map_err(|e| format_error(path, e))?;
    write_atomic(path, &bytes)
}

/// Reads every tensor of a safetensors file, sorted by name, as `T` (an `F32` or `F64` tensor
/// is converted; another dtype is an error). A file that is not valid safetensors gives an
/// error naming it, never a panic.
pub fn read_safetensors<T: Float>(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor<T>)>> {
    let path = path.as_ref();
    decode_safetensors(&read_file(path)?, path)
}

/// [`read_safetensors`] for a file's bytes already in memory (like `safetensors.torch.load`);
/// `path` only names the file in errors.
pub fn decode_safetensors<T: Float>(
    bytes: &[u8],
    path: impl AsRef<Path>,
) -> Result<Vec<(String, Tensor<T>)>> {
    let path = path.as_ref();
    let st = SafeTensors::deserialize(bytes).map_err(|e| format_error(path, e))?;
    let mut out = Vec::with_capacity(st.len());
    let mut wrong = StateDictMismatch {
        source: Some(path.to_path_buf()),
        ..Default::default()
    };
    for (name, view) in st.iter() {
        check_layout(path, name, &view)?;
        match decode::<T>(&view)? {
            Ok(t) => out.push((name.to_string(), t)),
            Err(message) => wrong.mismatched.push((name.to_string(), message)),
        }
    }
    if !wrong.is_empty() {
        wrong.mismatched.sort();
        return Err(NnError::StateDict(wrong));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn dtype_message<T: Float>(found: Dtype) -> String {
    format!(
        "dtype mismatch: the checkpoint holds {found:?}, the parameter is {} ({:?})",
        T::DTYPE,
        dtype_of::<T>()
    )
}

/// Saves `module`'s `state_dict` to `path` as safetensors, with PyTorch's names
/// (`0.weight`, `fc1.bias`, `bn.running_mean`) and dtype (`F32` for `f32` models, `F64` for
/// `f64`, `I64` for `int64` buffers such as `num_batches_tracked`), so
/// `model.load_state_dict(safetensors.torch.load_file(path))` reads it in PyTorch. The file
/// is written atomically, as by [`write_safetensors`].
///
/// ```
/// use antorcha_nn::{load_safetensors, save_safetensors, Linear, Module};
/// let path = std::env::temp_dir().join(format!("antorcha_doc_{}.safetensors", std::process::id()));
/// let a: Linear = Linear::new(3, 2);
/// save_safetensors(&a, &path).unwrap();
/// let b: Linear = Linear::new(3, 2);
/// load_safetensors(&b, &path).unwrap();
/// assert_eq!(a.weight().to_vec(), b.weight().to_vec());
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_safetensors<T: Float, M: Module<T> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let mut ints = HashMap::new();
    walk_state(module, "", &mut |name, e| {
        if let StateEntry::Buffer(b) = e {
            if let Some(t) = b.get_int64() {
                ints.insert(name, t);
            }
        }
    });
    write_with_ints(&module.state_dict(), &ints, path.as_ref())
}

/// Loads a safetensors file into `module`'s parameters and buffers by name, like
/// `model.load_state_dict(load_file(path), strict=True)`. Every key, shape and dtype is
/// checked first: missing or unexpected keys, wrong shapes and dtypes that are not a float
/// are one error listing them all, and then no parameter has changed. An `F64` file loads into
/// an `f32` model (and the reverse) converted, as PyTorch's `load_state_dict` does; an `int64`
/// buffer (`num_batches_tracked`) takes an `I64` tensor exactly.
pub fn load_safetensors<T: Float, M: Module<T> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    load_safetensors_bytes(module, &read_file(path)?, path)
}

/// [`load_safetensors`] from a file's bytes already in memory; `path` only names the file in
/// errors. The same checks: on any error no parameter has changed.
pub fn load_safetensors_bytes<T: Float, M: Module<T> + ?Sized>(
    module: &M,
    bytes: &[u8],
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let st = SafeTensors::deserialize(bytes).map_err(|e| format_error(path, e))?;
    let wanted: HashSet<String> = module
        .state_dict_shapes()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let int_names = int64_buffers(module);
    let mut ints = HashMap::new();
    let mut dict = HashMap::with_capacity(st.len());
    let mut mismatch = StateDictMismatch {
        source: Some(path.to_path_buf()),
        ..Default::default()
    };
    for (name, view) in st.iter() {
        check_layout(path, name, &view)?;
        if !wanted.contains(name) {
            // Reported as unexpected by `apply_state_dict`; its dtype does not matter.
            dict.insert(name.to_string(), Tensor::zeros(&[0]));
            continue;
        }
        if int_names.contains(name) && view.dtype() == Dtype::I64 {
            let values = view
                .data()
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            let t = Tensor::try_from_vec(values, view.shape())?;
            dict.insert(name.to_string(), t.map(|&v| T::cast(v as f64)));
            ints.insert(name.to_string(), t);
            continue;
        }
        match decode::<T>(&view)? {
            Ok(t) => {
                dict.insert(name.to_string(), t);
            }
            Err(message) => mismatch.mismatched.push((name.to_string(), message)),
        }
    }
    apply_state_dict_with_ints(module, &dict, &ints, mismatch)
}

/// The names of the module's `int64` buffers (`bn.num_batches_tracked`).
fn int64_buffers<T: Float, M: Module<T> + ?Sized>(module: &M) -> HashSet<String> {
    let mut out = HashSet::new();
    walk_state(module, "", &mut |name, e| {
        if matches!(e, StateEntry::Buffer(b) if b.is_int64()) {
            out.insert(name);
        }
    });
    out
}

/// Checks `dict` against `module` (keys both ways, shapes) on top of the problems already in
/// `mismatch` (whose keys count as present), and only if nothing is wrong writes every
/// parameter.
pub(crate) fn apply_state_dict<T: Float, M: Module<T> + ?Sized>(
    module: &M,
    dict: &HashMap<String, Tensor<T>>,
    mismatch: StateDictMismatch,
) -> Result<()> {
    apply_state_dict_with_ints(module, dict, &HashMap::new(), mismatch)
}

/// A parameter or a buffer to write.
enum Target<T: Float> {
    Param(Var<T>),
    Buffer(Buffer<T>),
}

/// [`apply_state_dict`] where the `int64` buffers named in `ints` take those exact values
/// (their entries in `dict` are used for the checks).
fn apply_state_dict_with_ints<T: Float, M: Module<T> + ?Sized>(
    module: &M,
    dict: &HashMap<String, Tensor<T>>,
    ints: &HashMap<String, Tensor<i64>>,
    mut mismatch: StateDictMismatch,
) -> Result<()> {
    let mut params: Vec<(String, Vec<usize>, Target<T>)> = Vec::new();
    walk_state(module, "", &mut |name, e| {
        let shape = e.shape();
        params.push(match e {
            StateEntry::Param(p) => (name, shape, Target::Param(p.clone())),
            StateEntry::Buffer(b) => (name, shape, Target::Buffer(b.clone())),
        });
    });
    let already: HashSet<String> = mismatch.mismatched.iter().map(|(k, _)| k.clone()).collect();
    let names: HashSet<&str> = params.iter().map(|(k, _, _)| k.as_str()).collect();
    for (name, shape, _) in &params {
        match dict.get(name) {
            None if already.contains(name) => {}
            None => mismatch.missing.push(name.clone()),
            Some(t) => {
                if t.shape() != shape.as_slice() {
                    mismatch.mismatched.push((
                        name.clone(),
                        format!(
                            "size mismatch: copying a param with shape {:?} from checkpoint, the shape in current model is {:?}",
                            t.shape(),
                            shape
                        ),
                    ));
                }
            }
        }
    }
    let mut unexpected: Vec<String> = dict
        .keys()
        .filter(|k| !names.contains(k.as_str()))
        .cloned()
        .collect();
    unexpected.sort();
    mismatch.unexpected = unexpected;
    if !mismatch.is_empty() {
        mismatch.mismatched.sort();
        return Err(NnError::StateDict(mismatch));
    }
    let _guard = no_grad();
    for (name, _, target) in &params {
        let value = dict[name].clone();
        match target {
            Target::Param(p) => p.update_(|t| *t = value)?,
            Target::Buffer(b) => match ints.get(name) {
                Some(i) => b.set_int64(i.clone()),
                None => b.set(value),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_in_both_widths() {
        let t = Tensor::from_vec(vec![1.5f32, -0.0, f32::MAX, 1e-45], &[2, 2]);
        assert_eq!(
            from_bytes::<f32>(&to_bytes(&t), &[2, 2]).unwrap().to_vec(),
            t.to_vec()
        );
        let d = Tensor::from_vec(vec![0.1f64, -2.5, f64::MIN_POSITIVE], &[3]);
        assert_eq!(
            from_bytes::<f64>(&to_bytes(&d), &[3]).unwrap().to_vec(),
            d.to_vec()
        );
        // A transposed (strided) tensor is written in logical order.
        let m = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).t();
        assert_eq!(
            from_bytes::<f32>(&to_bytes(&m), &[3, 2]).unwrap().to_vec(),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
        assert_eq!(dtype_of::<f32>(), Dtype::F32);
        assert_eq!(dtype_of::<f64>(), Dtype::F64);
    }

    #[test]
    fn mismatch_message_lists_everything() {
        let m = StateDictMismatch {
            source: Some("w.safetensors".into()),
            missing: vec!["a.weight".into()],
            unexpected: vec!["b".into(), "c".into()],
            mismatched: vec![("d".into(), "size mismatch: x".into())],
        };
        assert_eq!(
            NnError::StateDict(m).to_string(),
            "error(s) in loading state_dict from w.safetensors (nothing was loaded):\n    Missing key(s) in state_dict: \"a.weight\".\n    Unexpected key(s) in state_dict: \"b\", \"c\".\n    d: size mismatch: x."
        );
    }
}
