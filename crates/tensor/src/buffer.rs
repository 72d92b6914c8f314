//! A per-thread cache of freed tensor buffers, so a training loop that makes tensors of the same
//! sizes every step reuses last step's memory instead of asking the OS for fresh pages.
//!
//! The C allocator hands a large freed block back to the OS (unmapped, or trimmed off the top of
//! the heap), and the next allocation of that size page-faults and zeroes every page again: on
//! W5 (a small CNN) that was a fifth of each step. Here a tensor's storage, when its last owner
//! drops it, keeps its buffer on this thread's free list if the buffer is large (at least
//! 1 MiB), not huge (at most 64 MiB), of a size [`with_capacity`] was asked for on this thread,
//! and the list has room (128 MiB in all, the buffers put longest ago dropped first);
//! [`with_capacity`] takes a buffer of exactly that capacity back before allocating. Small buffers never touch the cache: the C allocator keeps those itself.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

/// Buffers below this many bytes are left to the C allocator (caching the 64 KiB-1 MiB ones of
/// an MLP step, W2, cost it 8%: glibc serves those well itself).
const MIN_BYTES: usize = 1 << 20;
/// Buffers above this many bytes are freed (a one-off giant is not kept alive).
const MAX_BYTES: usize = 64 << 20;
/// At most this many bytes wait on one thread's free list.
const CAP_BYTES: usize = 128 << 20;

/// A kept buffer: the tick it was put at, its size in bytes, and the `Vec<T>` (of length 0).
type Kept = (u64, usize, Box<dyn Any>);

#[derive(Default)]
struct FreeList {
    /// Buffers by element type and capacity, oldest first.
    buffers: HashMap<(TypeId, usize), Vec<Kept>>,
    /// The element types and capacities [`with_capacity`] was asked for on this thread: only
    /// those are kept. A buffer of a size nobody asks the cache for (one a kernel allocated
    /// itself) would wait unused until evicted, and while large blocks never come back to the
    /// C allocator it keeps serving its own large blocks from fresh, zeroed pages.
    wanted: HashSet<(TypeId, usize)>,
    bytes: usize,
    tick: u64,
}

/// Sizes asked for that [`FreeList::wanted`] remembers at most (then it starts over).
const WANTED_SIZES: usize = 1 << 12;

impl FreeList {
    /// Drops the buffer put longest ago; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .buffers
            .iter()
            .filter_map(|(key, list)| list.first().map(|(tick, ..)| (*tick, *key)))
            .min();
        let Some((_, key)) = oldest else {
            return false;
        };
        let list = self.buffers.get_mut(&key).expect("found above");
        let (_, bytes, _) = list.remove(0);
        if list.is_empty() {
            self.buffers.remove(&key);
        }
        self.bytes -= bytes;
        true
    }
}

thread_local! {
    static FREE: RefCell<FreeList> = RefCell::new(FreeList::default());
}

#[inline]
fn cached_size<T>(capacity: usize) -> Option<usize> {
    let bytes = capacity.checked_mul(std::mem::size_of::<T>())?;
    (MIN_BYTES..=MAX_BYTES).contains(&bytes).then_some(bytes)
}

/// An empty vector with room for exactly `n` elements, from this thread's free list when it
/// holds one of that capacity: kernels that build a tensor's elements start from this. Panics
/// like `Vec::with_capacity` when `n` elements do not fit in memory; [`try_with_capacity`]
/// returns `None` instead.
///
/// ```
/// let v: Vec<f32> = antorcha_tensor::buffer::with_capacity(1 << 20);
/// assert_eq!((v.len(), v.capacity()), (0, 1 << 20));
/// ```
#[inline]
pub fn with_capacity<T: 'static>(n: usize) -> Vec<T> {
    match cached_size::<T>(n).and_then(|bytes| reuse(n, bytes)) {
        Some(v) => v,
        None => Vec::with_capacity(n),
    }
}

