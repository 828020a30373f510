#!/usr/bin/env bash
# Benchmark: `wharf push` against `skopeo copy`, registry to registry on loopback (issue 5).
#
#   cargo build --release -p wharf && bash benches/push-vs-skopeo.sh
#
# Needs docker-registry, htpasswd, skopeo, python3 and GNU time (`.ci/run` installs the first
# four; /usr/bin/time is Debian's `time`). Prints a Markdown report for BENCHMARKS.md.
#
# The image: 4 × 256 MiB random layers plus 50 × 64 KiB layers, in a docker-registry with
# htpasswd auth. Each measured copy goes into a fresh, empty docker-registry, so neither tool
# can skip or mount anything. wharf's time is its whole process: push credentials from a
# `wharf serve`, the copy, and the registration. Knobs: BENCH_TRIALS (3),
# BENCH_CONCURRENCY ("1 2 4 8"), BENCH_BIG_LAYER_MIB (1024), BENCH_DIR (/dev/shm),
# WHARF (target/release/wharf).
set -euo pipefail
cd "$(dirname "$0")/.."

wharf=${WHARF:-$PWD/target/release/wharf}
trials=${BENCH_TRIALS:-3}
concurrency_levels=${BENCH_CONCURRENCY:-1 2 4 8}
big_mib=${BENCH_BIG_LAYER_MIB:-1024}
# Registries keep their blobs in memory (tmpfs) when it can, so a shared disk's noise does not
# drown the two clients' difference: BENCH_DIR overrides.
work=$(mktemp -d "${BENCH_DIR:-$( [[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)}/wharf-bench.XXXXXX")
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

# start_registry NAME USER PASSWORD [PORT]: a docker-registry; sets registry_addr and
# registry_pid once it listens.
start_registry() {
  local dir="$work/$1" port
  port=${4:-$(free_port)}
  mkdir -p "$dir"
  htpasswd -Bbn "$2" "$3" >"$dir/htpasswd" 2>/dev/null
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $dir/data}}
http: {addr: "127.0.0.1:$port", secret: bench}
auth: {htpasswd: {realm: bench, path: $dir/htpasswd}}
YAML
  rm -f "$dir/log"
  mkfifo "$dir/log"
  docker-registry serve "$dir/config.yml" 2>"$dir/log" >/dev/null &
  registry_pid=$!
  pids+=("$registry_pid")
  local line
  exec {fd}<"$dir/log"
  while IFS= read -r -u "$fd" line; do
    [[ $line == *"listening on"* ]] && break
  done
  cat <&"$fd" >/dev/null &
  pids+=($!)
  registry_addr="127.0.0.1:$port"
}

stop_registry() {
  # The registry's pid is not tracked per name; its data is what matters: remove it.
  rm -rf "$work/$1/data"
}

# make_layout DIR SIZES…: an OCI layout, tag "bench", with random layers of the given sizes.
make_layout() {
  python3 - "$@" <<'PY'
import hashlib, json, os, sys
root, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data=None, size=None):
    h = hashlib.sha256()
    tmp = os.path.join(blobs, "tmp")
    with open(tmp, "wb") as f:
        if data is not None:
            f.write(data); h.update(data); size = len(data)
        else:
            left = size
            while left:
                chunk = os.urandom(min(left, 8 << 20)); f.write(chunk); h.update(chunk); left -= len(chunk)
    digest = h.hexdigest()
    os.rename(tmp, os.path.join(blobs, digest))
    return {"digest": "sha256:" + digest, "size": size}
