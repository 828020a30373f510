//! The local git checkout, as the last source of a branch and commit.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What detection may ask of the local checkout.
pub trait GitProbe {
    /// The checked-out branch, or `None` on a detached HEAD or outside a repository.
    fn branch(&self) -> Option<String>;
    /// The commit at HEAD.
    fn head_sha(&self) -> Option<String>;
}

/// Asks the `git` binary in a directory.
#[derive(Debug, Clone)]
pub struct SystemGit {
    dir: PathBuf,
}

impl SystemGit {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn run(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        let text = text.trim();
        (output.status.success() && !text.is_empty()).then(|| text.to_string())
    }
}

impl GitProbe for SystemGit {
    fn branch(&self) -> Option<String> {
        self.run(&["symbolic-ref", "--short", "-q", "HEAD"])
    }

    fn head_sha(&self) -> Option<String> {
        self.run(&["rev-parse", "--verify", "-q", "HEAD"])
    }
}

/// A checkout with nothing in it: CodePipeline's zip, or tests that must not see the host's git.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGit;

impl GitProbe for NoGit {
    fn branch(&self) -> Option<String> {
        None
    }

    fn head_sha(&self) -> Option<String> {
        None
    }
}