/// [`with_capacity`], or `None` when the memory cannot be had.
#[inline]
pub fn try_with_capacity<T: 'static>(n: usize) -> Option<Vec<T>> {
    if let Some(v) = cached_size::<T>(n).and_then(|bytes| reuse(n, bytes)) {
        return Some(v);
    }
    if n.saturating_mul(std::mem::size_of::<T>()) < MIN_BYTES {
        // Too small to fail (as every other small allocation): no `try_reserve` growth path.
        return Some(Vec::with_capacity(n));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    Some(v)
}

/// A kept buffer of `n` elements (`bytes` in all), if this thread's free list holds one.
#[inline(never)]
fn reuse<T: 'static>(n: usize, bytes: usize) -> Option<Vec<T>> {
    FREE.try_with(|free| {
        let mut free = free.try_borrow_mut().ok()?;
        let key = (TypeId::of::<T>(), n);
        if free.wanted.len() >= WANTED_SIZES && !free.wanted.contains(&key) {
            free.wanted.clear();
        }
        free.wanted.insert(key);
        let list = free.buffers.get_mut(&key)?;
        // The most recently put buffer: its pages are the likeliest to be in cache.
        let (_, _, v) = list.pop()?;
        if list.is_empty() {
            free.buffers.remove(&key);
        }
        free.bytes -= bytes;
        v.downcast::<Vec<T>>().ok().map(|v| *v)
    })
    .ok()
    .flatten()
}

/// Puts `v`'s memory on this thread's free list, dropping the buffers put longest ago to make
/// room; frees it when it is not worth keeping.
fn give<T: 'static>(mut v: Vec<T>) {
    let Some(bytes) = cached_size::<T>(v.capacity()) else {
        return;
    };
    v.clear();
    let key = (TypeId::of::<T>(), v.capacity());
    // When the thread is ending, or the list is busy, `v` is simply freed.
    let _ = FREE.try_with(move |free| {
        let Ok(mut free) = free.try_borrow_mut() else {
            return;
        };
        if !free.wanted.contains(&key) {
            return;
        }
        while free.bytes + bytes > CAP_BYTES {
            if !free.evict_oldest() {
                return;
            }
        }
        free.bytes += bytes;
        free.tick += 1;
        let tick = free.tick;
        free.buffers
            .entry(key)
            .or_default()
            .push((tick, bytes, Box::new(v)));
    });
}

/// Writes `values` into `slots` in order and returns how many it wrote (the shorter length).
/// Out of line on purpose: as a real function's `&mut` parameter the slots are known not to
/// alias anything the iterator's closures read, so their captured values stay in registers
/// and the loop vectorises. Inlined, or writing through a `Vec`'s pointer as `extend` does,
/// the compiler reloads them for every element and the loop stays scalar.
#[inline(never)]
pub(crate) fn fill<T>(slots: &mut [MaybeUninit<T>], values: impl Iterator<Item = T>) -> usize {
    let mut written = 0;
    for (slot, v) in slots.iter_mut().zip(values) {
        slot.write(v);
        written += 1;
    }
    written
}

/// A tensor's storage: its elements, whose buffer goes back to the free list when the last
/// tensor sharing it is dropped. A single element (a scalar, a loss, a scalar parameter's
/// gradient) is kept inline, in the storage's own allocation: no second allocation.
#[derive(Clone, Debug)]
pub(crate) enum Buffer<T: 'static> {
    Heap(Vec<T>),
    One(T),
}

impl<T: Clone + 'static> Buffer<T> {
    pub(crate) fn new(v: Vec<T>) -> Self {
        Buffer::Heap(v)
    }

    /// The elements, taken out (the buffer is then not cached).
    pub(crate) fn into_vec(mut self) -> Vec<T> {
        match &mut self {
            Buffer::Heap(v) => std::mem::take(v),
            Buffer::One(x) => vec![x.clone()],
        }
    }
}

impl<T: 'static> Drop for Buffer<T> {
    fn drop(&mut self) {
        if let Buffer::Heap(v) = self {
            if cached_size::<T>(v.capacity()).is_some() {
                give(std::mem::take(v));
            }
        }
    }
}

impl<T: 'static> Deref for Buffer<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Buffer::Heap(v) => v,
            Buffer::One(x) => std::slice::from_ref(x),
        }
    }
}

