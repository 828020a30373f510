//! Fuzz targets (proptest, stable toolchain) for every parser of untrusted input this crate
//! owns: image references, digests, manifest and index documents, media types. Each target runs
//! a bounded number of cases (`PROPTEST_CASES` overrides it: `PROPTEST_CASES=100000 cargo test
//! -p wharf-oci --test fuzz`); a failing input is kept as a plain regression `#[test]` below.
//!
//! Properties: nothing panics; whatever parses prints back to text that parses to the same
//! value; what is refused is an error.

use proptest::prelude::*;
use serde_json::{Value, json};
use wharf_oci::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Digest, ImageReference, MediaKind, OCI_INDEX,
    OCI_MANIFEST, media_kind, referenced_descriptors,
};

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

/// A few seconds per target in a debug build; `PROPTEST_CASES` overrides it.
/// Characters that mean something to the reference grammar, and some that never should.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            '/', ':', '@', '.', '_', '-', '[', ']', ' ', '\t', '\n', '\0', '\u{1b}', 'A', 'Z',
            '%', '#', '?', '\\', '+', '=',
        ]),
        2 => prop::char::range('a', 'z'),
        1 => prop::char::range('0', '9'),
        1 => any::<char>(),
    ]
}

fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..max).prop_map(|c| c.into_iter().collect())
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn path_component() -> impl Strategy<Value = String> {
    (
        "[a-z0-9]{1,8}",
        prop::collection::vec(
            (
                prop::sample::select(vec![".", "_", "__", "-", "--"]),
                "[a-z0-9]{1,6}",
            ),
            0..3,
        ),
    )
        .prop_map(|(first, rest)| {
            rest.into_iter().fold(first, |mut text, (sep, part)| {
                text.push_str(sep);
                text.push_str(&part);
                text
            })
        })
}

fn registry() -> impl Strategy<Value = String> {
    let host = prop::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", 2..4)
        .prop_map(|parts| parts.join("."));
    let port = prop::option::of(0u32..=65535);
    prop_oneof![
        (host, port.clone()).prop_map(|(host, port)| match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }),
        port.clone().prop_map(|port| match port {
            Some(port) => format!("localhost:{port}"),
            None => "localhost".into(),
        }),
        ("[0-9a-f:]{1,12}", port).prop_map(|(address, port)| match port {
            Some(port) => format!("[{address}:1]:{port}"),
            None => format!("[{address}:1]"),
        }),
    ]
}

fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof![
        "[0-9a-f]{64}".prop_map(|hex| format!("sha256:{hex}")),
        "[0-9a-f]{128}".prop_map(|hex| format!("sha512:{hex}")),
        (
            "[a-z][a-z0-9]{0,5}([-_+.][a-z][a-z0-9]{0,3})?",
            "[0-9a-f]{32,70}"
        )
            .prop_filter("sha256 and sha512 have fixed lengths", |(alg, _)| {
                alg != "sha256" && alg != "sha512"
            })
            .prop_map(|(alg, hex)| format!("{alg}:{hex}")),
    ]
    .prop_map(|text| text.parse().expect("a generated digest parses"))
}

/// The parts of a valid reference, and its text.
fn valid_reference() -> impl Strategy<
    Value = (
        String,
        Option<String>,
        Vec<String>,
        Option<String>,
        Option<Digest>,
    ),
> {
    (
        prop::option::of(registry()),
        prop::collection::vec(path_component(), 1..4),
        prop::option::of("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,40}"),
        prop::option::of(digest()),
    )
        .prop_map(|(registry, path, tag, digest)| {
            let mut text = String::new();
            if let Some(registry) = &registry {
                text.push_str(registry);
                text.push('/');
            }
            text.push_str(&path.join("/"));
            if let Some(tag) = &tag {
                text.push(':');
                text.push_str(tag);
            }
            if let Some(digest) = &digest {
                text.push('@');
                text.push_str(&digest.to_string());
            }
            (text, registry, path, tag, digest)
        })
}

