//! No lock is held while user code runs, and no two data locks are taken in an order that can
//! deadlock. Each test runs in a thread with a generous watchdog: a deadlock fails the test
//! instead of hanging the suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use antorcha_autograd::{no_grad, AutogradError, Var};
use antorcha_tensor::Tensor;

/// Runs `f` on a new thread and fails if it does not finish within two minutes.
fn finishes(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, wait) = mpsc::channel();
    let worker = thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match wait.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish: deadlock"),
    }
}

#[test]
fn a_hook_may_register_another_hook_on_the_same_var() {
    finishes("a hook registering a hook", || {
        let x = Var::from_vec(vec![1.0f64, 2.0], &[2]).requires_grad();
        let y = (&x * &x).sum();
        let calls = Arc::new(AtomicUsize::new(0));
        let (x2, c) = (x.clone(), calls.clone());
        x.register_hook(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            x2.register_hook(move |_| {
                c.fetch_add(100, Ordering::SeqCst);
                None
            });
            // Reading the var (and its gradient) from inside a hook is fine too.
            assert_eq!(x2.shape(), vec![2]);
            let _ = x2.grad();
            None
        });
        y.backward().unwrap();
        // The hook registered during backward runs from the next backward on, as in PyTorch.
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0]);
        (&x * &x).sum().backward().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 102);
    });
}

#[test]
fn an_update_closure_may_read_vars() {
    finishes("update_ reading its own var", || {
        let w = Var::from_vec(vec![1.0f64, 2.0], &[2]).requires_grad();
        let other = Var::from_vec(vec![10.0f64, 20.0], &[2]);
        let _guard = no_grad();
        w.update_(|t| *t = &*t + &w.data() + other.data()).unwrap();
        assert_eq!(w.to_vec(), vec![12.0, 24.0]);
        assert_eq!(w.version(), 1);
        let e = w
            .update_(|t| *t = Tensor::zeros(&[3]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("update_") && e.contains("[3]"), "{e}");
        assert_eq!(w.to_vec(), vec![12.0, 24.0]);
    });
}

#[test]
fn trainers_and_in_place_updaters_share_parameters_without_deadlock() {
    // 4 threads run forward/backward on two shared parameters while 2 threads update both in
    // place under `no_grad`, in opposite orders: with one var's lock held while taking the
    // other's (std's RwLock queues readers behind a waiting writer) this deadlocked.
    finishes("4 trainers and 2 updaters", || {
        let w = Var::from_vec(vec![0.5f64; 16 * 8], &[16, 8]).requires_grad();
        let b = Var::from_vec(vec![0.1f64; 8], &[8]).requires_grad();
        let mut threads = Vec::new();
        for k in 0..4 {
            let (w, b) = (w.clone(), b.clone());
            threads.push(thread::spawn(move || {
                let x = Var::from_vec(vec![k as f64 * 0.01; 4 * 16], &[4, 16]);
                for _ in 0..300 {
                    // `w * b` reads w then b, `b * w` b then w.
                    let y = &(&x.matmul(&w) + &b) * &b;
                    let loss = (&(&w * &b) + &(&b * &w)).sum() + y.sum();
                    // An update between forward and backward is caught, as in PyTorch.
                    match loss.backward() {
                        Ok(()) | Err(AutogradError::SavedValueModified { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                    assert!(loss.item().is_finite());
                }
            }));
        }
        for k in 0..2 {
            let (w, b) = (w.clone(), b.clone());
            threads.push(thread::spawn(move || {
                let _guard = no_grad();
                let (first, second) = if k == 0 { (&w, &b) } else { (&b, &w) };
                for _ in 0..300 {
                    first.mul_(&Tensor::scalar(0.999)).unwrap();
                    second.update_(|t| *t = &*t * 0.999).unwrap();
                    first.zero_grad();
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(w.version() + b.version(), 1200);
    });
}

#[test]
fn views_taken_and_written_while_the_base_is_updated_stay_consistent() {
    // Views are made, read and written on 2 threads while 2 others add to the base, directly
    // (in its own tensor while no view lives, into its layout otherwise) or through a view:
    // every read sees whole values, no write is lost, and nothing deadlocks.
    finishes("view makers and updaters", || {
        let w = Var::from_vec(vec![0.0f64; 6 * 4], &[6, 4]);
        let writes = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for k in 0..4 {
            let (w, writes) = (w.clone(), writes.clone());
            threads.push(thread::spawn(move || {
                let _guard = no_grad();
                for i in 0..400 {
                    if k < 2 {
                        let v = w.t().narrow(0, k as isize, 2);
                        let col = v.to_vec();
                        // Every write adds 1 to all of w, so each read is constant.
                        assert!(col.iter().all(|&c| c == col[0]), "{col:?}");
                        v.add_(&Tensor::scalar(0.0)).unwrap();
                    } else if i % 2 == 0 {
                        w.view(&[24]).add_(&Tensor::scalar(1.0)).unwrap();
                        writes.fetch_add(1, Ordering::Relaxed);
                    } else {
                        w.add_(&Tensor::scalar(1.0)).unwrap();
                        writes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        let n = writes.load(Ordering::Relaxed) as f64;
        assert_eq!(w.to_vec(), vec![n; 24], "no write lost");
        assert_eq!(w.version(), 1600);
    });
}
