//! Project chores: `cargo xtask <command>`.

#![warn(missing_docs)]

use clap::{Parser, Subcommand};

mod bench;
mod crates;
mod fuzz;
mod graph;
mod msrv;
mod notebooks;
mod priority;

/// Antorcha's project chores.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the crates of the workspace (from `cargo metadata`), what each is for and which
    /// sibling crates it uses.
    Crates,
    /// Prints the DOT of the notebook's computation graph, as torchviz draws it (or writes it
    /// with -o/--output FILE: .dot, .svg, .png).
    Graph(graph::GraphArgs),
    /// Checks that the declared rust-version covers every dependency's (cargo metadata).
    Msrv,
    /// Times docs/WORKLOADS.md's workloads in Antorcha and PyTorch (if found) and prints the table.
    Bench(bench::BenchArgs),
    /// Fuzzes every file parser (IDX, .npy, safetensors, optimizer state) with mutated inputs.
    Fuzz(fuzz::FuzzArgs),
    /// Installs the Rust Jupyter kernel (evcxr) and a venv with Jupyter when missing, then
    /// checks the notebooks' committed outputs, or with --execute runs them and writes them back.
    Notebooks(notebooks::NotebooksArgs),
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crates) => crates::main(),
        Some(Command::Graph(args)) => graph::main(&args),
        Some(Command::Msrv) => msrv::main(),
        Some(Command::Bench(args)) => bench::main(&args),
        Some(Command::Fuzz(args)) => fuzz::main(&args),
        Some(Command::Notebooks(args)) => notebooks::main(&args),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help().expect("stdout");
            println!();
        }
    }
}
