//! The CLI describing itself: shell completions (`autonet completions bash`), man pages
//! (`autonet man --out DIR`) and the Markdown reference in `docs/cli.md`, all generated from the
//! one clap definition so none of them can drift from the flags.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory};

use crate::cli::Cli;

/// Flags of `autonet completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; the script goes to stdout (e.g. `autonet completions bash >
    /// /etc/bash_completion.d/autonet`).
    pub shell: clap_complete::Shell,
}

/// Flags of `autonet man`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ManArgs {
    /// Folder to write the pages to (`autonet.1`, `autonet-join.1`, …).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the whole reference as one Markdown page instead (`docs/cli.md`).
    #[arg(long)]
    pub markdown: bool,
}

/// Prints the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "autonet", &mut script);
    crate::output::stdout(&script)
}

/// `autonet man`: the Markdown reference on stdout, or a man page for the command and each
/// subcommand written into `--out` (their paths printed).
pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    let Some(out) = &args.out else {
        return Ok(crate::output::stdout(reference().as_bytes())?);
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    write_pages(&Cli::command(), "autonet", out, &mut written)?;
    let list: String = written
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    Ok(crate::output::stdout(list.as_bytes())?)
}

fn write_pages(
    cmd: &clap::Command,
    name: &str,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let cmd = cmd.clone().name(name.to_string());
    let path = out.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), out, written)?;
    }
    Ok(())
}

/// The Markdown reference: every command's long help, in command order.
pub fn reference() -> String {
    let mut out = String::from(
        "# autonet command-line reference\n\nGenerated from the CLI definition \
         (`autonet man --out DIR` writes the same as man pages, `autonet man --markdown` this \
         page); a test keeps it current: after changing a flag, run `AUTONET_BLESS=1 cargo \
         nextest run -p autonet-node -E 'test(cli_reference)'`.\n",
    );
    let mut cmd = Cli::command();
    cmd.build();
    section(&mut out, &cmd, "autonet");
    out
}

fn section(out: &mut String, cmd: &clap::Command, name: &str) {
    let mut cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.to_string());
    let help = cmd.render_long_help().to_string();
    let _ = write!(out, "\n## `{name}`\n\n```text\n{}\n```\n", help.trim_end());
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        section(out, sub, &format!("{name} {}", sub.get_name()));
    }
}
