//! Tells `thinktee --version` which commit it was built from and with which
//! cargo features. Never fails and never reaches the network: outside a git
//! checkout of thinktee (a source tarball, a registry copy) or without `git`,
//! the commit is "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = commit().unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=THINKTEE_COMMIT={commit}");
    println!("cargo:rustc-env=THINKTEE_FEATURES={}", features());
}

/// `git` run in this crate's directory; its output when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_owned())
}

/// The commit of HEAD (uncommitted changes are not told: the script does
/// not run again when a source file changes). Only in a checkout that tracks this very build script: a copy of the
/// crate inside some other repository (a home directory under git) is not
/// thinktee's history.
fn commit() -> Option<String> {
    // Watched first: the script then runs again once this file is committed.
    watch_head();
    git(&["ls-files", "--error-unmatch", "build.rs"])?;
    git(&["rev-parse", "--short=12", "HEAD"])
}

/// Runs this script again when HEAD moves: the files git changes then (a
/// missing file would make cargo run it on every build, so only those that
/// exist are named).
fn watch_head() {
    let git_dir = git(&["rev-parse", "--absolute-git-dir"]);
    let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let mut files = Vec::new();
    if let Some(dir) = &git_dir {
        files.push(Path::new(dir).join("HEAD"));
    }
    if let Some(common) = &common {
        files.push(Path::new(common).join("packed-refs"));
        if let Some(branch) = &branch {
            files.push(Path::new(common).join(branch));
        }
    }
    for file in files.iter().filter(|f| f.exists()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// The enabled cargo features of this crate, comma-separated ("none").
fn features() -> String {
    let mut names: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_").map(|f| f.to_lowercase().replace('_', "-"))
        })
        .collect();
    names.sort();
    if names.is_empty() { "none".to_owned() } else { names.join(",") }
}
