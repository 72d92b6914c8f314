//! Project chores: `cargo xtask <command>`.

use clap::{Parser, Subcommand};

mod bench;
mod fuzz;
mod graph;

/// Antorcha's project chores.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the crates of the workspace and what each is for.
    Crates,
    /// Prints (or writes with -o) the DOT of the notebook's computation graph, as torchviz draws it.
    Graph(graph::GraphArgs),
    /// Times docs/WORKLOADS.md's workloads in Antorcha and PyTorch (if found) and prints the table.
    Bench(bench::BenchArgs),
    /// Fuzzes every file parser (IDX, .npy, safetensors, optimizer state) with mutated inputs.
    Fuzz(fuzz::FuzzArgs),
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crates) => {
            for (name, what) in [
                ("antorcha-tensor", "n-d arrays, broadcasting, ops, printing"),
                (
                    "antorcha-autograd",
                    "define-by-run graph, backward, no_grad",
                ),
                ("antorcha-viz", "make_dot (DOT, SVG), training plots"),
            ] {
                println!("{name:<20} {what}");
            }
        }
        Some(Command::Graph(args)) => graph::main(&args),
        Some(Command::Bench(args)) => bench::main(&args),
        Some(Command::Fuzz(args)) => fuzz::main(&args),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help().expect("stdout");
            println!();
        }
    }
}
