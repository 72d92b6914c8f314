//! Property tests (small inputs): update rules, group splitting, state round trips,
//! clipping and schedulers' recursive versus closed forms.

use antorcha_autograd::{Tensor, Var};
use antorcha_optim::{
    clip_grad_norm_, clip_grad_value_, Adam, AdamOptions, CosineAnnealingLR, ExponentialLR,
    LinearLR, LrScheduler, Optimizer, RMSprop, RmspropOptions, SgdOptions, SGD,
};
use proptest::prelude::*;

fn vals(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-10.0f64..10.0, n)
}

fn leaf(v: &[f64]) -> Var<f64> {
    Var::from_vec(v.to_vec(), &[v.len()]).requires_grad()
}

fn set_grad(p: &Var<f64>, g: &[f64]) {
    p.set_grad(Some(Tensor::from_vec(g.to_vec(), &[g.len()])));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn plain_sgd_is_p_minus_lr_g(p in vals(4), g in vals(4), lr in 0.0f64..1.0) {
        let v = leaf(&p);
        let mut opt = SGD::new(vec![v.clone()], lr).unwrap();
        set_grad(&v, &g);
        opt.step().unwrap();
        let expect: Vec<f64> = p.iter().zip(&g).map(|(p, g)| p + (-lr) * g).collect();
        prop_assert_eq!(v.to_vec(), expect);
    }

    #[test]
    fn two_groups_with_equal_options_equal_one_group(
        p in vals(4), gs in prop::collection::vec(vals(4), 1..4),
        momentum in 0.0f64..0.99, nesterov in any::<bool>(), wd in 0.0f64..0.1,
    ) {
        let o = SgdOptions::new(0.05).momentum(momentum).weight_decay(wd).nesterov(nesterov && momentum > 0.0);
        let whole = leaf(&p);
        let (left, right) = (leaf(&p[..2]), leaf(&p[2..]));
        let mut one = SGD::with_options(vec![whole.clone()], o).unwrap();
        let mut two = SGD::with_options(vec![left.clone()], o).unwrap();
        two.add_param_group(vec![right.clone()], o).unwrap();
        for g in &gs {
            set_grad(&whole, g);
            set_grad(&left, &g[..2]);
            set_grad(&right, &g[2..]);
            one.step().unwrap();
            two.step().unwrap();
        }
        let mut split = left.to_vec();
        split.extend(right.to_vec());
        prop_assert_eq!(whole.to_vec(), split);
    }

    #[test]
    fn adam_first_step_moves_by_lr_against_the_gradient_sign(
        g in prop::collection::vec(prop_oneof![-5.0f64..-0.1, 0.1f64..5.0], 3),
        lr in 0.001f64..0.5,
    ) {
        let v = leaf(&[0.0, 0.0, 0.0]);
        let mut opt = Adam::new(vec![v.clone()], lr).unwrap();
        set_grad(&v, &g);
        opt.step().unwrap();
        for (x, g) in v.to_vec().iter().zip(&g) {
            let expect = -lr * g / (g.abs() + 1e-8);
            prop_assert!((x - expect).abs() <= 1e-12, "{} vs {}", x, expect);
        }
    }

    #[test]
    fn state_round_trip_gives_the_same_next_steps(
        p in vals(3), gs in prop::collection::vec(vals(3), 2..5),
        centered in any::<bool>(), momentum in 0.0f64..0.9,
    ) {
        let o = RmspropOptions::new(0.01).centered(centered).momentum(momentum);
        let a = leaf(&p);
        let mut opt = RMSprop::with_options(vec![a.clone()], o).unwrap();
        set_grad(&a, &gs[0]);
        opt.step().unwrap();
        let b = leaf(&a.to_vec());
        let mut copy = RMSprop::with_options(vec![b.clone()], RmspropOptions::new(0.5)).unwrap();
        copy.load_state(&opt.state()).unwrap();
        prop_assert_eq!(copy.state(), opt.state());
        for g in &gs[1..] {
            set_grad(&a, g);
            set_grad(&b, g);
            opt.step().unwrap();
            copy.step().unwrap();
        }
        prop_assert_eq!(a.to_vec(), b.to_vec());
        prop_assert_eq!(copy.state(), opt.state());
    }

    #[test]
    fn amsgrad_running_max_bounds_the_second_moment(
        gs in prop::collection::vec(vals(2), 1..6),
    ) {
        // AMSGrad's denominator never shrinks: max_exp_avg_sq ≥ exp_avg_sq after every step.
        let v = leaf(&[0.0, 0.0]);
        let mut opt = Adam::with_options(vec![v.clone()], AdamOptions::new(0.1).amsgrad(true)).unwrap();
        for g in &gs {
            set_grad(&v, g);
            opt.step().unwrap();
            let st = opt.state();
            let b = &st.params[0].as_ref().unwrap().buffers;
            for (m, s) in b[2].data.iter().zip(&b[1].data) {
                prop_assert!(m >= s);
            }
        }
    }

    #[test]
    fn clipped_norm_is_at_most_max_norm_and_keeps_direction(
        g1 in vals(3), g2 in vals(2), max_norm in 0.01f64..20.0,
    ) {
        let (a, b) = (leaf(&[0.0; 3]), leaf(&[0.0; 2]));
        set_grad(&a, &g1);
        set_grad(&b, &g2);
        let before: Vec<f64> = g1.iter().chain(&g2).copied().collect();
        let norm = before.iter().map(|x| x * x).sum::<f64>().sqrt();
        let total = clip_grad_norm_([&a, &b], max_norm, 2.0);
        prop_assert!((total - norm).abs() <= 1e-12 * norm.max(1.0));
        let mut after = a.grad().unwrap().to_vec();
        after.extend(b.grad().unwrap().to_vec());
        let new_norm = after.iter().map(|x| x * x).sum::<f64>().sqrt();
        prop_assert!(new_norm <= max_norm * (1.0 + 1e-12), "{} > {}", new_norm, max_norm);
        if norm + 1e-6 <= max_norm {
            prop_assert_eq!(&after, &before);
        }
        let coef = (max_norm / (norm + 1e-6)).min(1.0);
        for (x, y) in after.iter().zip(&before) {
            prop_assert!((x - y * coef).abs() <= 1e-12 * y.abs().max(1.0));
        }
    }

    #[test]
    fn clipped_values_stay_in_range(g in vals(5), clip in 0.0f64..5.0) {
        let a = leaf(&[0.0; 5]);
        set_grad(&a, &g);
        clip_grad_value_([&a], clip);
        for (x, y) in a.grad().unwrap().to_vec().iter().zip(&g) {
            prop_assert!(x.abs() <= clip);
            if y.abs() <= clip {
                prop_assert_eq!(x, y);
            }
        }
    }

    #[test]
    fn recursive_schedules_follow_their_closed_forms(
        base in 0.001f64..1.0, gamma in 0.5f64..1.0, t_max in 1u64..12,
        eta_frac in 0.0f64..0.5, start in 0.05f64..1.0, total in 1u64..10,
    ) {
        let mut opt = SGD::new(vec![leaf(&[0.0])], base).unwrap();
        let mut exp = ExponentialLR::new(&mut opt, gamma).unwrap();
        for e in 0..40 {
            let c = exp.closed_form_lrs(e).unwrap()[0];
            prop_assert!((opt.lr() - c).abs() <= 1e-13 * c, "exp epoch {}", e);
            exp.step(&mut opt, None).unwrap();
        }
        let mut opt = SGD::new(vec![leaf(&[0.0])], base).unwrap();
        let mut cos = CosineAnnealingLR::new(&mut opt, t_max, base * eta_frac).unwrap();
        for e in 0..(3 * t_max as i64 + 2) {
            let c = cos.closed_form_lrs(e).unwrap()[0];
            prop_assert!((opt.lr() - c).abs() <= 1e-9 * base, "cos epoch {}: {} vs {}", e, opt.lr(), c);
            prop_assert!(opt.lr() >= base * eta_frac * (1.0 - 1e-12) && opt.lr() <= base * (1.0 + 1e-12));
            cos.step(&mut opt, None).unwrap();
        }
        let mut opt = SGD::new(vec![leaf(&[0.0])], base).unwrap();
        let mut lin = LinearLR::new(&mut opt, start, 1.0, total).unwrap();
        for e in 0..(total as i64 + 3) {
            let c = lin.closed_form_lrs(e).unwrap()[0];
            prop_assert!((opt.lr() - c).abs() <= 1e-13 * base, "linear epoch {}", e);
            lin.step(&mut opt, None).unwrap();
        }
        prop_assert!((opt.lr() - base).abs() <= 1e-13 * base);
    }
}
