//! Interoperability: `skopeo`, an independent OCI client, writes an image built by `umoci` into
//! the built-in registry with a `pushCredentials` credential and reads it back; the digests
//! match. Needs `skopeo` and `umoci` (`.ci/run` installs them and runs ignored tests).

use crate::support;

use serde_json::json;
use std::process::Command;
use support::client::Api;
use support::start_shop;

fn digest_of(inspect: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(inspect).unwrap();
    json["Digest"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs skopeo and umoci (installed by .ci/run)"]
async fn skopeo_copies_into_and_out_of_the_built_in_registry() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (_, creds) = api
        .post(
            "/cc-ui/v1/ci-cd/pushCredentials",
            json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "api"}),
        )
        .await;
    let login = format!(
        "{}:{}",
        creds["username"].as_str().unwrap(),
        creds["password"].as_str().unwrap()
    );
    let repository = creds["repositoryUri"].as_str().unwrap().to_string();

    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_path_buf();
    let (login_, repository_) = (login.clone(), repository.clone());
    let (source, copied) = tokio::task::spawn_blocking(move || {
        let (login, repository) = (login_, repository_);
        support::tool("umoci", &["init", "--layout", "img"], &dir);
        support::tool("umoci", &["new", "--image", "img:v1"], &dir);
        support::tool(
            "umoci",
            &["unpack", "--rootless", "--image", "img:v1", "bundle"],
            &dir,
        );
        std::fs::write(dir.join("bundle/rootfs/hello.txt"), "hello from wharf\n").unwrap();
        support::tool("umoci", &["repack", "--image", "img:v1", "bundle"], &dir);
        let source = digest_of(&support::tool("skopeo", &["inspect", "oci:img:v1"], &dir));

        let target = format!("docker://{repository}:v1");
        support::tool(
            "skopeo",
            &[
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                &login,
                "oci:img:v1",
                &target,
            ],
            &dir,
        );
        let pushed = digest_of(&support::tool(
            "skopeo",
            &["inspect", "--tls-verify=false", "--creds", &login, &target],
            &dir,
        ));
        assert_eq!(pushed, source, "the registry holds the same manifest bytes");
        support::tool(
            "skopeo",
            &[
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                &login,
                &target,
                "oci:out:v1",
            ],
            &dir,
        );
        (
            source,
            digest_of(&support::tool("skopeo", &["inspect", "oci:out:v1"], &dir)),
        )
    })
    .await
    .unwrap();
    assert_eq!(copied, source, "copied back out byte for byte");

    let foreign = format!(
        "docker://{}",
        repository.replace("/shop/api", "/shop/web:v1")
    );
    let dir = work.path().to_path_buf();
    let refused = tokio::task::spawn_blocking(move || {
        Command::new("skopeo")
            .args([
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                &login,
                "oci:img:v1",
                &foreign,
            ])
            .current_dir(dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && (stderr.contains("403") || stderr.contains("denied"))
            && stderr.contains("shop/api only"),
        "a credential for shop/api is denied (403) on shop/web, not failing otherwise: {stderr}"
    );
    server.stop().await.unwrap();
}
