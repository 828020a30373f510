//! Checks of what callers send: required fields, names, image URIs, free text; and the
//! did-you-mean suggestions for a name that is not there. Each refusal names the field.

use crate::error::{Error, Result};

/// Refuses an empty required text field, naming it.
pub fn require(field: &str, value: Option<&str>) -> Result<String> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(Error::bad_request(format!(
            "missing field `{field}`: it is required and must not be empty"
        ))),
    }
}

/// What to add to "'x' not found": the nearest of `known` when it is close (a typo), and the
/// names there are, e.g. "; did you mean 'shop'? (known: shop, web)".
pub fn suggestions(name: &str, known: &[String]) -> String {
    if known.is_empty() {
        return String::new();
    }
    let nearest = known
        .iter()
        .map(|k| (edit_distance(&name.to_lowercase(), &k.to_lowercase()), k))
        .min()
        .filter(|(distance, k)| *distance <= (k.chars().count() / 3).max(2));
    let listed = known
        .iter()
        .take(20)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match nearest {
        Some((_, k)) => format!("; did you mean {}? (known: {listed})", quoted(k)),
        None => format!(" (known: {listed})"),
    }
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// A value quoted in an error: control characters escaped, long values cut, so an error
/// never carries a terminal escape or a 100,000-character echo.
pub fn quoted(value: &str) -> String {
    const SHOWN: usize = 64;
    let mut shown: String = value
        .chars()
        .take(SHOWN)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    format!("'{shown}'")
}

/// Refuses a name outside the documented rule for environments and release streams: 1 to
/// 128 letters, digits, `-`, `_` or `.`, starting with a letter or digit.
pub fn valid_name(field: &str, name: &str) -> Result<String> {
    let name = require(field, Some(name))?;
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(Error::bad_request(format!(
            "field `{field}` {} is not a valid name: use 1 to 128 letters, digits, '-', '_' or \
             '.', starting with a letter or digit",
            quoted(&name)
        )));
    }
    Ok(name)
}

/// Longest project or CI name: each is one component of a registry repository.
pub const MAX_COMPONENT_LEN: usize = 63;

/// Refuses a project or CI name that cannot be a component of an OCI repository name
/// (`<project>/<ciName>`): lowercase letters and digits, joined by `.`, `_`, `__` or dashes,
/// at most 63 characters.
pub fn valid_component(field: &str, name: &str) -> Result<String> {
    let name = require(field, Some(name))?;
    if name.len() > MAX_COMPONENT_LEN
        || !wharf_oci::is_valid_repository(&name)
        || name.contains('/')
    {
        return Err(Error::bad_request(format!(
            "field `{field}` {} is not a valid name: it names a registry repository, so use \
             lowercase letters and digits, joined by '.', '_', '__' or '-', at most \
             {MAX_COMPONENT_LEN} characters (e.g. 'shop', 'api-gateway')",
            quoted(&name)
        )));
    }
    Ok(name)
}

/// Longest user name.
pub const MAX_USERNAME_LEN: usize = 64;

/// Refuses a user name outside the documented rule: 1 to 64 letters, digits, `.`, `_`, `-`,
/// `@` or `+`, starting with a letter or digit (an e-mail address fits; `:` never does, since
/// Basic auth splits on it).
pub fn valid_username(field: &str, name: &str) -> Result<String> {
    let name = require(field, Some(name))?;
    let ok = name.len() <= MAX_USERNAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'));
    if !ok {
        return Err(Error::bad_request(format!(
            "field `{field}` {} is not a valid user name: use 1 to {MAX_USERNAME_LEN} letters, \
             digits, '.', '_', '-', '@' or '+', starting with a letter or digit",
            quoted(&name)
        )));
    }
    Ok(name)
}

/// Longest image URI stored.
pub const MAX_IMAGE_URI_LEN: usize = 1024;

/// Refuses an `artifactUri` that is not an image reference (`[registry/]repository[:tag]
/// [@digest]`): no scheme, no whitespace or control characters, at most 1024 bytes.
pub fn valid_image_uri(field: &str, raw: &str) -> Result<String> {
    let uri = require(field, Some(raw))?;
    let refused = |why: String| {
        Error::bad_request(format!(
            "field `{field}` {} is not an image reference: {why}; use \
             registry.example.com/team/api:1.4.2 or …@sha256:<64 hex>",
            quoted(&uri)
        ))
    };
    if uri.len() > MAX_IMAGE_URI_LEN {
        return Err(refused(format!(
            "it is longer than {MAX_IMAGE_URI_LEN} bytes"
        )));
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refused("it holds whitespace or control characters".into()));
    }
    uri.parse::<wharf_oci::ImageReference>()
        .map_err(|e| refused(e.to_string()))?;
    Ok(uri)
}

/// Refuses free text (a description, an external id) holding control characters other than
/// newlines and tabs, or longer than `max` bytes.
pub fn valid_text(field: &str, value: Option<&str>, max: usize) -> Result<()> {
    let Some(value) = value else { return Ok(()) };
    if value.len() > max {
        return Err(Error::bad_request(format!(
            "field `{field}` is longer than {max} bytes"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::bad_request(format!(
            "field `{field}` {} holds control characters; remove them",
            quoted(value)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod suggestion_tests {
    use super::suggestions;

    #[test]
    fn a_typo_gets_the_nearest_name_and_the_list() {
        let known = vec!["api".to_string(), "web".to_string(), "staging".to_string()];
        assert_eq!(
            suggestions("stagign", &known),
            "; did you mean 'staging'? (known: api, web, staging)"
        );
        assert_eq!(
            suggestions("ap", &known),
            "; did you mean 'api'? (known: api, web, staging)"
        );
        assert_eq!(
            suggestions("database", &known),
            " (known: api, web, staging)"
        );
        assert_eq!(suggestions("x", &[]), "");
    }
}
