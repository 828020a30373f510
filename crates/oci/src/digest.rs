//! `algorithm:hex` content digests, and a hasher that checks bytes against one as they stream.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;

/// A content digest; only `sha256` can be verified, other algorithms parse but are refused
/// by [`Verifier::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: String,
    hex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("'{0}' is not a digest: use sha256:<64 lowercase hex digits>")]
    Malformed(String),
    #[error("digest algorithm '{0}' is not supported: only sha256 is")]
    Unsupported(String),
    #[error("content does not match its digest: expected {expected}, got {actual} ({size} bytes)")]
    Mismatch {
        expected: String,
        actual: String,
        size: u64,
    },
}

impl Digest {
    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Self {
            algorithm: "sha256".into(),
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

fn is_algorithm(text: &str) -> bool {
    // [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*
    text.split(['-', '_', '+', '.']).all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric())
    })
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || DigestError::Malformed(text.to_string());
        let (algorithm, hex) = text.split_once(':').ok_or_else(malformed)?;
        if !is_algorithm(algorithm) || hex.len() < 32 {
            return Err(malformed());
        }
        let valid_hex = hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let expected_len = match algorithm {
            "sha256" => Some(64),
            "sha512" => Some(128),
            _ => None,
        };
        if !valid_hex || expected_len.is_some_and(|len| hex.len() != len) {
            return Err(malformed());
        }
        Ok(Self {
            algorithm: algorithm.into(),
            hex: hex.into(),
        })
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes bytes as they pass and checks them against the expected digest at the end.
#[derive(Clone)]
pub struct Verifier {
    expected: Digest,
    hasher: Sha256,
    size: u64,
}

impl Verifier {
    pub fn new(expected: &Digest) -> Result<Self, DigestError> {
        if expected.algorithm != "sha256" {
            return Err(DigestError::Unsupported(expected.algorithm.clone()));
        }
        Ok(Self {
            expected: expected.clone(),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// How many bytes went past.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `Ok` when the bytes hash to the expected digest.
    pub fn finish(self) -> Result<u64, DigestError> {
        let actual = hex::encode(self.hasher.finalize());
        if actual == self.expected.hex {
            return Ok(self.size);
        }
        Err(DigestError::Mismatch {
            expected: self.expected.to_string(),
            actual: format!("sha256:{actual}"),
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints_sha256() {
        let digest: Digest = EMPTY.parse().unwrap();
        assert_eq!(digest.to_string(), EMPTY);
        assert_eq!(Digest::sha256_of(b""), digest);
    }

    #[test]
    fn names_its_algorithm_and_hex_apart() {
        let digest: Digest = EMPTY.parse().unwrap();
        assert_eq!(digest.algorithm(), "sha256");
        assert_eq!(digest.hex(), &EMPTY["sha256:".len()..]);
    }

    #[test]
    fn hex_lengths_are_checked_per_algorithm_from_32_digits_up() {
        // sha256 wants exactly 64 digits and sha512 exactly 128; another algorithm any
        // length from 32 up.
        for bad in [
            format!("sha256:{}", "a".repeat(128)),
            format!("sha512:{}", "a".repeat(64)),
            format!("custom:{}", "a".repeat(31)),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
        for good in [
            format!("sha512:{}", "a".repeat(128)),
            format!("custom:{}", "a".repeat(32)),
        ] {
            assert!(good.parse::<Digest>().is_ok(), "{good}");
        }
    }

    #[test]
    fn refuses_malformed_digests_with_the_fix() {
        for bad in [
            "sha256",
            "sha256:abc",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "1sha:0123456789abcdef0123456789abcdef",
            "",
        ] {
            let error = bad.parse::<Digest>().unwrap_err().to_string();
            assert!(
                error.contains("sha256:<64 lowercase hex digits>"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn verifies_streamed_bytes_and_names_both_digests_on_a_mismatch() {
        let expected = Digest::sha256_of(b"hello world");
        let mut ok = Verifier::new(&expected).unwrap();
        ok.update(b"hello ");
        assert_eq!(ok.size(), 6);
        ok.update(b"world");
        assert_eq!(ok.size(), 11);
        assert_eq!(ok.finish().unwrap(), 11);

        let mut bad = Verifier::new(&expected).unwrap();
        bad.update(b"hello there");
        let error = bad.finish().unwrap_err().to_string();
        assert!(
            error.contains(&expected.to_string()) && error.contains("sha256:"),
            "{error}"
        );

        let other: Digest = format!("sha512:{}", "ab".repeat(64)).parse().unwrap();
        assert!(matches!(
            Verifier::new(&other),
            Err(DigestError::Unsupported(_))
        ));
    }
}
