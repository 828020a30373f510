//! The local git checkout, as the last source of a branch and commit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What detection may ask of the local checkout.
pub trait GitProbe {
    /// The checked-out branch, or `None` on a detached HEAD or outside a repository.
    fn branch(&self) -> Option<String>;
    /// The commit at HEAD.
    fn head_sha(&self) -> Option<String>;
}

/// The checkout in a directory: read from its `.git` files (HEAD, loose refs, packed-refs),
/// and only where those say something unusual (a reftable, a `GIT_DIR` in the environment, a
/// symbolic ref outside `refs/heads/`) from the `git` binary. Two `git` processes were half of
/// the time a `wharf register` took.
#[derive(Debug, Clone)]
pub struct SystemGit {
    dir: PathBuf,
}

/// What HEAD says, read from the files.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// No repository here or above.
    Outside,
    /// On a branch (its commit, `None` before the first).
    Branch {
        name: String,
        sha: Option<String>,
    },
    Detached(String),
    /// Something only `git` itself should interpret.
    AskGit,
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

    pub(crate) fn head(&self) -> Head {
        const GIT_VARIABLES: [&str; 5] = [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_COMMON_DIR",
            "GIT_CEILING_DIRECTORIES",
            "GIT_DISCOVERY_ACROSS_FILESYSTEM",
        ];
        if GIT_VARIABLES.iter().any(|v| std::env::var_os(v).is_some()) {
            return Head::AskGit;
        }
        let Ok(start) = std::fs::canonicalize(&self.dir) else {
            return Head::AskGit;
        };
        let Some(git_dir) = start.ancestors().find_map(git_dir_at) else {
            return Head::Outside;
        };
        read_head(&git_dir).unwrap_or(Head::AskGit)
    }
}

/// The git directory of a checkout rooted at `dir`: `.git`, or where a `.git` file points
/// (a worktree, a submodule).
fn git_dir_at(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let pointer = std::fs::read_to_string(&dot_git).ok()?;
    let target = pointer.trim().strip_prefix("gitdir:")?.trim();
    Some(dir.join(target))
}

/// HEAD of `git_dir`, `None` for anything the files alone do not settle.
fn read_head(git_dir: &Path) -> Option<Head> {
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(path) => git_dir.join(path.trim()),
        Err(_) => git_dir.to_path_buf(),
    };
    if common.join("reftable").exists() {
        return None;
    }
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:") else {
        return is_object_id(head).then(|| Head::Detached(head.to_string()));
    };
    let reference = reference.trim();
    let name = reference.strip_prefix("refs/heads/")?.to_string();
    let sha = resolve(git_dir, &common, reference)?;
    Some(Head::Branch { name, sha })
}

/// The commit `reference` names: a loose ref (in the worktree's or the common directory),
/// else packed-refs; `Some(None)` when it names none yet (an unborn branch).
fn resolve(git_dir: &Path, common: &Path, reference: &str) -> Option<Option<String>> {
    for dir in [git_dir, common] {
        if let Ok(text) = std::fs::read_to_string(dir.join(reference)) {
            let text = text.trim();
            return is_object_id(text).then(|| Some(text.to_string()));
        }
    }
    let packed = match std::fs::read_to_string(common.join("packed-refs")) {
        Ok(packed) => packed,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None,
    };
    let found = packed.lines().find_map(|line| {
        let (sha, name) = line.split_once(' ')?;
        (name == reference && is_object_id(sha)).then(|| sha.to_string())
    });
    Some(found)
}

fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl GitProbe for SystemGit {
    fn branch(&self) -> Option<String> {
        match self.head() {
            Head::Outside | Head::Detached(_) => None,
            Head::Branch { name, .. } => Some(name),
            Head::AskGit => self.run(&["symbolic-ref", "--short", "-q", "HEAD"]),
        }
    }

    fn head_sha(&self) -> Option<String> {
        match self.head() {
            Head::Outside => None,
            Head::Branch { sha, .. } => sha,
            Head::Detached(sha) => Some(sha),
            Head::AskGit => self.run(&["rev-parse", "--verify", "-q", "HEAD"]),
        }
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
