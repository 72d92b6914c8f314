//! `antorcha-viz`: pictures of Antorcha's autograd graphs and of training runs.
//!
//! - [`make_dot`] is torchviz's `make_dot`: the backward graph of a [`Var`] as a public
//!   `petgraph` graph ([`Dot::graph`]), written as DOT with torchviz's conventions
//!   ([`Dot::to_dot`]), as SVG with Antorcha's own layout ([`Dot::to_svg`], no Graphviz needed)
//!   or through Graphviz's `dot` when installed ([`Dot::to_svg_with_graphviz`],
//!   [`Dot::to_png_with_graphviz`], [`Dot::save`]).
//! - [`plot`] draws training pictures as SVG: the train/validation scatter pair, loss and
//!   accuracy curves, data with a fitted line, a confusion matrix, sample images with their
//!   predicted and true labels.
//! - [`examples`] builds the notebook's graphs (`cargo xtask graph`).
//! - [`Svg`] holds a picture; it and [`Dot`] show themselves inline in a Jupyter notebook run
//!   by the Rust kernel evcxr (their `evcxr_display` method; no dependency on evcxr).
//!
//! ```
//! use antorcha_autograd::Var;
//! use antorcha_viz::{make_dot, DotOptions};
//! let a = Var::from_vec(vec![0.1f32], &[1]).requires_grad();
//! let b = Var::from_vec(vec![0.2f32], &[1]).requires_grad();
//! let x = Var::from_vec(vec![0.5f32; 80], &[80, 1]);
//! let y = Var::from_vec(vec![2.0f32; 80], &[80, 1]);
//! let loss = (&y - (&a + &b * &x)).powf(2.0).mean();
//! let dot = make_dot(&loss, &[("a", &a), ("b", &b)], &DotOptions::default());
//! assert_eq!(dot.graph.node_count(), 10);
//! assert!(dot.to_svg().contains("MeanBackward0"));
//! ```
//!
//! [`Var`]: antorcha_autograd::Var

#![warn(missing_docs)]

mod confusion;
mod dot;
mod error;
pub mod examples;
mod graphviz;
mod image_grid;
mod layout;
pub mod plot;
mod pyfmt;
mod svg;
mod ticks;

pub use dot::{
    make_dot, make_dot_many, Dot, DotEdge, DotNode, DotOptions, NodeKind, LEAF_COLOR, NODE_ATTRS,
    OUTPUT_COLOR, SAVED_COLOR,
};
pub use error::{Result, VizError};
pub use graphviz::{Graphviz, Written};
pub use svg::{evcxr_content, Svg, SVG_MIME};

/// The graph library of [`Dot::graph`].
pub use petgraph;