layers = [dict(put(size=s), mediaType="application/vnd.oci.image.layer.v1.tar") for s in sizes]
config = dict(put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()),
    mediaType="application/vnd.oci.image.config.v1+json")
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": layers}).encode()
m = dict(put(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
    annotations={"org.opencontainers.image.ref.name": "bench"})
json.dump({"schemaVersion": 2, "manifests": [m]}, open(os.path.join(root, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(root, "oci-layout"), "w"))
PY
}

# timed OUTFILE CMD…: runs CMD; writes "seconds max_rss_kib cpu_seconds" to OUTFILE.
timed() {
  local out=$1
  shift
  /usr/bin/time -f "%e %M %U %S" -o "$out" "$@" >/dev/null 2>"$out.err" || {
    cat "$out.err" >&2
    return 1
  }
}

log "building the images"
start_registry source alice source-pw
source_addr=$registry_addr
source_pid=$registry_pid
small=()
for _ in $(seq 50); do small+=(65536); done
make_layout "$work/image" 268435456 268435456 268435456 268435456 "${small[@]}"
make_layout "$work/big" $((big_mib << 20))
for image in image big; do
  skopeo copy -q --dest-creds alice:source-pw --dest-tls-verify=false \
    "oci:$work/$image:bench" "docker://$source_addr/bench/$image:1"
done

# Touch the memory the targets will write into, once: in this VM the first touch of a page
# is slow, and otherwise whichever copy ran second in a trial paid for it.
head -c $((3 << 30)) /dev/zero >"$work/warm-up" && rm -f "$work/warm-up"

log "starting wharf serve"
admin_token=bench-admin-$RANDOM$RANDOM
mkfifo "$work/serve.log"
# The target registries' passwords are stored encrypted, under a key made for this run.
openssl rand -base64 32 >"$work/secret.key"
WHARF_SECRET_KEY_FILE=$work/secret.key \
  WHARF_ADMIN_USERNAME=admin WHARF_ADMIN_TOKEN=$admin_token "$wharf" serve --listen 127.0.0.1:0 \
  --data "$work/serve" --config examples/shop/wharf.toml 2>"$work/serve.log" &
pids+=($!)
exec {serve_fd}<"$work/serve.log"
while IFS= read -r -u "$serve_fd" line; do
  [[ $line == "wharf serve: listening on "* ]] && control_plane=${line#wharf serve: listening on } && break
done
cat <&"$serve_fd" >/dev/null &

export WHARF_CONTROL_PLANE_URL=$control_plane WHARF_USERNAME=admin WHARF_TOKEN=$admin_token
export WHARF_SOURCE_USERNAME=alice WHARF_SOURCE_PASSWORD=source-pw
registry_count=0

# A fresh empty docker-registry, known to the control plane; sets target_name, target_addr.
fresh_target() {
  registry_count=$((registry_count + 1))
  local name="target$registry_count" address
  start_registry "$name" bob target-pw
  address=$registry_addr
  curl -sf -u "admin:$admin_token" -H 'content-type: application/json' \
    "$control_plane/cc-ui/v1/artifactories/others" \
    -d "{\"name\":\"$name\",\"uri\":\"$address\",\"username\":\"bob\",\"password\":\"target-pw\"}" >/dev/null
  target_name=$name
  target_addr=$address
}

# This machine's CPU is throttled after a burst: whichever copy ran second in a pair was slowed
# by the first. A pause before each measured run lets it recover (BENCH_PAUSE seconds).
# The source registry is restarted before each run as well: a run right after another was
# slower whichever tool it was, so every run starts from the same state.
settle() {
  kill "$source_pid"
  wait "$source_pid" 2>/dev/null || true
  start_registry source alice source-pw "${source_addr##*:}"
  [[ $registry_addr == "$source_addr" ]] || { log "source moved"; exit 1; }
  source_pid=$registry_pid
  sleep "${BENCH_PAUSE:-10}"
}

run_skopeo() { # ADDRESS IMAGE OUT
  settle
  timed "$3" skopeo copy -q --src-creds alice:source-pw --dest-creds bob:target-pw \
    --src-tls-verify=false --dest-tls-verify=false \
    "docker://$source_addr/bench/$2:1" "docker://$1/skopeo/$2:1"
}

run_wharf() { # REGISTRY_NAME IMAGE OUT [CONCURRENCY]
  settle
  timed "$3" "$wharf" push --project shop --service api --git-ref main \
    --image "$source_addr/bench/$2:1" --registry "$1" --external-id "bench-$1-$RANDOM" \
    --concurrency "${4:-4}"
}

field() { cut -d' ' -f"$2" "$1"; }

echo "| trial | skopeo copy (s) | wharf push (s) | wharf / skopeo | skopeo CPU (s) | wharf CPU (s) | skopeo peak RSS (MiB) | wharf peak RSS (MiB) |"
echo "|---|---|---|---|---|---|---|---|"
ratios=()
for trial in $(seq "$trials"); do
  fresh_target
  s_name=$target_name s_addr=$target_addr
  fresh_target
  w_name=$target_name
  if ((trial % 2)); then
    run_skopeo "$s_addr" image "$work/s.$trial"
    run_wharf "$w_name" image "$work/w.$trial"
  else
    run_wharf "$w_name" image "$work/w.$trial"
    run_skopeo "$s_addr" image "$work/s.$trial"
  fi
  s=$(field "$work/s.$trial" 1) w=$(field "$work/w.$trial" 1)
  ratio=$(printf '%.2f' "$(echo "$w / $s" | bc -l)")
  ratios+=("$ratio")
  printf '| %s | %s | %s | %s | %.2f | %.2f | %d | %d |\n' "$trial" "$s" "$w" "$ratio" \
    "$(echo "$(field "$work/s.$trial" 3) + $(field "$work/s.$trial" 4)" | bc -l)" \
    "$(echo "$(field "$work/w.$trial" 3) + $(field "$work/w.$trial" 4)" | bc -l)" \
    $(($(field "$work/s.$trial" 2) / 1024)) $(($(field "$work/w.$trial" 2) / 1024))
  # Keep the last wharf target for the re-push; drop the rest, so every run writes into
  # memory that was touched before (a first touch is slow in this VM: see warm-up).
  stop_registry "$s_name"
  ((trial == trials)) || stop_registry "$w_name"
  last_wharf=$w_name
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo
echo "Median wharf / skopeo over $trials trials: $median"

run_wharf "$last_wharf" image "$work/re"
echo
echo "Re-push of the unchanged image (whole process, nothing sent): $(field "$work/re" 1) s, peak RSS $(($(field "$work/re" 2) / 1024)) MiB"

echo
echo "| --concurrency | wharf push (s) | peak RSS (MiB) |"
echo "|---|---|---|"
for level in $concurrency_levels; do
  fresh_target
  c_name=$target_name
  run_wharf "$c_name" image "$work/c.$level" "$level"
  printf '| %s | %s | %d |\n' "$level" "$(field "$work/c.$level" 1)" $(($(field "$work/c.$level" 2) / 1024))
  stop_registry "$c_name"
done

big_blob=$(find "$work/big/blobs/sha256" -size +$((big_mib / 2))M | head -n 1)
cat "$big_blob" >/dev/null
settle
timed "$work/sha" sha256sum "$big_blob"
fresh_target
b_name=$target_name
run_wharf "$b_name" big "$work/big.t"
sha=$(field "$work/sha" 1) big=$(field "$work/big.t" 1)
echo
printf 'One %d MiB layer: sha256sum %s s (%.0f MiB/s); wharf push %s s (%.0f MiB/s), %.0f%% of sha256sum; peak RSS %d MiB\n' \
  "$big_mib" "$sha" "$(echo "$big_mib / $sha" | bc -l)" "$big" "$(echo "$big_mib / $big" | bc -l)" \
  "$(echo "100 * $sha / $big" | bc -l)" $(($(field "$work/big.t" 2) / 1024))
