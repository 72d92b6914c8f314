//! The rows of a batch, gathered on both cores when the batch is large enough to pay for it.
//!
//! A batch of a [`TensorDataset`](crate::TensorDataset) is `index_select(0, indices)` on each
//! tensor: random reads of whole rows from the dataset, bound by memory rather than
//! arithmetic. With two threads ([`antorcha_tensor::num_threads`]) and a large batch, the rows
//! are copied into one output buffer in chunks of about 16 KiB that the calling thread and the
//! pool's helper ([`antorcha_tensor::join`]) take in turn, so a helper that is descheduled (a
//! busy machine) holds up at most one chunk, and one that never starts holds up nothing: the
//! caller copies the rest. The result is the tensor `index_select` gives, so batches do not
//! depend on the thread count; it is made entirely by the call that asks for it (no batch is
//! made ahead).

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use antorcha_tensor::{Element, Tensor};

use crate::error::Result;

/// Below this many bytes of output a batch is gathered on one thread: handing work to the
/// helper costs about a microsecond, about what copying 32 KiB takes.
const SPLIT_BYTES: usize = 32 * 1024;

/// The smallest chunk the two threads take in turn.
const CHUNK_BYTES: usize = 16 * 1024;

/// The rows `indices` of `t` along dimension 0, like `t.index_select(0, indices)` (whose
/// error an out-of-range index gets).
pub(crate) fn index_select_rows<T: Element>(t: &Tensor<T>, indices: &[usize]) -> Result<Tensor<T>> {
    let shape = t.shape();
    let (Some(&rows), Some(src)) = (shape.first(), t.as_slice()) else {
        return Ok(t.try_index_select(0, indices)?);
    };
    let row = src.len().checked_div(rows).unwrap_or(0);
    let row_bytes = row.saturating_mul(std::mem::size_of::<T>()).max(1);
    let split = row > 0
        && antorcha_tensor::num_threads() >= 2
        && indices.len() >= 2
        && indices.len().saturating_mul(row_bytes) >= SPLIT_BYTES;
    if !split || indices.iter().any(|&i| i >= rows) {
        return Ok(t.try_index_select(0, indices)?);
    }
    // The output comes from the tensor crate's buffer cache when it is large enough to be kept
    // there (the last batch's buffer, already paged in), and each element is written once, by
    // whichever thread copies its chunk.
    let n = indices.len() * row;
    let mut out: Vec<T> = antorcha_tensor::buffer::with_capacity(n);
    let chunk_rows = CHUNK_BYTES
        .div_ceil(row_bytes)
        .min(indices.len().div_ceil(2));
    let chunks: Vec<Chunk<'_, T>> = indices
        .chunks(chunk_rows)
        .zip(out.spare_capacity_mut()[..n].chunks_mut(chunk_rows * row))
        .map(Mutex::new)
        .collect();
    let next = AtomicUsize::new(0);
    let work = || {
        while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
            let mut chunk = chunk.lock().unwrap_or_else(|e| e.into_inner());
            let (idx, dst) = &mut *chunk;
            copy_rows(src, row, idx, dst);
        }
    };
    antorcha_tensor::join(work, work);
    drop(chunks);
    // SAFETY: `join` returned (a panic in either side is resumed before this line), so both
    // sides ran `work` until every chunk was taken, and each taken chunk was written whole:
    // the chunks cover `out[..n]`.
    unsafe { out.set_len(n) };
    let mut out_shape = shape.to_vec();
    out_shape[0] = indices.len();
    Ok(Tensor::try_from_vec(out, &out_shape)?)
}

/// A chunk of a batch: its row indices and the part of the output they go to.
type Chunk<'a, T> = Mutex<(&'a [usize], &'a mut [MaybeUninit<T>])>;

/// Copies rows `indices` (of `row` elements each) of `src` into `out`, one after another.
fn copy_rows<T: Clone>(src: &[T], row: usize, indices: &[usize], out: &mut [MaybeUninit<T>]) {
    if row == 0 {
        return;
    }
    for (&i, dst) in indices.iter().zip(out.chunks_exact_mut(row)) {
        for (d, s) in dst.iter_mut().zip(&src[i * row..(i + 1) * row]) {
            d.write(s.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path (one thread, two threads, small, large, non-contiguous, bad index) gives what
    /// `index_select` gives.
    #[test]
    fn matches_index_select_at_one_and_two_threads() {
        let before = antorcha_tensor::num_threads();
        let big = Tensor::from_vec((0..500 * 100).map(|v| v as f32).collect(), &[500, 100]);
        let cube = Tensor::from_vec((0..300 * 4 * 9).map(|v| v as i64).collect(), &[300, 4, 9]);
        let small = Tensor::from_vec((0..20).map(|v| v as f64).collect(), &[10, 2]);
        let labels = Tensor::from_vec((0..500).map(|v| v as i64).collect(), &[500]);
        let transposed = big.t();
        let index_sets: Vec<Vec<usize>> = vec![
            vec![],
            vec![3],
            vec![7, 7],
            (0..97).map(|i| (i * 37) % 300).collect(),
            (0..128).rev().collect(),
        ];
        for threads in [1, 2] {
            antorcha_tensor::set_num_threads(threads);
            for idx in &index_sets {
                let want = big.index_select(0, idx);
                let got = index_select_rows(&big, idx).unwrap();
                assert_eq!((got.shape(), got.to_vec()), (want.shape(), want.to_vec()));
                let want = cube.index_select(0, idx);
                let got = index_select_rows(&cube, idx).unwrap();
                assert_eq!((got.shape(), got.to_vec()), (want.shape(), want.to_vec()));
                let want = labels.index_select(0, idx);
                assert_eq!(
                    index_select_rows(&labels, idx).unwrap().to_vec(),
                    want.to_vec()
                );
                let want = transposed.index_select(0, &[1, 0][..]);
                let got = index_select_rows(&transposed, &[1, 0]).unwrap();
                assert_eq!((got.shape(), got.to_vec()), (want.shape(), want.to_vec()));
            }
            let got = index_select_rows(&small, &[9, 0]).unwrap();
            assert_eq!(got.to_vec(), vec![18.0, 19.0, 0.0, 1.0]);
            let e = index_select_rows(&big, &(0..200).map(|i| i * 3).collect::<Vec<_>>());
            let want = big.try_index_select(0, &(0..200).map(|i| i * 3).collect::<Vec<_>>()[..]);
            assert_eq!(
                e.unwrap_err().to_string(),
                crate::DataError::from(want.unwrap_err()).to_string()
            );
        }
        antorcha_tensor::set_num_threads(before);
    }
}
