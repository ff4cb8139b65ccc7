//! The `tokenomics` binary: a thin shell over the library (see `tokenomics::app`).

fn main() {
    std::process::exit(tokenomics::app::main_entry());
}
