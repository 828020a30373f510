#!/usr/bin/env bash
# Benchmark (issue 15): `wharf push` of one 1 GiB layer into `wharf serve`'s built-in registry,
# on the local store and on an S3-compatible store, against the machine's single-core SHA-256
# speed (`openssl dgst -sha256` of the same bytes), and the cold-push ratio against
# `skopeo copy` into the same kind of server.
#
#   cargo build --release -p wharf && bash benches/blob-store.sh
#
# Needs skopeo, python3, openssl, curl, GNU time, and for the S3 rows moto_server (`.ci/run`
# installs it into .ci/venv). Each measured push goes into a fresh server (a fresh data
# directory, or a fresh bucket), so nothing is skipped or deduplicated. The source is an OCI
# layout on tmpfs. Knobs: BENCH_TRIALS (3), BENCH_BIG_LAYER_MIB (1024), BENCH_DIR (/dev/shm),
# WHARF (target/release/wharf), MOTO (.ci/venv/bin/moto_server).
set -euo pipefail
cd "$(dirname "$0")/.."

wharf=${WHARF:-$PWD/target/release/wharf}
moto=${MOTO:-$PWD/.ci/venv/bin/moto_server}
trials=${BENCH_TRIALS:-3}
big_mib=${BENCH_BIG_LAYER_MIB:-1024}
work=$(mktemp -d "${BENCH_DIR:-$( [[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)}/wharf-blob-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "$*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

log "building a ${big_mib} MiB layer"
python3 - "$work/big" $((big_mib << 20)) <<'PY'
import hashlib, json, os, sys
root, size = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data=None, size=None):
    h = hashlib.sha256(); tmp = os.path.join(blobs, "tmp")
    with open(tmp, "wb") as f:
        if data is not None:
            f.write(data); h.update(data); size = len(data)
        else:
            left = size
            while left:
                chunk = os.urandom(min(left, 8 << 20)); f.write(chunk); h.update(chunk); left -= len(chunk)
    os.rename(tmp, os.path.join(blobs, h.hexdigest()))
    return {"digest": "sha256:" + h.hexdigest(), "size": size}
layer = dict(put(size=size), mediaType="application/vnd.oci.image.layer.v1.tar")
config = dict(put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode()),
    mediaType="application/vnd.oci.image.config.v1+json")
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": [layer]}).encode()
m = dict(put(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
    annotations={"org.opencontainers.image.ref.name": "bench"})
json.dump({"schemaVersion": 2, "manifests": [m]}, open(os.path.join(root, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(root, "oci-layout"), "w"))
PY
big_blob=$(find "$work/big/blobs/sha256" -size +$((big_mib / 2))M | head -n 1)
cat "$big_blob" >/dev/null
# Touch the memory the servers will write into once (the first touch of a page is slow here).
head -c $((3 << 30)) /dev/zero >"$work/warm-up" && rm -f "$work/warm-up"

# timed OUTFILE CMD…: "seconds max_rss_kib user sys" in OUTFILE.
timed() {
  local out=$1
  shift
  /usr/bin/time -f "%e %M %U %S" -o "$out" "$@" >/dev/null 2>"$out.err" || {
    cat "$out.err" >&2
    return 1
  }
}
field() { cut -d' ' -f"$2" "$1"; }

timed "$work/openssl" openssl dgst -sha256 "$big_blob"
openssl_s=$(field "$work/openssl" 1)

admin_token=bench-admin-$RANDOM$RANDOM$RANDOM
moto_url=
if [[ -x $moto ]]; then
  moto_port=$(free_port)
  "$moto" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
  pids+=($!)
  moto_url=http://127.0.0.1:$moto_port
  until curl -s -o /dev/null "$moto_url/"; do sleep 0.1; done
fi

# serve STORE: a fresh `wharf serve` (local: a new data dir; s3: a new bucket); sets url, serve_pid.
serve() {
  local dir store_args=() env_args=()
  dir=$(mktemp -d "$work/serve.XXXXXX")
  if [[ $1 == s3 ]]; then
    local bucket=bench-$RANDOM$RANDOM
    curl -sf -X PUT "$moto_url/$bucket" >/dev/null
    store_args=(--blob-store "s3://$bucket/wharf" --blob-store-endpoint "$moto_url")
    env_args=(AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1)
  fi
  mkfifo "$dir/log"
  env "${env_args[@]}" WHARF_ADMIN_USERNAME=admin WHARF_ADMIN_TOKEN=$admin_token "$wharf" serve \
    --listen 127.0.0.1:0 --data "$dir/data" --config examples/shop/wharf.toml "${store_args[@]}" \
    2>"$dir/log" &
  serve_pid=$!
  pids+=("$serve_pid")
  local line
  exec {fd}<"$dir/log"
  while IFS= read -r -u "$fd" line; do
    [[ $line == "wharf serve: listening on "* ]] && url=${line#wharf serve: listening on } && break
  done
  cat <&"$fd" >/dev/null &
  pids+=($!)
}

run_wharf() { # STORE OUT
  serve "$1"
  WHARF_CONTROL_PLANE_URL=$url WHARF_USERNAME=admin WHARF_TOKEN=$admin_token \
    timed "$2" "$wharf" push --project shop --service api --git-ref main \
    --image "oci:$work/big:bench" --external-id "bench-$RANDOM$RANDOM"
  kill "$serve_pid"
}

run_skopeo() { # STORE OUT
  serve "$1"
  local creds login
  creds=$(curl -sf -u "admin:$admin_token" -H 'content-type: application/json' \
    "$url/cc-ui/v1/ci-cd/pushCredentials" \
    -d '{"blueprintName":"shop","artifactory":"default","applicationName":"api"}')
  login=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["username"]+":"+d["password"])' <<<"$creds")
  timed "$2" skopeo copy -q --dest-tls-verify=false --dest-creds "$login" \
    "oci:$work/big:bench" "docker://${url#http://}/shop/api:bench"
  kill "$serve_pid"
}

stores=(local)
[[ -n $moto_url ]] && stores+=(s3)
echo "openssl dgst -sha256 of ${big_mib} MiB: ${openssl_s} s ($(printf '%.0f' "$(echo "$big_mib / $openssl_s" | bc -l)") MiB/s, one core)"
echo
echo "| store | trial | wharf push (s) | MiB/s | % of openssl | skopeo copy (s) | wharf / skopeo | wharf peak RSS (MiB) |"
echo "|---|---|---|---|---|---|---|---|"
for store in "${stores[@]}"; do
  for trial in $(seq "$trials"); do
    run_wharf "$store" "$work/w.$store.$trial"
    run_skopeo "$store" "$work/s.$store.$trial"
    w=$(field "$work/w.$store.$trial" 1) s=$(field "$work/s.$store.$trial" 1)
    printf '| %s | %s | %s | %.0f | %.0f%% | %s | %.2f | %d |\n' "$store" "$trial" "$w" \
      "$(echo "$big_mib / $w" | bc -l)" "$(echo "100 * $openssl_s / $w" | bc -l)" "$s" \
      "$(echo "$w / $s" | bc -l)" $(($(field "$work/w.$store.$trial" 2) / 1024))
  done
done
