//! An optimizer's `state_dict()` saved by PyTorch (`{"state": {0: {...}, ...},
//! "param_groups": [{"lr": ..., "params": [0, 1, ...]}, ...]}`) as Antorcha's
//! [`OptimizerState`], so training resumes with the next `step()` PyTorch would take.

use antorcha_autograd::tensor::Float;
use antorcha_optim::{GroupState, Hyper, Optimizer, OptimizerState, ParamState, StateBuffer};

use super::PtValue;
use crate::error::{NnError, Result};

/// Converts a PyTorch optimizer `state_dict` (`torch.load(f)["optimizer"]`) for an optimizer
/// whose current state is `current` (its algorithm, groups and hyper-parameter names):
/// each group's hyper-parameters by PyTorch's names (`betas` a pair;
/// `initial_lr` kept; PyTorch-only switches such as `foreach`, `fused`, `capturable` and
/// `differentiable` ignored), and each parameter's buffers (`momentum_buffer`, `exp_avg`,
/// `exp_avg_sq`, `max_exp_avg_sq`, …) and `step`, matched by PyTorch's parameter ids.
pub fn optimizer_state_from_pt(
    value: &PtValue,
    current: &OptimizerState,
) -> std::result::Result<OptimizerState, String> {
    let groups = match value.get("param_groups") {
        Some(PtValue::List(g)) => g,
        _ => return Err("no \"param_groups\" list: not an optimizer state_dict".into()),
    };
    let state = value
        .get("state")
        .ok_or("no \"state\": not an optimizer state_dict")?;
    if groups.len() != current.groups.len() {
        return Err(format!(
            "the file has {} parameter groups, the optimizer {}",
            groups.len(),
            current.groups.len()
        ));
    }
    let mut out_groups = Vec::with_capacity(groups.len());
    let mut ids = Vec::new();
    for (i, (g, cur)) in groups.iter().zip(&current.groups).enumerate() {
        let params = match g.get("params") {
            Some(PtValue::List(p)) => p,
            _ => return Err(format!("param_groups[{i}] has no \"params\" list")),
        };
        if params.len() != cur.num_params {
            return Err(format!(
                "param_groups[{i}] holds {} parameters, the optimizer's group {}",
                params.len(),
                cur.num_params
            ));
        }
        for p in params {
            ids.push(p.as_i64().ok_or_else(|| {
                format!("param_groups[{i}] has a parameter id that is not an int")
            })?);
        }
        let mut options = Vec::with_capacity(cur.options.len());
        for (name, kind) in &cur.options {
            let v = hyper(g, name, kind).ok_or_else(|| {
                format!(
                    "param_groups[{i}] has no usable \"{name}\" for {}",
                    current.optimizer
                )
            })?;
            options.push((name.clone(), v));
        }
        out_groups.push(GroupState {
            options,
            initial_lr: g.get("initial_lr").and_then(PtValue::as_f64),
            num_params: cur.num_params,
        });
    }
    let params = ids
        .iter()
        .map(|&id| match state.get_int(id) {
            None => Ok(None),
            Some(s) => param_state(s)
                .map(Some)
                .map_err(|m| format!("state[{id}]: {m}")),
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok(OptimizerState {
        optimizer: current.optimizer.clone(),
        groups: out_groups,
        params,
    })
}

/// Hyper-parameter `name` of a saved group, of the same kind as the optimizer's.
fn hyper(group: &PtValue, name: &str, kind: &Hyper) -> Option<Hyper> {
    let v = group.get(name)?;
    match kind {
        Hyper::Bool(_) => match v {
            PtValue::Bool(b) => Some(Hyper::Bool(*b)),
            _ => None,
        },
        Hyper::Float(_) => v.as_f64().map(Hyper::Float),
        Hyper::Pair(..) => match v {
            PtValue::Tuple(b) | PtValue::List(b) if b.len() == 2 => {
                Some(Hyper::Pair(b[0].as_f64()?, b[1].as_f64()?))
            }
            _ => None,
        },
    }
}

/// One parameter's saved state: `step` (a number or a one-element tensor) and its buffers.
fn param_state(s: &PtValue) -> std::result::Result<ParamState, String> {
    let PtValue::Dict(items) = s else {
        return Err("not a dict".into());
    };
    let mut step = 0;
    let mut buffers = Vec::new();
    for (k, v) in items {
        let name = k.as_str().ok_or("a key that is not a string")?;
        match (name, v) {
            ("step", v) => {
                let f = v.as_f64().ok_or("a \"step\" that is not a number")?;
                if !(f >= 0.0 && f.fract() == 0.0 && f < 2f64.powi(53)) {
                    return Err(format!("step {f} is not a count"));
                }
                step = f as u64;
            }
            (_, PtValue::None) => {}
            (_, PtValue::Tensor(t)) => buffers.push(StateBuffer {
                name: name.to_string(),
                shape: t.shape().to_vec(),
                data: t.to_f64_vec(),
            }),
            (_, other) => {
                return Err(format!(
                    "entry \"{name}\" is a {}, not a tensor",
                    other.kind()
                ))
            }
        }
    }
    Ok(ParamState { step, buffers })
}

/// Restores `optimizer` from the optimizer `state_dict` in `value` (e.g.
/// `read_pt(path)?.get("optimizer")`), like `optimizer.load_state_dict(ckpt["optimizer"])`:
/// the next `step()` then equals PyTorch's. Errors (nothing changed) if the state does not fit
/// the optimizer's groups, parameters or buffers.
pub fn load_pt_optimizer<T: Float, O: Optimizer<T> + ?Sized>(
    optimizer: &mut O,
    value: &PtValue,
) -> Result<()> {
    let state = optimizer_state_from_pt(value, &optimizer.state()).map_err(|message| {
        NnError::InvalidArgument {
            op: "load_pt_optimizer",
            message,
        }
    })?;
    optimizer
        .load_state(&state)
        .map_err(|e| NnError::InvalidArgument {
            op: "load_pt_optimizer",
            message: e.to_string(),
        })
}
