//! Ref names as routing rules should see them.

const PREFIXES: [&str; 3] = ["refs/heads/", "refs/tags/", "refs/remotes/origin/"];

/// Strips `refs/heads/`, `refs/tags/` and `refs/remotes/origin/` and surrounding whitespace,
/// keeping every other path segment: `refs/heads/feature/x` → `feature/x`, never `x`.
/// Normalising twice changes nothing.
pub fn normalise_ref(raw: &str) -> String {
    let mut name = raw.trim();
    while let Some(rest) = PREFIXES.iter().find_map(|p| name.strip_prefix(p)) {
        name = rest.trim();
    }
    name.to_string()
}

/// The pull request number in `refs/pull/N/merge` or `refs/pull/N/head`.
pub fn pull_request_number(full_ref: &str) -> Option<&str> {
    let rest = full_ref.strip_prefix("refs/pull/")?;
    let (number, kind) = rest.split_once('/')?;
    let is_number = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    (is_number && (kind == "merge" || kind == "head")).then_some(number)
}

/// The base branch and pull request number in a GitHub merge-queue branch,
/// `gh-readonly-queue/<base>/pr-<number>-<sha>` (the base may itself contain `/`).
pub fn merge_queue_branch(branch: &str) -> Option<(&str, &str)> {
    let rest = branch.strip_prefix("gh-readonly-queue/")?;
    let (base, entry) = rest.rsplit_once('/')?;
    let (number, sha) = entry.strip_prefix("pr-")?.split_once('-')?;
    let is_number = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    let is_sha = !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_hexdigit());
    (!base.is_empty() && is_number && is_sha).then_some((base, number))
}
