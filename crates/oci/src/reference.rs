//! Image references by the distribution grammar:
//! `[registry[:port]/]path[/path…][:tag][@digest]`, with Docker's defaults (`docker.io`,
//! `library/`, `latest`).

use crate::digest::Digest;
use std::fmt;
use std::str::FromStr;

/// The registry of references that name none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageReference {
    /// `host[:port]`, e.g. `ghcr.io`, `localhost:5000`, `docker.io`.
    pub registry: String,
    /// The repository path, e.g. `acme/shop/api`, `library/alpine`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error(
        "the image reference is empty: use REGISTRY/REPOSITORY[:TAG][@DIGEST], e.g. ghcr.io/acme/api:1.4.2"
    )]
    Empty,
    #[error(
        "'{reference}' has a scheme; drop '{scheme}://' (registries are addressed without one)"
    )]
    Scheme { reference: String, scheme: String },
    #[error(
        "'{reference}': repository '{repository}' has uppercase letters; repositories are lowercase"
    )]
    Uppercase {
        reference: String,
        repository: String,
    },
    #[error(
        "'{reference}': repository component '{component}' is invalid: use lowercase letters and digits, separated by '.', '_', '__' or '-'"
    )]
    Component {
        reference: String,
        component: String,
    },
    #[error(
        "'{reference}': registry '{registry}' is invalid: use a host name or IP address with an optional :port"
    )]
    Registry { reference: String, registry: String },
    #[error(
        "'{reference}': tag '{tag}' is invalid: use up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    )]
    Tag { reference: String, tag: String },
    #[error("'{reference}': {source}")]
    Digest {
        reference: String,
        source: crate::digest::DigestError,
    },
    #[error("'{reference}': the repository name is longer than 255 characters")]
    TooLong { reference: String },
}

impl ImageReference {
    /// `tag` or `digest`, as the registry API wants it; `latest` when neither is given.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same image pinned to `digest`.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Whether the registry is on loopback (`localhost`, `127.0.0.0/8`, `[::1]`), where plain
    /// HTTP is allowed without a flag, as Docker allows it.
    pub fn is_loopback(&self) -> bool {
        is_loopback_registry(&self.registry)
    }
}

/// Whether a registry `host[:port]` is on loopback: `localhost`, `127.0.0.0/8` or `[::1]`.
pub(crate) fn is_loopback_registry(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            registry
        }
    });
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn is_domain_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn is_registry(text: &str) -> bool {
    if let Some(rest) = text.strip_prefix('[') {
        // [IPv6]:port
        let Some((address, port)) = rest.split_once(']') else {
            return false;
        };
        let port_ok = port.is_empty() || port.strip_prefix(':').is_some_and(is_port);
        return !address.is_empty()
            && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
            && port_ok;
    }
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    host.split('.').all(is_domain_component) && port.is_none_or(is_port)
}

fn is_port(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u32>().is_ok_and(|p| p <= 65535)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let separator = &text[start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(matches!(separator, "." | "_" | "__") || dashes) {
            return false;
        }
    }
    true
}

/// Whether `name` is a valid repository path (`acme/shop/api`): lowercase components joined by
/// `/`, at most 255 characters.
pub fn is_valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.split('/').all(is_path_component)
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Whether `text` is a valid tag: `[\w][\w.-]{0,127}` (the distribution grammar).
pub fn is_valid_tag(text: &str) -> bool {
    is_tag(text)
}

/// `[\w][\w.-]{0,127}`
fn is_tag(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Docker's rule: the first component names a registry when it has a '.' or a ':', or is
/// `localhost`.
fn names_registry(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost" || first.starts_with('[')
}

impl FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let reference = text.to_string();
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(ReferenceError::Scheme {
                reference,
                scheme: scheme.into(),
            });
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest
                    .parse::<Digest>()
                    .map_err(|source| ReferenceError::Digest {
                        reference: reference.clone(),
                        source,
                    })?;
                (rest, Some(digest))
            }
            None => (text, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path)) if names_registry(first) => (first.to_string(), path),
            _ => (DEFAULT_REGISTRY.to_string(), rest),
        };
        if !is_registry(&registry) {
            return Err(ReferenceError::Registry {
                reference,
                registry,
            });
        }
        let (path, tag) = match path.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => (path, Some(tag.to_string())),
            _ => (path, None),
        };
        if let Some(tag) = &tag
            && !is_tag(tag)
        {
            return Err(ReferenceError::Tag {
                reference,
                tag: tag.clone(),
            });
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase {
                reference,
                repository: path.into(),
            });
        }
        if let Some(bad) = path.split('/').find(|c| !is_path_component(c)) {
            return Err(ReferenceError::Component {
                reference,
                component: bad.into(),
            });
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(ReferenceError::TooLong { reference });
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> ImageReference {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn docker_hub_defaults() {
        let alpine = parse("alpine");
        assert_eq!(
            (alpine.registry.as_str(), alpine.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        assert_eq!(alpine.reference(), "latest");
        assert_eq!(parse("acme/api:1").repository, "acme/api");
        assert_eq!(
            parse("docker.io/alpine:3").to_string(),
            "docker.io/library/alpine:3"
        );
    }

    #[test]
    fn registries_with_ports_paths_tags_and_digests() {
        let r = parse(&format!("localhost:5000/acme/shop/api:1.4.2@{DIGEST}"));
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "acme/shop/api");
        assert_eq!(r.tag.as_deref(), Some("1.4.2"));
        assert_eq!(r.reference(), DIGEST, "the digest wins over the tag");
        assert!(r.is_loopback());
        assert!(parse("127.0.0.1:8080/a/b").is_loopback());
        assert!(!parse("ghcr.io/a/b").is_loopback());
        // A domain that starts like a loopback address is not one (plain HTTP stays off).
        assert!(!parse("127.attacker.example.com/a/b").is_loopback());
        assert!(!parse("127.0.0.1.nip.io:5000/a/b").is_loopback());
        assert!(parse("127.1.2.3:5000/a/b").is_loopback());
        assert_eq!(parse("[::1]:5000/a:b").registry, "[::1]:5000");
        assert_eq!(
            parse("registry.example.com/a__b/c-d/e.f/g--h").repository,
            "a__b/c-d/e.f/g--h"
        );
    }

    #[test]
    fn each_kind_of_mistake_has_its_own_message() {
        let cases = [
            ("", "empty"),
            ("https://ghcr.io/a/b", "drop 'https://'"),
            ("ghcr.io/Acme/api", "uppercase"),
            ("ghcr.io/acme/-api", "component '-api'"),
            ("ghcr.io/acme//api", "component ''"),
            ("ghcr.io/a/b:-bad", "tag '-bad'"),
            ("ghcr.io/a/b@sha256:1234", "sha256:<64"),
            ("my_registry.com:99999/a", "registry"),
        ];
        for (text, needle) in cases {
            let error = text.parse::<ImageReference>().unwrap_err().to_string();
            assert!(error.contains(needle), "{text:?}: {error}");
        }
        let long = format!("ghcr.io/{}", "a".repeat(300));
        assert!(matches!(
            long.parse::<ImageReference>(),
            Err(ReferenceError::TooLong { .. })
        ));
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_reference(
            registry in prop_oneof![Just("ghcr.io"), Just("localhost:5000"), Just("docker.io")],
            path in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,3}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        ) {
            let text = match &tag { Some(t) => format!("{registry}/{path}:{t}"), None => format!("{registry}/{path}") };
            let once = parse(&text);
            prop_assert_eq!(parse(&once.to_string()), once);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            let _ = text.parse::<ImageReference>();
        }
    }
}
