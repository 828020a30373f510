#!/usr/bin/env python3
"""Attach FILE as an OCI 1.1 artifact (manifest with `subject`) to REPO@DIGEST, using PyPI oras==0.2.43.

Usage: oras_attach.py REGISTRY REPO DIGEST FILE [--artifact-type T] [--media-type M] [--tag TAG] [--no-fallback]
  REGISTRY = host:port reached over plain HTTP (insecure=True).  Defaults: T = M = application/spdx+json.

oras-py 0.2.43 push() limitations worked around here:
  * push() has no artifactType parameter            -> subclass adds manifest["artifactType"]
  * push() always PUTs by tag (default "latest"!)   -> by default we PUT by digest (untagged, like `oras attach`)
  * push() never touches the referrers API nor the  -> unless --no-fallback, we update the
    `sha256-<hex>` referrers tag-schema index           fallback index ourselves (OCI distribution-spec 1.1)
  * Subject.from_manifest() re-serialises the JSON  -> subject built from the registry's exact manifest bytes
    (wrong digest)
  * files must lie under the CWD unless disable_path_validation=True (passed below)
"""
import argparse, hashlib, json, sys
import oras.client, oras.oci

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"   # config {} -> sha256:44136fa3...
ACCEPT = ", ".join([MANIFEST, INDEX, "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])


class AttachClient(oras.client.OrasClient):
    artifact_type = None
    by_digest = True
    pushed = None  # (digest, bytes) of the artifact manifest

    def upload_manifest(self, manifest, container):
        if self.artifact_type:
            manifest["artifactType"] = self.artifact_type
        body = json.dumps(manifest, separators=(",", ":")).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.pushed = (digest, body, manifest)
        url = "%s://%s" % (self.prefix, container.manifest_url(digest if self.by_digest else None))
        return self.do_request(url, "PUT", data=body, headers={"Content-Type": MANIFEST})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("registry"); ap.add_argument("repo"); ap.add_argument("digest"); ap.add_argument("file")
    ap.add_argument("--artifact-type", default="application/spdx+json")
    ap.add_argument("--media-type", default="application/spdx+json")
    ap.add_argument("--tag", help="also/instead PUT by this tag (oras-py's native behaviour)")
    ap.add_argument("--no-fallback", action="store_true", help="do not write the sha256-<hex> referrers index")
    a = ap.parse_args()

    c = AttachClient(hostname=a.registry, insecure=True)
    c.artifact_type = a.artifact_type
    c.by_digest = not a.tag
    base = "http://%s/v2/%s" % (a.registry, a.repo)

    r = c.do_request("%s/manifests/%s" % (base, a.digest), "GET", headers={"Accept": ACCEPT})
    c._check_200_response(r)
    assert "sha256:" + hashlib.sha256(r.content).hexdigest() == a.digest, "digest mismatch"
    subj_type = json.loads(r.content).get("mediaType") or r.headers["Content-Type"]
    subject = oras.oci.Subject(mediaType=subj_type, digest=a.digest, size=len(r.content))

    # empty config blob "{}" with mediaType application/vnd.oci.empty.v1+json (OCI 1.1 artifact guidance)
    import tempfile, os
    cfg = os.path.join(tempfile.mkdtemp(), "config.json")
    open(cfg, "w").write("{}")
    resp = c.push(target="%s/%s:%s" % (a.registry, a.repo, a.tag or "unused"),
                  files=["%s:%s" % (a.file, a.media_type)],
                  manifest_config="%s:%s" % (cfg, EMPTY),
                  manifest_annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
                  subject=subject, disable_path_validation=True, quiet=True)
    digest, body, manifest = c.pushed
    print("pushed artifact %s (HTTP %d, registry says %s)" % (digest, resp.status_code,
                                                            resp.headers.get("Docker-Content-Digest")))

    if a.no_fallback:
        return
    # referrers API first (registry 2.8.2: 404 -> use tag schema)
    rr = c.do_request("%s/referrers/%s" % (base, a.digest), "GET", headers={"Accept": INDEX})
    if rr.status_code == 200 and rr.headers.get("Content-Type", "").startswith(INDEX):
        print("registry supports referrers API; no fallback index needed")
        return
    tag = a.digest.replace(":", "-", 1)[:128]
    g = c.do_request("%s/manifests/%s" % (base, tag), "GET", headers={"Accept": INDEX})
    idx = g.json() if g.status_code == 200 else {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
    desc = {"mediaType": MANIFEST, "digest": digest, "size": len(body), "artifactType": a.artifact_type}
    if manifest.get("annotations"):
        desc["annotations"] = manifest["annotations"]
    if any(d["digest"] == digest for d in idx["manifests"]):
        print("fallback index already lists it"); return
    idx["manifests"].append(desc)
    hdrs = {"Content-Type": INDEX}
    if g.status_code == 200 and g.headers.get("ETag"):
        hdrs["If-Match"] = g.headers["ETag"]
    p = c.do_request("%s/manifests/%s" % (base, tag), "PUT",
                     data=json.dumps(idx, separators=(",", ":")).encode(), headers=hdrs)
    c._check_200_response(p)
    print("updated fallback index tag %s -> %s" % (tag, p.headers.get("Docker-Content-Digest")))


if __name__ == "__main__":
    main()
