# shellcheck shell=bash
# OCI image layouts for the adapters' end-to-end tests, built with tar, gzip, jq and sha256sum.

# make_oci_layout DIR TAG TEXT: a one-layer image (one file holding TEXT) as an OCI layout;
# prints its manifest's digest.
make_oci_layout() {
  local dir=$1 tag=$2 text=$3 work diff_id layer config manifest
  work=$(mktemp -d "$BATS_TEST_TMPDIR/layer.XXXXXX")
  mkdir -p "$dir/blobs/sha256"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  echo "$text" >"$work/hello.txt"
  tar --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$work/layer.tar" hello.txt
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  layer=$(gzip -n -c "$work/layer.tar" | add_blob "$dir")
  config=$(jq -cn --arg d "sha256:$diff_id" \
    '{architecture: "amd64", os: "linux", rootfs: {type: "layers", diff_ids: [$d]}}' | add_blob "$dir")
  manifest=$(jq -cn --arg c "$config" --arg l "$layer" \
    --argjson cs "$(blob_size "$dir" "$config")" --argjson ls "$(blob_size "$dir" "$layer")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: "sha256:\($c)", size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: "sha256:\($l)", size: $ls}]}' |
    add_blob "$dir")
  jq -cn --arg m "$manifest" --argjson ms "$(blob_size "$dir" "$manifest")" --arg tag "$tag" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:\($m)", size: $ms, annotations: {"org.opencontainers.image.ref.name": $tag}}]}' \
    >"$dir/index.json"
  echo "sha256:$manifest"
}

# add_blob DIR: stores stdin as a blob of the layout; prints its sha256.
add_blob() {
  local tmp sum
  tmp=$(mktemp "$1/blob.XXXXXX")
  cat >"$tmp"
  sum=$(sha256sum "$tmp" | cut -d' ' -f1)
  mv "$tmp" "$1/blobs/sha256/$sum"
  echo "$sum"
}

blob_size() {
  stat -c %s "$1/blobs/sha256/$2"
}
