//! `cargo xtask graph`: the notebook's computation graphs, as torchviz draws them.

use std::path::{Path, PathBuf};

use antorcha_autograd::tensor::{manual_seed, Tensor};
use antorcha_autograd::Var;
use antorcha_nn::{Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use antorcha_viz::examples::{model_graph, GraphOutput, Model};
use antorcha_viz::{make_dot, Dot, DotOptions, VizError, Written};
use clap::{Args, ValueEnum};

/// Which value's graph to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NodeArg {
    /// `yhat = a + b * x_train`
    Yhat,
    /// `error = y_train - yhat`
    Error,
    /// `loss = (error ** 2).mean()`
    Loss,
}

/// Which model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// The linear regression `yhat = a + b x`.
    Linreg,
    /// The notebook's FashionMNIST MLP: `Flatten -> Linear(784, 512) -> ReLU ->
    /// Linear(512, 512) -> ReLU -> Linear(512, 10)` on one image; `yhat` is its logits, `loss`
    /// the cross-entropy against label 0.
    Mlp,
    /// The FashionMNIST course's CNN (WORKLOADS.md's W5 net): `Conv2d(1, 32, 3) -> ReLU ->
    /// MaxPool2d(2) -> Conv2d(32, 64, 3) -> ReLU -> MaxPool2d(2) -> Flatten ->
    /// Linear(1600, 128) -> ReLU -> Linear(128, 10)` on one image; `yhat` and `loss` as for
    /// the MLP.
    Cnn,
}

/// Options of `cargo xtask graph`.
#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The value whose graph is drawn.
    #[arg(long, value_enum, default_value_t = NodeArg::Loss)]
    pub node: NodeArg,
    /// The model.
    #[arg(long, value_enum, default_value_t = ModelArg::Linreg)]
    pub model: ModelArg,
    /// Show each backward function's attributes and saved values (torchviz's show_attrs).
    #[arg(long)]
    pub show_attrs: bool,
    /// Show saved tensors as orange boxes (torchviz's show_saved).
    #[arg(long)]
    pub show_saved: bool,
    /// Write to FILE instead of printing DOT: .dot, .svg (Graphviz when installed, else
    /// Antorcha's own layout) or .png (Graphviz only). A bare file name goes into
    /// target/antorcha-graphs/ (ignored by git), a path with a folder is used as given; without
    /// FILE, target/antorcha-graphs/MODEL-NODE.svg.
    #[arg(short = 'o', long = "output", value_name = "FILE", num_args = 0..=1)]
    pub output: Option<Option<PathBuf>>,
}

/// Where `cargo xtask graph` writes by default: `target/antorcha-graphs` of the workspace
/// (`CARGO_TARGET_DIR` when set).
fn graphs_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("xtask sits in the workspace")
                .join("target")
        });
    target.join("antorcha-graphs")
}

/// The file `-o` names: as given when it has a folder, else in [`graphs_dir`]; `-o` alone is
/// `MODEL-NODE.svg` there. Shown relative to the current folder when inside it.
fn output_path(given: Option<&Path>, model: &str, node: &str) -> PathBuf {
    let path = match given {
        None => graphs_dir().join(format!("{model}-{node}.svg")),
        Some(p) if p.is_absolute() || p.parent().is_some_and(|d| !d.as_os_str().is_empty()) => {
            return p.to_path_buf()
        }
        Some(p) => graphs_dir().join(p),
    };
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(path)
}