impl<T: 'static> DerefMut for Buffer<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Buffer::Heap(v) => v,
            Buffer::One(x) => std::slice::from_mut(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_large_buffer_is_reused_for_the_same_size_only() {
        let n = MIN_BYTES / 4;
        let mut a: Vec<f32> = with_capacity(n);
        a.extend(std::iter::repeat_n(1.0, n));
        let ptr = a.as_ptr();
        drop(Buffer::new(a));
        // Another type or size does not take it.
        let other: Vec<u32> = with_capacity(n);
        let bigger: Vec<f32> = with_capacity(n + 1);
        assert_ne!(other.as_ptr() as usize, ptr as usize);
        assert_ne!(bigger.as_ptr(), ptr);
        let b: Vec<f32> = with_capacity(n);
        assert_eq!((b.as_ptr(), b.len(), b.capacity()), (ptr, 0, n));
        // Taken once: the next one is fresh.
        let c: Vec<f32> = with_capacity(n);
        assert_ne!(c.as_ptr(), ptr);
    }

    #[test]
    fn a_single_element_is_kept_inline_and_copied_on_write() {
        use crate::Tensor;
        assert!(matches!(Buffer::new(vec![1.0f32]), Buffer::Heap(_)));
        let a = Tensor::full(&[1, 1], 2.0f32);
        let mut b = a.clone();
        assert!(a.ptr_eq(&b));
        b.as_slice_mut()[0] = 3.0;
        assert!(!a.ptr_eq(&b));
        assert_eq!((a.to_vec(), a.shape()), (vec![2.0], &[1, 1][..]));
        assert_eq!(b.into_vec(), vec![3.0]);
        assert_eq!((&Tensor::scalar(4.0f64) * 0.5).item(), 2.0);
    }

    fn kept() -> usize {
        FREE.with(|f| f.borrow().bytes)
    }

    #[test]
    fn small_taken_and_oversized_buffers_are_not_kept() {
        drop(Buffer::new(vec![0.0f64; 16]));
        assert_eq!(kept(), 0);
        drop(Buffer::new(vec![0u8; MAX_BYTES + 1]));
        assert_eq!(kept(), 0);
        let v: Vec<u8> = vec![7; MIN_BYTES];
        let ptr = v.as_ptr();
        let taken = Buffer::new(v).into_vec();
        assert_eq!(taken.as_ptr(), ptr);
        drop(taken);
        assert_eq!(kept(), 0);
        // A size nobody asked the cache for goes back to the C allocator; once asked, kept.
        drop(Buffer::new(vec![7u8; MIN_BYTES]));
        assert_eq!(kept(), 0);
        drop(with_capacity::<u8>(MIN_BYTES));
        drop(Buffer::new(vec![7u8; MIN_BYTES]));
        assert_eq!(kept(), MIN_BYTES);
    }

    #[test]
    fn the_cache_holds_at_most_its_cap_and_keeps_the_newest() {
        let n = MAX_BYTES / 8;
        let count = CAP_BYTES / MAX_BYTES + 2;
        drop(with_capacity::<f64>(n));
        let bufs: Vec<Vec<f64>> = (0..count).map(|_| vec![0.0; n]).collect();
        let ptrs: Vec<*const f64> = bufs.iter().map(|b| b.as_ptr()).collect();
        for b in bufs {
            drop(Buffer::new(b));
        }
        let held = kept();
        assert!(
            (CAP_BYTES - MAX_BYTES..=CAP_BYTES).contains(&held),
            "{held}"
        );
        // The newest comes back first; the oldest were dropped.
        let newest: Vec<f64> = with_capacity(n);
        assert_eq!(newest.as_ptr(), ptrs[count - 1]);
        let mut back = vec![newest];
        while kept() > 0 {
            back.push(with_capacity(n));
        }
        let back: Vec<*const f64> = back.iter().map(|b| b.as_ptr()).collect();
        assert!(!back.contains(&ptrs[0]) && !back.contains(&ptrs[1]));
    }
}
