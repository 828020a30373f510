#!/usr/bin/env node
// Attaches a sigstore bundle (a JSON file) as an OCI 1.1 referrer of REGISTRY/REPO@DIGEST with the
// published npm client, @sigstore/oci 0.6.0 (.ci/tools). On a registry without the referrers API
// it keeps the `sha256-<hex>` tag-scheme index itself, updated with If-Match.
// Usage: node sigstore_attach.mjs REGISTRY REPO DIGEST BUNDLEFILE
//   REGISTRY must be 127.0.0.1:PORT: @sigstore/oci speaks plain HTTP only to 127.0.0.1 and localhost.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../.ci/tools/'));
const { attachArtifactToImage } = require('@sigstore/oci');

const [registry, repo, digest, bundleFile] = process.argv.slice(2);
if (!bundleFile) {
  console.error('usage: sigstore_attach.mjs REGISTRY REPO DIGEST BUNDLEFILE');
  process.exit(2);
}
const descriptor = await attachArtifactToImage({
  imageName: `${registry}/${repo}`,
  imageDigest: digest,
  artifact: fs.readFileSync(bundleFile),
  mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope' },
  // An auth-less registry: credentials must be absent, or the client asks for a challenge.
  credentials: undefined,
  fetchOpts: { retry: { retries: 0 } },
});
console.log(JSON.stringify(descriptor));