/// Whatever parses prints back to the same reference, and every accessor answers.
fn check_reference(text: &str) {
    if let Ok(reference) = text.parse::<ImageReference>() {
        let printed = reference.to_string();
        let again: ImageReference = printed
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
        assert_eq!(again, reference, "{text:?} → {printed:?}");
        assert_eq!(again.to_string(), printed);
        let _ = (
            reference.name(),
            reference.reference(),
            reference.is_loopback(),
        );
        assert!(!printed.chars().any(char::is_control), "{printed:?}");
    }
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn fuzz_reference_arbitrary_text_never_panics_and_round_trips(text in hostile_text(80)) {
        check_reference(&text);
    }

    #[test]
    fn fuzz_reference_any_unicode_never_panics(text in "\\PC{0,100}") {
        check_reference(&text);
    }

    #[test]
    fn fuzz_reference_valid_parts_parse_to_themselves(
        (text, registry, path, tag, digest) in valid_reference()
    ) {
        // Without a registry, a first component with a '.' (or `localhost`) names one.
        if registry.is_none() && path.len() > 1 && (path[0].contains('.') || path[0] == "localhost") {
            check_reference(&text);
            return Ok(());
        }
        let parsed: Result<ImageReference, _> = text.parse();
        let library = if registry.is_none() && path.len() == 1 { 8 } else { 0 };
        let too_long = registry.as_deref().unwrap_or("docker.io").len() + 1
            + library + path.join("/").len() > 255;
        match parsed {
            Ok(parsed) => {
                let path = path.join("/");
                match &registry {
                    Some(registry) => {
                        prop_assert_eq!(&parsed.registry, registry);
                        prop_assert_eq!(&parsed.repository, &path);
                    }
                    None => {
                        prop_assert_eq!(parsed.registry.as_str(), "docker.io");
                        let expected = if path.contains('/') { path } else { format!("library/{path}") };
                        prop_assert_eq!(&parsed.repository, &expected);
                    }
                }
                prop_assert_eq!(&parsed.tag, &tag);
                prop_assert_eq!(&parsed.digest, &digest);
                check_reference(&text);
            }
            Err(e) => prop_assert!(too_long, "{text:?} refused: {e}"),
        }
    }

    #[test]
    fn fuzz_reference_mutated_valid_text_never_panics(
        (text, ..) in valid_reference(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), hostile_text(4), 0usize..3), 1..4),
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, insert, delete) in edits {
            let at = at.index(chars.len() + 1);
            let end = (at + delete).min(chars.len());
            chars.splice(at..end, insert.chars());
        }
        check_reference(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn fuzz_digest_text_never_panics_and_round_trips(
        text in prop_oneof![
            hostile_text(140),
            "[a-zA-Z0-9+._-]{0,12}:[0-9a-fA-F]{0,140}",
            "\\PC{0,80}",
        ]
    ) {
        if let Ok(digest) = text.parse::<Digest>() {
            prop_assert_eq!(digest.to_string(), text.clone());
            prop_assert_eq!(text.parse::<Digest>().unwrap(), digest.clone());
            prop_assert_eq!(format!("{}:{}", digest.algorithm(), digest.hex()), text);
            let json = serde_json::to_string(&digest).unwrap();
            prop_assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        }
    }

    #[test]
    fn fuzz_digest_valid_ones_round_trip(digest in digest()) {
        let text = digest.to_string();
        prop_assert_eq!(text.parse::<Digest>().unwrap(), digest);
    }
}

/// A descriptor field as a hostile registry might write it.
fn descriptor() -> impl Strategy<Value = Value> {
    let digest = prop_oneof![
        4 => digest().prop_map(|d| json!(d.to_string())),
        1 => hostile_text(80).prop_map(Value::from),
        1 => Just(json!(null)),
        1 => Just(json!(42)),
    ];
    let size = prop_oneof![
        4 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => Just(json!("12")),
        1 => Just(json!(1e300)),
        1 => Just(json!(null)),
    ];
    let media_type = prop_oneof![
        3 => Just(json!("application/vnd.oci.image.layer.v1.tar+gzip")),
        1 => Just(json!(OCI_MANIFEST)),
        1 => hostile_text(40).prop_map(Value::from),
        1 => Just(json!(7)),
    ];
    let platform = prop::option::of(prop_oneof![
        Just(json!({"architecture": "amd64", "os": "linux"})),
        Just(json!({"architecture": "arm64", "os": "linux", "variant": "v8"})),
        hostile_text(20).prop_map(|t| json!({"architecture": t, "os": t, "os.features": [t]})),
        Just(json!("linux/amd64")),
    ]);
    let urls = prop::option::of(prop::collection::vec(hostile_text(30), 0..3));
    let annotations = prop::option::of(hostile_text(20));
    (media_type, digest, size, platform, urls, annotations).prop_map(
        |(media_type, digest, size, platform, urls, annotations)| {
            let mut d = json!({"mediaType": media_type, "digest": digest, "size": size});
            if let Some(platform) = platform {
                d["platform"] = platform;
            }
            if let Some(urls) = urls {
                d["urls"] = json!(urls);
            }
            if let Some(key) = annotations {
                d["annotations"] = json!({ key: "v" });
            }
            d
        },
    )
}

