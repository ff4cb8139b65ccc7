//! `tokenomics completions <shell>` and `tokenomics man`: a shell completion
//! script and a roff man page, generated on demand from the clap definition in
//! [`crate::cli`], so they always match the binary that prints them.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::error::{exit, Error};

/// The completion script for `shell`.
#[must_use]
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tokenomics", &mut out);
    out
}

/// The man page (roff): the synopsis, every global flag and every subcommand.
///
/// # Errors
/// When rendering fails (it writes to memory, so only on a bug in the renderer).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command().disable_help_subcommand(true)).render(&mut out)?;
    Ok(out)
}

fn print(bytes: &[u8], what: &str) -> Result<i32, Error> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|source| Error::Process {
            what: format!("writing the {what} to standard output"),
            source,
        })?;
    Ok(exit::OK)
}

/// `tokenomics completions <shell>`.
///
/// # Errors
/// When standard output cannot be written.
pub fn run_completions(shell: clap_complete::Shell) -> Result<i32, Error> {
    print(&completion_script(shell), "completion script")
}

/// Writes `tokenomics.1` and one `tokenomics-<command>.1` per subcommand into `dir`
/// (created when missing); returns the files written.
///
/// # Errors
/// When `dir` cannot be created or a page cannot be written.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = vec![clap_mangen::Man::new(cmd.clone()).generate_to(dir)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(written)
}

/// `tokenomics man [--dir DIR]`.
///
/// # Errors
/// When a page cannot be rendered or written.
pub fn run_man(args: &ManArgs) -> Result<i32, Error> {
    if let Some(dir) = &args.dir {
        let written = write_man_pages(dir).map_err(|source| Error::Process {
            what: format!("writing man pages into `{}`", dir.display()),
            source,
        })?;
        for file in written {
            println!("{}", file.display());
        }
        return Ok(exit::OK);
    }
    let page = man_page().map_err(|source| Error::Process {
        what: "rendering the man page".into(),
        source,
    })?;
    print(&page, "man page")
}