/// Runs the command: the DOT text to print, or what was written where.
pub fn run(args: &GraphArgs) -> antorcha_viz::Result<String> {
    let output = match args.node {
        NodeArg::Yhat => GraphOutput::Yhat,
        NodeArg::Error => GraphOutput::Error,
        NodeArg::Loss => GraphOutput::Loss,
    };
    let options = DotOptions::new()
        .show_attrs(args.show_attrs)
        .show_saved(args.show_saved);
    let (dot, model) = match args.model {
        ModelArg::Linreg => (model_graph(Model::Linreg, output, &options)?, "linreg"),
        ModelArg::Mlp => (net_graph(ModelArg::Mlp, output, &options)?, "mlp"),
        ModelArg::Cnn => (net_graph(ModelArg::Cnn, output, &options)?, "cnn"),
    };
    let Some(given) = &args.output else {
        return Ok(dot.to_dot());
    };
    let file = &output_path(given.as_deref(), model, &output.to_string());
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| VizError::Io {
            op: "graph",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let how = match dot.save(file)? {
        Written::Dot => "DOT text",
        Written::SvgOwnLayout => "SVG in Antorcha's own layout (install Graphviz for its layout)",
        Written::SvgGraphviz => "SVG drawn by Graphviz",
        Written::PngGraphviz => "PNG drawn by Graphviz",
    };
    Ok(format!(
        "wrote {}: {how}; the {output} graph of the {model} model\n",
        file.display()
    ))
}

/// The notebook's MLP or the course's CNN drawn like `make_dot(model(X),
/// params=dict(model.named_parameters()))`, from its logits (`yhat`) or its cross-entropy loss
/// (`loss`); seeded, so the picture is the same every time.
fn net_graph(
    kind: ModelArg,
    output: GraphOutput,
    options: &DotOptions,
) -> antorcha_viz::Result<Dot> {
    manual_seed(0);
    let (model, x) = match kind {
        ModelArg::Cnn => (
            Sequential::new()
                .add(Conv2d::new(1, 32, 3))
                .add(ReLU::new())
                .add(MaxPool2d::new(2))
                .add(Conv2d::new(32, 64, 3))
                .add(ReLU::new())
                .add(MaxPool2d::new(2))
                .add(Flatten::new())
                .add(Linear::new(1600, 128))
                .add(ReLU::new())
                .add(Linear::new(128, 10)),
            Var::new(Tensor::<f32>::rand(&[1, 1, 28, 28])),
        ),
        _ => (
            Sequential::new()
                .add(Flatten::new())
                .add(Linear::new(28 * 28, 512))
                .add(ReLU::new())
                .add(Linear::new(512, 512))
                .add(ReLU::new())
                .add(Linear::new(512, 10)),
            Var::new(Tensor::<f32>::rand(&[1, 28, 28])),
        ),
    };
    let logits = model.forward(&x);
    let named = model.named_parameters();
    let params: Vec<(&str, &Var<f32>)> = named.iter().map(|(n, p)| (n.as_str(), p)).collect();
    match output {
        GraphOutput::Yhat => Ok(make_dot(&logits, &params, options)),
        GraphOutput::Loss => {
            let loss =
                CrossEntropyLoss::new().forward(&logits, &Tensor::from_vec(vec![0i64], &[1]));
            Ok(make_dot(&loss, &params, options))
        }
        GraphOutput::Error => Err(VizError::Unavailable {
            op: "graph --model mlp/cnn",
            message: "the MLP and the CNN have no `error` output: choose --node yhat (their \
                      logits) or loss"
                .to_string(),
        }),
    }
}

/// `cargo xtask graph`: prints the DOT or the file written; errors go to stderr, exit 1.
pub fn main(args: &GraphArgs) {
    match run(args) {
        Ok(text) if args.output.is_none() => print!("{text}"),
        Ok(text) => eprint!("{text}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: GraphArgs,
    }

    fn args(list: &[&str]) -> GraphArgs {
        let mut argv = vec!["graph"];
        argv.extend_from_slice(list);
        Cli::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn default_prints_the_loss_graph_dot() {
        let text = run(&args(&[])).unwrap();
        assert!(text.starts_with("digraph {\n\tgraph [size=\"12,12\"]\n"));
        assert!(text.contains("[label=\"\n ()\" fillcolor=darkolivegreen1]"));
        for label in [
            "MeanBackward0",
            "PowBackward0",
            "SubBackward0",
            "AddBackward0",
            "MulBackward0",
        ] {
            assert!(text.contains(&format!("[label={label}]")), "{label}");
        }
        assert!(text.contains("[label=\"a\n (1)\" fillcolor=lightblue]"));
        assert!(text.contains("[label=\"b\n (1)\" fillcolor=lightblue]"));
        assert!(!text.contains("orange"));
    }

    #[test]
    fn options_choose_output_and_details() {
        let text = run(&args(&["--node", "yhat"])).unwrap();
        assert!(text.contains("[label=\"\n (80, 1)\" fillcolor=darkolivegreen1]"));
        assert!(!text.contains("SubBackward0"));
        let text = run(&args(&["--show-attrs", "--show-saved"])).unwrap();
        assert!(text.contains("exponent:              2\nself    : [saved tensor]"));
        assert!(text.contains("[label=\"other\n (80, 1)\" fillcolor=orange]"));
        assert!(Cli::try_parse_from(["graph", "--node", "weights"]).is_err());
    }

    #[test]
    fn mlp_graph_has_the_layers_and_named_parameters() {
        let text = run(&args(&["--model", "mlp"])).unwrap();
        // Three linear layers (one fused AddmmBackward0 each), two ReLUs, the loss's ops.
        assert_eq!(text.matches("[label=AddmmBackward0]").count(), 3, "{text}");
        assert_eq!(text.matches("[label=ReluBackward0]").count(), 2, "{text}");
        assert!(text.contains("[label=LogSoftmaxBackward0]"), "{text}");
        // The parameters by `named_parameters()` name (Flatten is child 0), with their shapes.
        for label in [
            "\"1.weight\n (512, 784)\"",
            "\"1.bias\n (512)\"",
            "\"5.weight\n (10, 512)\"",
        ] {
            assert!(text.contains(label), "{label} in {text}");
        }
        let yhat = run(&args(&["--model", "mlp", "--node", "yhat"])).unwrap();
        assert_eq!(yhat.matches("[label=AccumulateGrad]").count(), 6, "{yhat}");
        assert!(!yhat.contains("LogSoftmaxBackward0"), "{yhat}");
        let err = run(&args(&["--model", "mlp", "--node", "error"])).unwrap_err();
        assert!(err.to_string().contains("yhat"), "{err}");
    }

    #[test]
    fn cnn_graph_has_the_convolutions_pools_and_named_parameters() {
        let text = run(&args(&["--model", "cnn", "--show-attrs"])).unwrap();
        assert_eq!(text.matches("ConvolutionBackward0").count(), 2, "{text}");
        assert_eq!(
            text.matches("MaxPool2DWithIndicesBackward0").count(),
            2,
            "{text}"
        );
        assert_eq!(text.matches("ReluBackward0").count(), 3, "{text}");
        assert_eq!(text.matches("AddmmBackward0").count(), 2, "{text}");
        assert!(text.contains("LogSoftmaxBackward0"), "{text}");
        assert!(
            text.contains("transposed") && text.contains("groups"),
            "{text}"
        );
        for label in [
            "\"0.weight\n (32, 1, 3, 3)\"",
            "\"3.weight\n (64, 32, 3, 3)\"",
            "\"3.bias\n (64)\"",
            "\"7.weight\n (128, 1600)\"",
        ] {
            assert!(text.contains(label), "{label} in {text}");
        }
        let err = run(&args(&["--model", "cnn", "--node", "error"])).unwrap_err();
        assert!(err.to_string().contains("yhat"), "{err}");
    }

    #[test]
    fn file_extension_picks_the_format() {
        let dir = std::env::temp_dir().join(format!("antorcha-xtask-graph-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dot = dir.join("loss.dot");
        let said = run(&args(&["--output", dot.to_str().unwrap()])).unwrap();
        assert!(said.contains("DOT"), "{said}");
        assert_eq!(
            std::fs::read_to_string(&dot).unwrap(),
            run(&args(&[])).unwrap()
        );
        let svg = dir.join("loss.svg");
        run(&args(&["--show-attrs", "-o", svg.to_str().unwrap()])).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg") && text.contains("MeanBackward0"));
        let err = run(&args(&["-o", dir.join("loss.txt").to_str().unwrap()])).unwrap_err();
        assert!(err.to_string().contains(".dot, .svg or .png"), "{err}");
        let png = dir.join("loss.png");
        let result = run(&args(&["-o", png.to_str().unwrap()]));
        if antorcha_viz::Graphviz::new().is_available() {
            result.unwrap();
            assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        } else {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("install Graphviz"), "{err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bare_names_and_no_name_go_under_target() {
        assert!(graphs_dir().ends_with("antorcha-graphs"));
        let under = |p: &Path| p.parent().unwrap().ends_with("target/antorcha-graphs");
        let bare = output_path(Some(Path::new("loss.svg")), "linreg", "loss");
        assert!(under(&bare) && bare.ends_with("loss.svg"), "{bare:?}");
        let default = output_path(None, "mlp", "yhat");
        assert!(
            under(&default) && default.ends_with("mlp-yhat.svg"),
            "{default:?}"
        );
        let given = Path::new("out/loss.svg");
        assert_eq!(output_path(Some(given), "linreg", "loss"), given);
        assert_eq!(args(&["-o"]).output, Some(None));
        assert_eq!(
            args(&["--output", "a.svg"]).output,
            Some(Some(PathBuf::from("a.svg")))
        );
        assert_eq!(args(&[]).output, None);
    }
}
