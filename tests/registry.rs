//! The built-in registry over real loopback HTTP: the distribution endpoints, digests checked
//! before a blob is committed, scoped and expiring push credentials, mounts, and deletion
//! refused while something still references a blob. An independent client (`skopeo`) copies
//! images in and out in `tests/skopeo.rs`.

use crate::support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::client::Api;
use support::registry::{Registry, credentials, manifest};
use support::start_shop;
use wharf_oci::Digest;

#[tokio::test(flavor = "multi_thread")]
async fn blobs_manifests_and_indexes_round_trip_verbatim() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let creds = credentials(&api, "api").await;
    assert!(
        creds["repositoryUri"]
            .as_str()
            .unwrap()
            .ends_with("/shop/api")
    );
    let registry = Registry {
        http: support::http(),
        base: server.url(),
        user: creds["username"].as_str().unwrap().into(),
        password: creds["password"].as_str().unwrap().into(),
    };

    let anonymous = registry
        .http
        .get(format!("{}/v2/", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        registry
            .request(Method::GET, "/v2/")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let config = registry
        .push_blob("shop/api", br#"{"architecture":"amd64","os":"linux"}"#)
        .await;
    // A layer in three chunks through an upload session.
    let layer_bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let started = registry
        .request(Method::POST, "/v2/shop/api/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let mut location = started.headers()["location"].to_str().unwrap().to_string();
    for (i, chunk) in layer_bytes.chunks(80_000).enumerate() {
        let start = i * 80_000;
        let range = format!("{start}-{}", start + chunk.len() - 1);
        let patched = registry
            .request(Method::PATCH, &location)
            .header("content-range", range)
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::ACCEPTED);
        location = patched.headers()["location"].to_str().unwrap().to_string();
    }
    let out_of_order = registry
        .request(Method::PATCH, &location)
        .header("content-range", "5-9")
        .body(vec![0; 5])
        .send()
        .await
        .unwrap();
    assert_eq!(out_of_order.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let layer = Digest::sha256_of(&layer_bytes);
    let done = registry
        .request(Method::PUT, &format!("{location}?digest={layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    assert_eq!(
        done.headers()["docker-content-digest"],
        layer.to_string().as_str()
    );
    let fetched = registry
        .request(Method::GET, &format!("/v2/shop/api/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fetched.bytes().await.unwrap().as_ref(),
        layer_bytes.as_slice()
    );

    let body = manifest(&config, &layer, (37, layer_bytes.len()));
    let put = registry
        .put_manifest("shop/api", "v1", wharf_oci::OCI_MANIFEST, &body)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    let manifest_digest = Digest::sha256_of(body.as_bytes());
    assert_eq!(
        put.headers()["docker-content-digest"],
        manifest_digest.to_string().as_str()
    );
    for reference in ["v1".to_string(), manifest_digest.to_string()] {
        let got = registry
            .request(Method::GET, &format!("/v2/shop/api/manifests/{reference}"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.headers()["content-type"], wharf_oci::OCI_MANIFEST);
        assert_eq!(got.text().await.unwrap(), body, "bytes verbatim");
    }

    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{manifest_digest}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        wharf_oci::OCI_INDEX,
        wharf_oci::OCI_MANIFEST,
        body.len()
    );
    assert_eq!(
        registry
            .put_manifest("shop/api", "multi", wharf_oci::OCI_INDEX, &index)
            .await
            .status(),
        StatusCode::CREATED
    );
    let tags: Value = registry
        .request(Method::GET, "/v2/shop/api/tags/list")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["multi", "v1"]));

    let missing = manifest(&Digest::sha256_of(b"nope"), &layer, (4, 1));
    let refused = registry
        .put_manifest("shop/api", "broken", wharf_oci::OCI_MANIFEST, &missing)
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN");

    let in_use = registry
        .request(Method::DELETE, &format!("/v2/shop/api/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_use.status(),
        StatusCode::CONFLICT,
        "a referenced blob is not deleted"
    );
    let in_index = registry
        .request(
            Method::DELETE,
            &format!("/v2/shop/api/manifests/{manifest_digest}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_index.status(),
        StatusCode::CONFLICT,
        "a manifest an index references is not deleted"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupted_blobs_foreign_scopes_and_expired_credentials_are_refused() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let registry = Registry::pusher(&api, &server.url(), "api").await;
    let claimed = Digest::sha256_of(b"the real bytes");
    let corrupt = registry
        .request(
            Method::POST,
            &format!("/v2/shop/api/blobs/uploads/?digest={claimed}"),
        )
        .body(b"tampered bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(corrupt.status(), StatusCode::BAD_REQUEST);
    let error: Value = corrupt.json().await.unwrap();
    assert_eq!(error["errors"][0]["code"], "DIGEST_INVALID");
    let head = registry
        .request(Method::HEAD, &format!("/v2/shop/api/blobs/{claimed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.status(),
        StatusCode::NOT_FOUND,
        "nothing was committed"
    );

    let foreign = registry
        .request(Method::POST, "/v2/shop/web/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let pull_foreign = registry
        .request(Method::GET, "/v2/other/web/tags/list")
        .send()
        .await
        .unwrap();
    assert_eq!(pull_foreign.status(), StatusCode::FORBIDDEN);

    let wrong = Registry {
        password: "not-the-password".into(),
        ..registry
    };
    assert_eq!(
        wrong
            .request(Method::GET, "/v2/")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let store = server.store().clone();
    let hash = wharf_control_plane::auth::hash_token("expired-password");
    let credential = wharf_control_plane::store::RegistryCredential {
        username: "wharf-push-old".into(),
        password_hash: hash,
        repository: "shop/api".into(),
        owner: "admin".into(),
        expires_at: "2001-01-01T00:00:00.000Z".into(),
        token_id: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_registry_credential(&credential).await.unwrap();
    tx.commit().await.unwrap();
    let expired = Registry {
        user: "wharf-push-old".into(),
        password: "expired-password".into(),
        ..wrong
    };
    assert_eq!(
        expired
            .request(Method::GET, "/v2/")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn mounts_sessions_and_who_may_push() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let admin = Registry {
        http: support::http(),
        base: server.url(),
        user: support::ADMIN.into(),
        password: support::TOKEN.into(),
    };
    let digest = admin.push_blob("shop/api", b"shared layer").await;
    let mounted = admin
        .request(
            Method::POST,
            &format!("/v2/shop/web/blobs/uploads/?mount={digest}&from=shop/api"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        mounted.status(),
        StatusCode::CREATED,
        "mounted, no bytes sent"
    );
    let head = admin
        .request(Method::HEAD, &format!("/v2/shop/web/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-length"], "12");

    let unknown_mount = admin
        .request(
            Method::POST,
            &format!(
                "/v2/shop/web/blobs/uploads/?mount={}&from=shop/api",
                Digest::sha256_of(b"x")
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown_mount.status(),
        StatusCode::ACCEPTED,
        "no such blob: a normal session instead"
    );
    let location = unknown_mount.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        admin
            .request(Method::DELETE, &location)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin
            .request(Method::PATCH, &location)
            .body("x")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    let (status, token) = api
        .post("/wharf/v1/tokens", json!({"username": "release-lead"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let lead = Registry {
        user: "release-lead".into(),
        password: token["token"].as_str().unwrap().into(),
        ..admin
    };
    let refused = lead
        .request(Method::POST, "/v2/shop/api/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CLI_ARTIFACT_PUSH"),
        "{error}"
    );
    assert_eq!(
        lead.request(Method::GET, &format!("/v2/shop/api/blobs/{digest}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let (status, _) = api
        .post(
            "/cc-ui/v1/ci-cd/pushCredentials",
            json!({"blueprintName": "shop", "artifactory": "elsewhere", "applicationName": "api"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, legacy) = api
        .post(
            "/cc-ui/v1/artifacts/pushCredentialsV3/artifactName/api?branch_name=main",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{legacy}");
    assert!(legacy["authorizationToken"].as_str().unwrap().len() > 20);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn external_artifactories_are_added_by_admins_listed_without_passwords_and_hand_out_their_credentials()
 {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let added = json!({"name": "mirror", "uri": "https://mirror.example.com:5000/team/",
                       "username": "robot", "password": "mirror-secret"});
    let (status, body) = api
        .post("/cc-ui/v1/artifactories/others", added.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["uri"], "mirror.example.com:5000/team");
    assert_eq!(body["artifactoryType"], "OTHERS");
    let (status, _) = api.post("/cc-ui/v1/artifactories/others", added).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (_, all) = api.get("/cc-ui/v1/artifactories").await;
    let names: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].clone())
        .collect();
    assert_eq!(names, [json!("default"), json!("mirror")]);
    assert!(!all.to_string().contains("mirror-secret"), "{all}");
    let (status, one) = api.get("/cc-ui/v1/artifactories/name/mirror").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["username"], "robot");

    let (status, creds) = api
        .post(
            "/cc-ui/v1/ci-cd/pushCredentials",
            json!({"blueprintName": "shop", "artifactory": "mirror", "applicationName": "api"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{creds}");
    assert_eq!(
        creds["repositoryUri"],
        "mirror.example.com:5000/team/shop/api"
    );
    assert_eq!(creds["artifactoryUri"], "mirror.example.com:5000");
    assert_eq!(creds["password"], "mirror-secret");

    let (status, error) = api
        .post(
            "/cc-ui/v1/ci-cd/pushCredentials",
            json!({"blueprintName": "shop", "artifactory": "nowhere", "applicationName": "api"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        error.to_string().contains("artifactories/others"),
        "{error}"
    );

    for (bad, field) in [
        (
            json!({"name": "default", "uri": "r.example.com"}),
            "built-in",
        ),
        (json!({"name": "x", "uri": "a b"}), "`uri`"),
        (
            json!({"name": "y", "uri": "r.example.com", "username": "u"}),
            "`password`",
        ),
    ] {
        let (status, error) = api.post("/cc-ui/v1/artifactories/others", bad).await;
        assert!(status.is_client_error(), "{error}");
        assert!(error.to_string().contains(field), "{error}");
    }

    // Registries serve every project, so only server admins add them.
    let (_, token) = api
        .post("/wharf/v1/tokens", json!({"username": "release-lead"}))
        .await;
    let lead = support::http()
        .post(format!("{}/cc-ui/v1/artifactories/others", server.url()))
        .basic_auth("release-lead", token["token"].as_str())
        .json(&json!({"name": "z", "uri": "r.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), StatusCode::FORBIDDEN);
    let (_, audit) = api
        .get("/cc-ui/v1/audit-logs?start=2000-01-01T00:00:00Z&entityAction=CONTAINER_REGISTRY_CREATE")
        .await;
    assert_eq!(audit["totalElements"], 1, "{audit}");
}

/// Issue 26, finding 11: a manifest may list at most 1,024 descriptors; one more is refused
/// with the count and the fix, before any of them is looked up.
#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_listing_too_many_descriptors_is_refused_with_the_count() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let registry = Registry::pusher(&api, &server.url(), "api").await;
    let layer = |n: usize| {
        json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
               "digest": Digest::sha256_of(format!("layer {n}").as_bytes()).to_string(),
               "size": 7})
    };
    let body = |layers: usize| {
        json!({"schemaVersion": 2, "mediaType": wharf_oci::OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": Digest::sha256_of(b"{}").to_string(), "size": 2},
               "layers": (0..layers).map(layer).collect::<Vec<Value>>()})
        .to_string()
    };
    let refused = registry
        .put_manifest("shop/api", "wide", wharf_oci::OCI_MANIFEST, &body(1024))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("MANIFEST_INVALID") && text.contains("lists 1025 descriptors; at most 1024"),
        "{text}"
    );
    // At the cap it is judged on its blobs as usual (none of these were pushed).
    let at_cap = registry
        .put_manifest("shop/api", "wide", wharf_oci::OCI_MANIFEST, &body(1023))
        .await;
    assert_eq!(at_cap.status(), StatusCode::BAD_REQUEST);
    assert!(
        at_cap
            .text()
            .await
            .unwrap()
            .contains("MANIFEST_BLOB_UNKNOWN")
    );
    server.stop().await.unwrap();
}
