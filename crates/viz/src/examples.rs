//! The notebook's models and the graphs `cargo xtask graph` draws from them.

use std::fmt;
use std::str::FromStr;

use antorcha_autograd::{Tensor, Var};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::dot::{make_dot, Dot, DotOptions};
use crate::error::{Result, VizError};

/// The notebook's synthetic data: `y = 1 + 2x + 0.1·ε` at 100 points `x ~ U[0, 1)`, shuffled
/// and split 80 / 20 into training and validation sets (each `[n, 1]`).
#[derive(Debug, Clone)]
pub struct LinregData {
    /// Training inputs, `[80, 1]`.
    pub x_train: Tensor<f32>,
    /// Training targets, `[80, 1]`.
    pub y_train: Tensor<f32>,
    /// Validation inputs, `[20, 1]`.
    pub x_val: Tensor<f32>,
    /// Validation targets, `[20, 1]`.
    pub y_val: Tensor<f32>,
}

/// Makes [`LinregData`] from a seeded generator (the values differ from numpy's; the shapes
/// and the line are the notebook's).
///
/// ```
/// let d = antorcha_viz::examples::linreg_data(42);
/// assert_eq!(d.x_train.shape(), &[80, 1]);
/// assert_eq!(d.y_val.shape(), &[20, 1]);
/// ```
pub fn linreg_data(seed: u64) -> LinregData {
    const N: usize = 100;
    const TRAIN: usize = 80;
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<f32> = (0..N).map(|_| rng.random::<f32>()).collect();
    let eps = Tensor::<f32>::randn_with(&[N], &mut rng).to_vec();
    let y: Vec<f32> = x
        .iter()
        .zip(&eps)
        .map(|(x, e)| 1.0 + 2.0 * x + 0.1 * e)
        .collect();
    let mut idx: Vec<usize> = (0..N).collect();
    idx.shuffle(&mut rng);
    let pick = |v: &[f32], ids: &[usize]| {
        Tensor::from_vec(ids.iter().map(|&i| v[i]).collect(), &[ids.len(), 1])
    };
    let (train, val) = idx.split_at(TRAIN);
    LinregData {
        x_train: pick(&x, train),
        y_train: pick(&y, train),
        x_val: pick(&x, val),
        y_val: pick(&y, val),
    }
}

/// Which value of the notebook's model to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphOutput {
    /// `yhat = a + b * x_train`.
    Yhat,
    /// `error = y_train - yhat`.
    Error,
    /// `loss = (error ** 2).mean()`.
    #[default]
    Loss,
}

impl FromStr for GraphOutput {
    type Err = VizError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "yhat" => Ok(GraphOutput::Yhat),
            "error" => Ok(GraphOutput::Error),
            "loss" => Ok(GraphOutput::Loss),
            _ => Err(VizError::Unavailable {
                op: "graph output",
                message: format!("unknown output `{s}`: choose yhat, error or loss"),
            }),
        }
    }
}

impl fmt::Display for GraphOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GraphOutput::Yhat => "yhat",
            GraphOutput::Error => "error",
            GraphOutput::Loss => "loss",
        })
    }
}

/// Which of the notebook's models to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Model {
    /// The linear regression `yhat = a + b x` with `a`, `b` of shape `[1]`.
    #[default]
    Linreg,
}

impl FromStr for Model {
    type Err = VizError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "linreg" => Ok(Model::Linreg),
            _ => Err(VizError::Unavailable {
                op: "graph model",
                message: format!(
                    "unknown model `{s}`: this crate draws linreg (`cargo xtask graph --model mlp` \
                     draws the notebook's MLP, which needs antorcha-nn)"
                ),
            }),
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Linreg => "linreg",
        })
    }
}

/// The notebook's linear-regression graph (Example 3): `a`, `b` `[1]` f32 leaves requiring
/// grad, named `a` and `b`; `yhat = a + b * x_train`; `error = y_train - yhat`;
/// `loss = (error ** 2).mean()`; drawn from the chosen output with `make_dot(…, params={a, b})`.
///
/// ```
/// use antorcha_viz::examples::{linreg_graph, GraphOutput};
/// use antorcha_viz::DotOptions;
/// let dot = linreg_graph(GraphOutput::Loss, &DotOptions::default());
/// let text = dot.to_dot();
/// assert!(text.contains("[label=MeanBackward0]"));
/// assert!(text.contains("[label=\"b\n (1)\" fillcolor=lightblue]"));
/// ```
pub fn linreg_graph(output: GraphOutput, options: &DotOptions) -> Dot {
    let data = linreg_data(42);
    let mut rng = StdRng::seed_from_u64(42);
    let a = Var::new(Tensor::<f32>::randn_with(&[1], &mut rng))
        .requires_grad()
        .named("a");
    let b = Var::new(Tensor::<f32>::randn_with(&[1], &mut rng))
        .requires_grad()
        .named("b");
    let x_train = Var::new(data.x_train);
    let y_train = Var::new(data.y_train);
    let yhat = &a + &b * &x_train;
    let error = &y_train - &yhat;
    let loss = error.powf(2.0).mean();
    let out = match output {
        GraphOutput::Yhat => &yhat,
        GraphOutput::Error => &error,
        GraphOutput::Loss => &loss,
    };
    make_dot(out, &[("a", &a), ("b", &b)], options)
}

/// The graph of `output` of `model`: what `cargo xtask graph` prints.
pub fn model_graph(model: Model, output: GraphOutput, options: &DotOptions) -> Result<Dot> {
    match model {
        Model::Linreg => Ok(linreg_graph(output, options)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_follow_the_line_and_split_80_20() {
        let d = linreg_data(7);
        let (x, y) = (d.x_train.to_vec(), d.y_train.to_vec());
        assert_eq!((x.len(), d.x_val.to_vec().len()), (80, 20));
        for (x, y) in x.iter().zip(&y) {
            assert!((0.0..1.0).contains(x));
            assert!((y - (1.0 + 2.0 * x)).abs() < 0.6);
        }
        assert_eq!(linreg_data(7).x_val.to_vec(), d.x_val.to_vec());
        assert_ne!(linreg_data(8).x_val.to_vec(), d.x_val.to_vec());
    }

    #[test]
    fn names_parse_and_print() {
        for o in [GraphOutput::Yhat, GraphOutput::Error, GraphOutput::Loss] {
            assert_eq!(o.to_string().parse::<GraphOutput>().unwrap(), o);
        }
        assert!("mse".parse::<GraphOutput>().is_err());
        assert_eq!("linreg".parse::<Model>().unwrap(), Model::Linreg);
        assert_eq!(Model::Linreg.to_string(), "linreg");
        let e = "mlp".parse::<Model>().unwrap_err().to_string();
        assert!(
            e.contains("linreg") && e.contains("xtask graph --model mlp"),
            "{e}"
        );
    }

    #[test]
    fn node_counts_of_the_three_outputs() {
        let count = |o| linreg_graph(o, &DotOptions::default()).graph.node_count();
        // output, Add, Acc, a, Mul, Acc, b (+ Sub) (+ Pow, Mean)
        assert_eq!(count(GraphOutput::Yhat), 7);
        assert_eq!(count(GraphOutput::Error), 8);
        assert_eq!(count(GraphOutput::Loss), 10);
    }
}
