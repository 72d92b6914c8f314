//! Bad configurations are errors at construction (and when adding or changing a group), with
//! PyTorch's wording; nothing is changed by a refused call.

use antorcha_autograd::Var;
use antorcha_optim::{
    Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, AdamWOptions, OptimError, Optimizer,
    RMSprop, RmspropOptions, SgdOptions, SGD,
};

fn p() -> Var<f64> {
    Var::from_vec(vec![1.0, 2.0], &[2]).requires_grad()
}

fn sgd_err(o: SgdOptions) -> String {
    SGD::with_options(vec![p()], o).unwrap_err().to_string()
}

fn adam_err(o: AdamOptions) -> String {
    let adam = Adam::with_options(vec![p()], o).unwrap_err().to_string();
    let w = AdamWOptions {
        lr: o.lr,
        betas: o.betas,
        eps: o.eps,
        weight_decay: o.weight_decay,
        amsgrad: o.amsgrad,
        maximize: o.maximize,
    };
    let adamw = AdamW::with_options(vec![p()], w).unwrap_err().to_string();
    assert_eq!(adam, adamw);
    adam
}

fn rmsprop_err(o: RmspropOptions) -> String {
    RMSprop::with_options(vec![p()], o).unwrap_err().to_string()
}

#[test]
fn sgd_errors() {
    assert_eq!(
        sgd_err(SgdOptions::new(-0.1)),
        "Invalid learning rate: -0.1"
    );
    assert_eq!(
        sgd_err(SgdOptions::new(f64::NAN)),
        "Invalid learning rate: NaN"
    );
    assert_eq!(
        SGD::new(vec![p()], -0.1).unwrap_err().to_string(),
        "Invalid learning rate: -0.1"
    );
    assert_eq!(
        sgd_err(SgdOptions::new(0.1).momentum(-0.9)),
        "Invalid momentum value: -0.9"
    );
    assert_eq!(
        sgd_err(SgdOptions::new(0.1).weight_decay(-0.01)),
        "Invalid weight_decay value: -0.01"
    );
    let e = SGD::with_options(vec![p()], SgdOptions::new(0.1).nesterov(true)).unwrap_err();
    assert!(matches!(e, OptimError::Nesterov { .. }));
    assert!(e
        .to_string()
        .starts_with("Nesterov momentum requires a momentum and zero dampening"));
    let e = sgd_err(
        SgdOptions::new(0.1)
            .momentum(0.9)
            .dampening(0.1)
            .nesterov(true),
    );
    assert!(e.contains("dampening 0.1"), "{e}");
    // the valid corner cases are accepted
    SGD::with_options(vec![p()], SgdOptions::new(0.0)).unwrap();
    SGD::with_options(vec![p()], SgdOptions::new(0.1).momentum(0.9).nesterov(true)).unwrap();
}

#[test]
fn adam_and_adamw_errors() {
    assert_eq!(
        adam_err(AdamOptions::new(-1e-3)),
        "Invalid learning rate: -0.001"
    );
    assert_eq!(
        adam_err(AdamOptions::new(1e-3).eps(-1.0)),
        "Invalid epsilon value: -1.0"
    );
    assert_eq!(
        adam_err(AdamOptions::new(1e-3).betas((1.0, 0.999))),
        "Invalid beta parameter at index 0: 1.0"
    );
    assert_eq!(
        adam_err(AdamOptions::new(1e-3).betas((-0.1, 0.999))),
        "Invalid beta parameter at index 0: -0.1"
    );
    assert_eq!(
        adam_err(AdamOptions::new(1e-3).betas((0.9, 1.0))),
        "Invalid beta parameter at index 1: 1.0"
    );
    assert_eq!(
        adam_err(AdamOptions::new(1e-3).weight_decay(-0.1)),
        "Invalid weight_decay value: -0.1"
    );
    // betas of exactly 0 are fine
    Adam::with_options(vec![p()], AdamOptions::new(1e-3).betas((0.0, 0.0))).unwrap();
}

#[test]
fn rmsprop_and_adagrad_errors() {
    assert_eq!(
        rmsprop_err(RmspropOptions::new(-0.01)),
        "Invalid learning rate: -0.01"
    );
    assert_eq!(
        rmsprop_err(RmspropOptions::new(0.01).eps(-1e-8)),
        "Invalid epsilon value: -1e-8"
    );
    assert_eq!(
        rmsprop_err(RmspropOptions::new(0.01).momentum(-1.0)),
        "Invalid momentum value: -1.0"
    );
    assert_eq!(
        rmsprop_err(RmspropOptions::new(0.01).weight_decay(-1.0)),
        "Invalid weight_decay value: -1.0"
    );
    assert_eq!(
        rmsprop_err(RmspropOptions::new(0.01).alpha(-0.99)),
        "Invalid alpha value: -0.99"
    );
    assert_eq!(
        Adagrad::with_options(vec![p()], AdagradOptions::new(0.1).lr_decay(-0.5))
            .unwrap_err()
            .to_string(),
        "Invalid lr_decay value: -0.5"
    );
    assert_eq!(
        Adagrad::new(vec![p()], -1.0).unwrap_err().to_string(),
        "Invalid learning rate: -1.0"
    );
}

#[test]
fn parameter_lists() {
    assert_eq!(
        Adam::<f32>::new(vec![], 0.1).unwrap_err().to_string(),
        "Adam got an empty parameter list"
    );
    let leaf = p();
    let computed = &leaf * 2.0;
    let e = RMSprop::new(vec![leaf.clone(), computed], 0.1).unwrap_err();
    match e {
        OptimError::NonLeaf { index, grad_fn, .. } => {
            assert_eq!((index, grad_fn), (1, "MulBackward0"))
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        Adagrad::new(vec![leaf.clone(), leaf.clone()], 0.1).unwrap_err(),
        OptimError::DuplicateParam { .. }
    ));
    // a constant (no grad) is accepted and simply never updated
    let c = Var::from_vec(vec![5.0], &[1]);
    let mut opt = SGD::new(vec![leaf.clone(), c.clone()], 0.1).unwrap();
    (&leaf * &leaf).sum().backward().unwrap();
    opt.step().unwrap();
    assert_eq!(c.to_vec(), vec![5.0]);
    assert_eq!(leaf.to_vec(), vec![0.8, 1.6]);
}

#[test]
fn refused_group_changes_change_nothing() {
    let a = p();
    let mut opt = SGD::new(vec![a.clone()], 0.1).unwrap();
    let e = opt
        .add_param_group(vec![p()], SgdOptions::new(-1.0))
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid learning rate: -1.0");
    assert_eq!(opt.num_param_groups(), 1);
    let e = opt
        .add_param_group(vec![a.clone()], SgdOptions::new(1.0))
        .unwrap_err();
    assert!(matches!(e, OptimError::DuplicateParam { .. }));
    assert_eq!(opt.num_param_groups(), 1);
    let e = opt
        .set_group_options(0, SgdOptions::new(0.1).nesterov(true))
        .unwrap_err();
    assert!(matches!(e, OptimError::Nesterov { .. }));
    assert_eq!(*opt.param_groups()[0].options(), SgdOptions::new(0.1));
    opt.set_group_options(0, SgdOptions::new(0.2).momentum(0.5))
        .unwrap();
    assert_eq!(opt.lr(), 0.2);
    // an empty extra group is allowed, as in PyTorch
    opt.add_param_group(vec![], SgdOptions::new(0.3)).unwrap();
    assert_eq!(opt.lrs(), vec![0.2, 0.3]);
}
