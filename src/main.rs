//! The `tokenomics` binary: a thin shell over the library.

use clap::Parser;

fn main() {
    let cli = tokenomics::cli::Cli::parse();
    let _ = cli;
}
