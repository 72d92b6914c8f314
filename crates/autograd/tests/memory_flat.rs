//! A training loop's graph memory stays flat. The only test in this file (and so in its
//! process), because it reads the process-wide node counter.

use antorcha_autograd::{live_nodes, no_grad, Var};

#[test]
fn training_loop_keeps_the_number_of_live_nodes_flat() {
    let x = Var::from_vec((0..80).map(|i| i as f32 / 80.0).collect(), &[80, 1]);
    let y = Var::new(&(x.data() * 2.0) + 1.0);
    let a = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
    let b = Var::from_vec(vec![0.0f32], &[1]).requires_grad();
    let mut counts = Vec::new();
    let mut total = 0.0f32;
    for step in 0..10_000 {
        let loss = (&y - (&a + &b * &x)).powf(2.0).mean();
        loss.backward().unwrap();
        total += loss.item();
        {
            let _g = no_grad();
            a.sub_(&(a.grad().unwrap() * 0.1)).unwrap();
            b.sub_(&(b.grad().unwrap() * 0.1)).unwrap();
        }
        a.zero_grad();
        b.zero_grad();
        if step % 1000 == 999 {
            counts.push(live_nodes());
        }
    }
    assert!(total.is_finite());
    assert!(
        counts.iter().all(|&c| c == counts[0]),
        "live nodes grew: {counts:?}"
    );
    // While a step's loss lives, its five nodes (Mul, Add, Sub, Pow, Mean) do; then none.
    assert_eq!(counts[0], 5, "nodes alive during a step: {counts:?}");
    assert_eq!(live_nodes(), 0);

    // The counter is kept per thread and summed: a graph made on one thread and dropped on
    // another, or made on a thread that has ended, is still counted right.
    let loss = (&y - (&a + &b * &x)).powf(2.0).mean();
    assert_eq!(live_nodes(), 5);
    std::thread::spawn(move || drop(loss)).join().unwrap();
    assert_eq!(live_nodes(), 0);
    let (a2, b2, x2, y2) = (a.clone(), b.clone(), x.clone(), y.clone());
    let loss = std::thread::spawn(move || (&y2 - (&a2 + &b2 * &x2)).powf(2.0).mean())
        .join()
        .unwrap();
    assert_eq!(live_nodes(), 5, "nodes made by a thread that has ended");
    drop(loss);
    assert_eq!(live_nodes(), 0);
}