fn manifest_media_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(OCI_MANIFEST.to_string()),
        Just(OCI_INDEX.to_string()),
        Just(DOCKER_MANIFEST.to_string()),
        Just(DOCKER_MANIFEST_LIST.to_string()),
        Just(format!("{OCI_MANIFEST}; charset=utf-8")),
        Just(String::new()),
        hostile_text(60),
    ]
}

/// A manifest or an index, well or badly formed.
fn document() -> impl Strategy<Value = Value> {
    let schema = prop_oneof![
        Just(json!(2)),
        Just(json!(1)),
        Just(json!("2")),
        any::<i64>().prop_map(Value::from)
    ];
    let descriptors = || prop::collection::vec(descriptor(), 0..5);
    (
        schema,
        prop::option::of(manifest_media_type()),
        prop::option::of(descriptor()),
        prop::option::of(descriptors()),
        prop::option::of(descriptors()),
        prop::option::of(prop_oneof![
            Just(json!(null)),
            Just(json!([])),
            Just(json!("x"))
        ]),
    )
        .prop_map(|(schema, media_type, config, layers, manifests, subject)| {
            let mut doc = json!({"schemaVersion": schema});
            if let Some(media_type) = media_type {
                doc["mediaType"] = json!(media_type);
            }
            if let Some(config) = config {
                doc["config"] = config;
            }
            if let Some(layers) = layers {
                doc["layers"] = json!(layers);
            }
            if let Some(manifests) = manifests {
                doc["manifests"] = json!(manifests);
            }
            if let Some(subject) = subject {
                doc["subject"] = subject;
            }
            doc
        })
}

/// Whatever a document yields is well-formed: digests print back, the kind matches.
fn check_document(media_type: &str, bytes: &[u8]) {
    if let Ok((kind, descriptors)) = referenced_descriptors(media_type, bytes) {
        for descriptor in &descriptors {
            let text = descriptor.digest.to_string();
            assert_eq!(text.parse::<Digest>().unwrap(), descriptor.digest);
        }
        let declared_or_answered = media_kind(media_type).or_else(|| {
            serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|v| v["mediaType"].as_str().and_then(media_kind))
        });
        assert_eq!(Some(kind), declared_or_answered);
        if kind == MediaKind::Manifest {
            assert!(!descriptors.is_empty(), "a manifest has its config");
        }
    }
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn fuzz_manifest_arbitrary_bytes_never_panic(
        media_type in manifest_media_type(),
        bytes in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        check_document(&media_type, &bytes);
    }

    #[test]
    fn fuzz_manifest_structured_documents_never_panic(
        answered in manifest_media_type(),
        doc in document(),
        truncate in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = serde_json::to_vec(&doc).unwrap();
        if let Some(at) = truncate {
            bytes.truncate(at.index(bytes.len() + 1));
        }
        check_document(&answered, &bytes);
    }

    #[test]
    fn fuzz_manifest_well_formed_ones_yield_their_descriptors(
        config in digest(),
        layers in prop::collection::vec((digest(), any::<u64>()), 0..5),
        index in any::<bool>(),
    ) {
        let layer_docs: Vec<Value> = layers
            .iter()
            .map(|(d, size)| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                    "digest": d.to_string(), "size": size}))
            .collect();
        let (media_type, doc) = if index {
            (OCI_INDEX, json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": layer_docs}))
        } else {
            (OCI_MANIFEST, json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config.to_string(), "size": 2},
                "layers": layer_docs}))
        };
        let bytes = serde_json::to_vec(&doc).unwrap();
        let (kind, found) = referenced_descriptors(media_type, &bytes).unwrap();
        let mut expected: Vec<(Digest, u64)> = Vec::new();
        if !index {
            expected.push((config, 2));
        }
        expected.extend(layers);
        prop_assert_eq!(kind == MediaKind::Index, index);
        let found: Vec<(Digest, u64)> = found.into_iter().map(|d| (d.digest, d.size)).collect();
        prop_assert_eq!(found, expected);
        // Read by the type the document declares when the registry answers none.
        let (again, _) = referenced_descriptors("", &bytes).unwrap();
        prop_assert_eq!(again, kind);
    }

    #[test]
    fn fuzz_media_kind_never_panics(text in prop_oneof![hostile_text(80), "\\PC{0,80}"]) {
        let kind = media_kind(&text);
        let base = text.split(';').next().unwrap_or_default().trim();
        prop_assert_eq!(kind.is_some(), [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].contains(&base));
    }
}
