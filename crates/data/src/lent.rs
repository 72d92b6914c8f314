//! A value lent to one caller at a time, whose methods run with no lock held: the loader's
//! batcher, whose `batches()` and `len()` may be user code (a custom `Batcher`).

use std::sync::{Condvar, Mutex};
use std::thread::{self, ThreadId};

use crate::sampler::lock;

pub(crate) struct Lent<T: ?Sized> {
    slot: Mutex<Slot<T>>,
    returned: Condvar,
}

struct Slot<T: ?Sized> {
    value: Option<Box<T>>,
    holder: Option<ThreadId>,
}

impl<T: ?Sized> Lent<T> {
    pub(crate) fn new(value: Box<T>) -> Self {
        Lent {
            slot: Mutex::new(Slot {
                value: Some(value),
                holder: None,
            }),
            returned: Condvar::new(),
        }
    }

    /// Runs `f` on the value, waiting while another thread has it; the lock is held only to
    /// take the value and to give it back (even if `f` panics).
    ///
    /// # Panics
    /// If called from within `f` on the same thread (a batcher using its own loader), which
    /// would otherwise wait forever.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let value = {
            let mut slot = lock(&self.slot);
            loop {
                if let Some(v) = slot.value.take() {
                    slot.holder = Some(thread::current().id());
                    break v;
                }
                assert!(
                    slot.holder != Some(thread::current().id()),
                    "DataLoader: a Batcher's method used its own loader (len or iter), which would wait for itself forever"
                );
                slot = self.returned.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
        };
        let mut back = GiveBack {
            lent: self,
            value: Some(value),
        };
        f(back.value.as_deref_mut().expect("held until dropped"))
    }

    /// `f` on the value if no one has it now (no waiting), else `None`.
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        lock(&self.slot).value.as_ref()?;
        Some(self.with(f))
    }
}

/// Returns the value to its slot when dropped, so a panicking `f` loses nothing.
struct GiveBack<'a, T: ?Sized> {
    lent: &'a Lent<T>,
    value: Option<Box<T>>,
}

impl<T: ?Sized> Drop for GiveBack<'_, T> {
    fn drop(&mut self) {
        let mut slot = lock(&self.lent.slot);
        slot.value = self.value.take();
        slot.holder = None;
        drop(slot);
        self.lent.returned.notify_all();
    }
}
