//! What thinktee tells about itself: `--version` (the version, the commit it
//! was built from, its cargo features) and `thinktee completions SHELL`.

use std::io::{self, Write};

use crate::Outcome;

/// `thinktee --version`; `-V` prints the version alone. The commit and the
/// features come from `build.rs` (the commit is "unknown" when it was not
/// built from a git checkout).
pub(crate) const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("THINKTEE_COMMIT"),
    "\nfeatures: ",
    env!("THINKTEE_FEATURES"),
);

/// `thinktee completions SHELL`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to complete in. Load the script, for example
    /// `thinktee completions bash > ~/.local/share/bash-completion/completions/thinktee`,
    /// `thinktee completions zsh > "${fpath[1]}/_thinktee"`,
    /// `thinktee completions fish > ~/.config/fish/completions/thinktee.fish`.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script for `args.shell` on stdout.
pub(crate) fn completions(args: Args) -> anyhow::Result<Outcome> {
    // Generated whole first: clap_complete panics when its writer fails,
    // and a closed pipe is not worth a panic.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::command(), "thinktee", &mut script);
    let mut stdout = io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(Outcome::Clean)
}
