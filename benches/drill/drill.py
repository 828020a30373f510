#!/usr/bin/env python3
"""The fault drill (issue 29): two `wharf serve` replicas behind HAProxy, on one PostgreSQL and an
S3-compatible store (moto, behind a fault proxy), under a mixed load of real `wharf` processes,
while things fail in turn. Run it through benches/drill.sh, which finds the tools.

Faults, evenly spread over the run: SIGKILL a replica (restarted 3 s later), restart PostgreSQL,
pause the S3 server for 5 s (SIGSTOP/SIGCONT), S3 answering 503 for 5 s (the fault proxy).

Afterwards it proves, against the database and through HAProxy:
  - every acknowledged registration, promotion and approval is stored exactly once;
  - every acknowledged push's manifest pulls, with every blob it names, digests checked;
  - no request was left pending: every client process answered, no transaction is left open;
  - the audit has one entry per acknowledged write;
and reports the error rate, p99 and recovery of each fault window. Exit 0 when every proof holds.
"""

import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WHARF = os.environ.get("WHARF", os.path.join(ROOT, "target/release/wharf"))
SECONDS = float(os.environ.get("DRILL_SECONDS", "120"))
CLIENTS = int(os.environ.get("DRILL_CLIENTS", "6"))
PG_BIN = os.environ["DRILL_PG_BIN"]
MOTO = os.environ["DRILL_MOTO"]
HAPROXY = os.environ.get("DRILL_HAPROXY", "haproxy")
REPORT = os.environ.get("DRILL_REPORT")
OP_TIMEOUT = 120  # seconds a client process may take before it counts as left pending

ADMIN, ADMIN_TOKEN = "drill-admin", "wharf_drill_admin_" + os.urandom(12).hex()


def log(*args):
    print("drill:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, proc=None, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"drill: {what} exited ({proc.returncode}) before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"drill: {what} did not listen on {port} within {seconds} s")


class Postgres:
    """A PostgreSQL cluster of the drill's own, so it can be restarted."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        self.port = free_port()
        os.makedirs(self.dir)
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self.run(f"{PG_BIN}/initdb -D {self.dir}/data -A trust -U postgres >/dev/null")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, command):
        if self.as_postgres:
            command = f"su postgres -c {shlex.quote(command)}"
        subprocess.run(command, shell=True, check=True, cwd="/tmp")

    def ctl(self, action):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200"
        self.run(
            f"{PG_BIN}/pg_ctl -D {self.dir}/data -w -l {self.dir}/log -m fast "
            f"-o '{options}' {action} >/dev/null"
        )

    def sql(self, query):
        out = subprocess.run(
            ["psql", "-X", "-qAt", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-c", query],
            check=True, capture_output=True, text=True,
        )
        return [line.split("|") for line in out.stdout.splitlines() if line]


class FaultProxy(http.server.ThreadingHTTPServer):
    """Forwards to moto; while `failing`, answers every request 503 SlowDown instead."""

    daemon_threads = True
    failing = False
    upstream = 0


class FaultHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.server.failing:
            payload = (b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
                       b"<Message>drill: S3 fault</Message></Error>")
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        except OSError:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        finally:
            upstream.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


class Replica:
    def __init__(self, index, work, database, s3_endpoint):
        self.index = index
        self.port = free_port()
        self.log = os.path.join(work, f"replica-{index}.log")
        self.database = database
        self.s3_endpoint = s3_endpoint
        self.proc = None

    def start(self):
        env = dict(os.environ, WHARF_ADMIN_USERNAME=ADMIN, WHARF_ADMIN_TOKEN=ADMIN_TOKEN,
                   AWS_ACCESS_KEY_ID="drill", AWS_SECRET_ACCESS_KEY="drill-secret",
                   AWS_REGION="us-east-1", RUST_LOG="warn")
        env.pop("CI", None)
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(
                [WHARF, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", self.database,
                 "--blob-store", "s3://drill/blobs", "--blob-store-endpoint", self.s3_endpoint],
                env=env, stdout=out, stderr=out)
        wait_port(self.port, f"replica {self.index}", self.proc)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def rss_and_fds(self):
        pid = self.proc.pid
        with open(f"/proc/{pid}/status") as status:
            rss = next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))


def haproxy_config(port, replicas):
    servers = "\n".join(
        f"    server replica{r.index} 127.0.0.1:{r.port} check inter 500ms fall 2 rise 2"
        for r in replicas)
    return f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch
    # Only a connection that never reached a replica is tried on the other one: a request a
    # replica received is wharf's client's to retry, since only it knows the request is safe to.
    retry-on conn-failure

frontend wharf
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /wharf/v1/health
    http-check expect status 200
{servers}
"""


def oci_layout(directory, seed):
    """A one-layer OCI image layout in `directory`, its content unique to `seed`."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = f"drill image {seed}\n".encode() + os.urandom(2048)
        info = tarfile.TarInfo("drill.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    layer = put(gzip.compress(raw, mtime=0))
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    config = put(json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw).hexdigest()}"]},
        "config": {},
    }).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = put(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": [layer],
    }).encode())
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


PROD = threading.Lock()


class Ledger:
    """Every operation's timing and outcome, and every acknowledged write."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []  # (started, ended, kind, ok, detail)
        self.registered = {}  # build id -> external id
        self.promoted = {}  # promoted build id -> source build id
        self.approved = {}  # request id -> source build id
        self.pushed = {}  # build id -> (repository, digest)
        self.pending = []  # operations whose process never answered

    def record(self, started, ended, kind, ok, detail=""):
        with self.lock:
            self.ops.append((started, ended, kind, ok, detail))


def wharf(args, user, token, timeout=OP_TIMEOUT):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI", "GITHUB_", "BUILDKITE"))}
    env.update(WHARF_CONTROL_PLANE_URL=os.environ["DRILL_URL"], WHARF_USERNAME=user,
               WHARF_TOKEN=token)
    return subprocess.run([WHARF, "--output", "json", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


class Client(threading.Thread):
    def __init__(self, number, ledger, tokens, work, stop_at):
        super().__init__(daemon=True)
        self.number = number
        self.ledger = ledger
        self.tokens = tokens
        self.work = work
        self.stop_at = stop_at
        self.random = random.Random(number)
        self.own_builds = []  # registered here, not yet promoted
        self.own_pushes = []
        self.count = 0
        self.session = None

    def run(self):
        while time.monotonic() < self.stop_at:
            self.count += 1
            roll = self.random.random()
            if roll < 0.35 or not self.own_builds:
                self.register()
            elif roll < 0.50:
                self.push()
            elif roll < 0.70:
                self.promote()
            elif roll < 0.80 and self.own_pushes:
                self.to_prod()
            elif roll < 0.90:
                self.resolve()
            else:
                self.ui_page()

    def timed(self, kind, args, user):
        started = time.monotonic()
        try:
            done = wharf(args, user, self.tokens[user])
        except subprocess.TimeoutExpired:
            ended = time.monotonic()
            self.ledger.pending.append((kind, args))
            self.ledger.record(started, ended, kind, False, "no answer (left pending)")
            return None
        ended = time.monotonic()
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["(no message)"])[-1][:300]
            self.ledger.record(started, ended, kind, False, f"exit {done.returncode}: {detail}")
            return None
        self.ledger.record(started, ended, kind, True)
        return json.loads(done.stdout)

    def register(self):
        external = f"drill-{self.number}-{self.count}"
        answer = self.timed("register", [
            "register", "--project", "drill", "--service", "api", "--git-ref", "main",
            "--image", f"registry.example/drill/api:{self.number}-{self.count}",
            "--external-id", external], "ci-bot")
        if answer:
            with self.ledger.lock:
                self.ledger.registered[answer["artifactId"]] = external
            self.own_builds.append(answer["artifactId"])

    def push(self):
        layout = os.path.join(self.work, f"image-{self.number}-{self.count}")
        oci_layout(layout, f"{self.number}-{self.count}")
        external = f"drill-push-{self.number}-{self.count}"
        answer = self.timed("push", [
            "push", "--project", "drill", "--service", "api", "--git-ref", "main",
            "--image", f"oci:{layout}:latest", "--tag", f"{self.number}-{self.count}",
            "--external-id", external], "ci-bot")
        shutil.rmtree(layout, ignore_errors=True)
        if answer:
            uri = answer["pushedUri"]
            repository = uri.split("/", 1)[1].split("@", 1)[0]
            with self.ledger.lock:
                self.ledger.registered[answer["artifactId"]] = external
                self.ledger.pushed[answer["artifactId"]] = (repository, answer["digest"])
            self.own_pushes.append(answer["artifactId"])

    def promote(self):
        build = self.own_builds.pop(self.random.randrange(len(self.own_builds)))
        answer = self.timed("promote", [
            "promote", "--project", "drill", "--service", "api", "--artifact-id", build,
            "--to", "staging"], "ci-bot")
        if answer:
            with self.ledger.lock:
                self.ledger.promoted[answer["artifactId"]] = build

    def to_prod(self):
        # One request into prod at a time: a newer request for the stage supersedes a pending
        # one (by design), which would turn the drill's approvals into refusals.
        with PROD:
            self.promote_to_prod()

    def promote_to_prod(self):
        build = self.own_pushes.pop()
        answer = self.timed("promote", [
            "promote", "--project", "drill", "--service", "api", "--artifact-id", build,
            "--to", "prod"], "ci-bot")
        request = answer and answer.get("requestId")
        if not request:
            return
        approved = self.timed("approve", ["approve", request], "lead")
        if approved:
            with self.ledger.lock:
                self.ledger.approved[request] = build

    def resolve(self):
        self.timed("resolve", ["resolve", "--project", "drill", "--service", "api",
                               "--environment", "dev"], "ci-bot")

    def ui_page(self):
        started = time.monotonic()
        try:
            if self.session is None:
                self.session = sign_in("lead", self.tokens["lead"])
            status = http_get("/ui/projects/drill", {"Cookie": self.session})
            ok = status == 200
            detail = "" if ok else f"status {status}"
            if status in (302, 303, 401):
                self.session = None
        except OSError as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
            self.session = None
        self.ledger.record(started, time.monotonic(), "ui", ok, detail)


def http_request(method, path, headers=None, body=None):
    url = urllib.parse.urlparse(os.environ["DRILL_URL"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.getheaders(), answer.read()
    finally:
        connection.close()


def http_get(path, headers):
    return http_request("GET", path, headers)[0]


def sign_in(user, token):
    status, headers, page = http_request("GET", "/ui/login")
    if status != 200:
        raise OSError(f"sign-in page answered {status}")
    login = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie")
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    form = urllib.parse.urlencode({"csrf": csrf, "username": user, "token": token})
    status, headers, page = http_request("POST", "/ui/login", {
        "Cookie": login, "Content-Type": "application/x-www-form-urlencoded"}, form)
    if status not in (302, 303):
        said = re.findall(rb'role="alert"[^>]*>([^<]*)<', page)
        raise OSError(f"sign-in answered {status}: {said[:1]}")
    return next(v.split(";")[0] for k, v in headers
                if k.lower() == "set-cookie" and v.startswith("wharf_session="))


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round((len(values) - 1) * p)))]


def main():
    work = tempfile.mkdtemp(prefix="wharf-drill.")
    os.chmod(work, 0o755)
    procs, replicas = [], []
    proxy = None
    pg = Postgres(work)
    try:
        pg.ctl("start")
        log(f"PostgreSQL on {pg.port}")
        moto_port = free_port()
        moto = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        wait_port(moto_port, "moto", moto)
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{moto_port}/drill", method="PUT"), timeout=10).read()
        proxy = FaultProxy(("127.0.0.1", 0), FaultHandler)
        proxy.upstream = moto_port
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        s3_endpoint = f"http://127.0.0.1:{proxy.server_address[1]}"
        log(f"moto on {moto_port}, the fault proxy on {proxy.server_address[1]}")

        replicas = [Replica(i, work, pg.url, s3_endpoint) for i in (1, 2)]
        for replica in replicas:
            replica.start()
        front = free_port()
        config = os.path.join(work, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(haproxy_config(front, replicas))
        haproxy = subprocess.Popen([HAPROXY, "-f", config, "-db"], stdout=subprocess.DEVNULL,
                                   stderr=open(os.path.join(work, "haproxy.log"), "w"))
        procs.append(haproxy)
        wait_port(front, "haproxy", haproxy)
        os.environ["DRILL_URL"] = f"http://127.0.0.1:{front}"
        log(f"HAProxy on {front} in front of replicas on {[r.port for r in replicas]}")
        tokens = set_up_users()

        ledger = Ledger()
        started = ledger.started = time.monotonic()
        stop_at = started + SECONDS
        clients = [Client(n, ledger, tokens, work, stop_at) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        windows, samples = run_faults(started, pg, moto, proxy, replicas)
        for client in clients:
            client.join(OP_TIMEOUT + 30)
        elapsed = time.monotonic() - started
        log(f"load done: {len(ledger.ops)} operations; proving ({len(ledger.pushed)} pushes to pull)")
        proofs = prove(ledger, pg, clients)
        report = summarize(ledger, windows, samples, elapsed, proofs)
        print(report)
        if REPORT:
            with open(REPORT, "w") as f:
                f.write(report + "\n")
        failed = [name for name, ok, _ in proofs if not ok]
        if failed:
            for replica in replicas:
                with open(replica.log) as f:
                    tail = f.read()[-4000:]
                log(f"replica {replica.index} log (tail):\n{tail}")
            raise SystemExit(f"drill: FAILED: {', '.join(failed)}")
        log("passed")
    finally:
        for replica in replicas:
            replica.stop()
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
                proc.wait(timeout=10)
        if proxy:
            proxy.shutdown()
        try:
            pg.ctl("stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(work, ignore_errors=True)


def set_up_users():
    tokens = {}
    for user in ("ci-bot", "lead"):
        created = wharf(["users", "create", user], ADMIN, ADMIN_TOKEN, timeout=60)
        if created.returncode != 0:
            raise SystemExit(f"drill: creating {user}: {created.stderr}")
        made = wharf(["token", "create", "--user", user, "--name", "drill"], ADMIN, ADMIN_TOKEN, 60)
        if made.returncode != 0:
            raise SystemExit(f"drill: a token for {user}: {made.stderr}")
        answer = json.loads(made.stdout)
        tokens[user] = answer.get("token") or answer.get("value")
    applied = wharf(["apply", os.path.join(ROOT, "benches/drill/wharf.toml")], ADMIN, ADMIN_TOKEN, 60)
    if applied.returncode != 0:
        raise SystemExit(f"drill: wharf apply: {applied.stderr}")
    return tokens


def run_faults(started, pg, moto, proxy, replicas):
    """Injects the four faults at 15 %, 35 %, 55 % and 75 % of the run; samples each replica's
    RSS and open descriptors every second. Answers the fault windows and the samples."""
    windows, samples = [], []
    plan = [(0.15, "SIGKILL replica 1, restarted 3 s later"), (0.35, "restart PostgreSQL"),
            (0.55, "S3 paused 5 s"), (0.75, "S3 answers 503 for 5 s")]
    next_sample = started

    def wait_until(moment):
        nonlocal next_sample
        while time.monotonic() < moment:
            now = time.monotonic()
            if now >= next_sample:
                row = [now - started]
                for replica in replicas:
                    try:
                        row.extend(replica.rss_and_fds())
                    except (OSError, StopIteration):
                        row.extend([0, 0])
                samples.append(row)
                next_sample = now + 1.0
            time.sleep(min(0.05, max(0.0, moment - time.monotonic())))

    for share, name in plan:
        wait_until(started + SECONDS * share)
        begin = time.monotonic()
        log(f"fault: {name}")
        if name.startswith("SIGKILL"):
            replicas[0].kill()
            wait_until(time.monotonic() + 3)
            replicas[0].start()
        elif name.startswith("restart PostgreSQL"):
            pg.ctl("restart")
        elif name.startswith("S3 paused"):
            moto.send_signal(signal.SIGSTOP)
            wait_until(time.monotonic() + 5)
            moto.send_signal(signal.SIGCONT)
        else:
            proxy.failing = True
            wait_until(time.monotonic() + 5)
            proxy.failing = False
        windows.append((name, begin - started, time.monotonic() - started))
    wait_until(started + SECONDS)
    return windows, samples


def prove(ledger, pg, clients):
    proofs = []

    def proof(name, ok, detail=""):
        proofs.append((name, ok, detail))

    proof("no request left pending (every client process answered)", not ledger.pending,
          f"{len(ledger.pending)} without an answer")
    alive = [c for c in clients if c.is_alive()]
    proof("every client finished", not alive, f"{len(alive)} still running")
    open_tx = pg.sql("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
                     "AND state_change < now() - interval '5 seconds'")
    proof("no transaction left open in PostgreSQL", open_tx[0][0] == "0", f"{open_tx[0][0]} open")

    rows = pg.sql("SELECT id, external_id, promoted_from FROM artifacts WHERE project = 'drill'")
    by_id = {}
    for build, external, source in rows:
        by_id.setdefault(build, []).append((external, source))
    missing = [b for b in ledger.registered if b not in by_id]
    proof("every acknowledged registration and push is stored", not missing,
          f"missing: {missing[:5]}")
    externals = pg.sql("SELECT external_id, count(*) FROM artifacts WHERE project = 'drill' AND "
                       "origin = 'register' GROUP BY external_id HAVING count(*) > 1")
    proof("each registration is stored once (one row per external id)", not externals,
          f"duplicates: {externals[:5]}")
    missing = [b for b, source in ledger.promoted.items()
               if b not in by_id or by_id[b][0][1] != source]
    proof("every acknowledged promotion is stored", not missing, f"missing: {missing[:5]}")
    twice = pg.sql("SELECT promoted_from, count(*) FROM artifacts WHERE project = 'drill' AND "
                   "promoted_from IS NOT NULL GROUP BY promoted_from HAVING count(*) > 1")
    proof("each promotion is stored once", not twice, f"twice: {twice[:5]}")
    children, in_prod = {}, set()
    for build, source, stage in pg.sql(
            "SELECT id, coalesce(promoted_from, ''), coalesce(routed_to, '') FROM artifacts "
            "WHERE project = 'drill'"):
        children.setdefault(source, []).append(build)
        if stage == "prod":
            in_prod.add(build)

    def reached_prod(build):
        return build in in_prod or any(reached_prod(c) for c in children.get(build, []))

    missing = [r for r, build in ledger.approved.items() if not reached_prod(build)]
    proof("every acknowledged approval completed its promotion into prod", not missing,
          f"missing: {missing[:5]}")

    audited = {}
    for target, action, count in pg.sql(
            "SELECT target, entity_action, count(*) FROM audit_log WHERE stack_name = 'drill' "
            "GROUP BY target, entity_action"):
        audited[(target, action)] = int(count)
    wrong = [b for b in ledger.registered if audited.get((b, "ARTIFACT_REGISTER")) != 1]
    wrong += [b for b in ledger.promoted if audited.get((b, "ARTIFACT_PROMOTE")) != 1]
    proof("the audit has one entry per acknowledged registration and promotion", not wrong,
          f"wrong: {wrong[:5]}")
    stored_writes = pg.sql("SELECT count(*) FROM artifacts WHERE project = 'drill'")[0][0]
    audit_writes = pg.sql("SELECT count(*) FROM audit_log WHERE stack_name = 'drill' AND "
                          "entity_action IN ('ARTIFACT_REGISTER', 'ARTIFACT_PROMOTE')")[0][0]
    proof("every stored build has exactly one audit entry", stored_writes == audit_writes,
          f"{stored_writes} builds, {audit_writes} entries")

    internal = sorted({op[4] for op in ledger.ops if not op[3] and any(
        sign in op[4] for sign in ("internal error", "HTTP 500", "storage failed"))})
    proof("no request met an internal error (every failure is one a client can act on)",
          not internal, "; ".join(internal[:3]))

    import concurrent.futures
    pushed = list(ledger.pushed.values())
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        problems = list(pool.map(lambda pair: pull_whole(*pair), pushed))
    broken = [f"{repository}@{digest}: {problem}"
              for (repository, digest), problem in zip(pushed, problems) if problem]
    proof("every acknowledged push pulls with all its blobs", not broken, "; ".join(broken[:3]))
    return proofs


def pull_whole(repository, digest):
    import base64
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{ADMIN}:{ADMIN_TOKEN}".encode()).decode(),
        "Accept": "application/vnd.oci.image.manifest.v1+json"}
    status, _, body = http_request("GET", f"/v2/{repository}/manifests/{digest}", auth)
    if status != 200:
        return f"manifest answered {status}"
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        return "manifest digest differs"
    manifest = json.loads(body)
    for blob in [manifest["config"], *manifest["layers"]]:
        status, _, data = http_request("GET", f"/v2/{repository}/blobs/{blob['digest']}", auth)
        if status in (302, 307):
            return f"blob {blob['digest']} redirected"
        if status != 200:
            return f"blob {blob['digest']} answered {status}"
        if "sha256:" + hashlib.sha256(data).hexdigest() != blob["digest"]:
            return f"blob {blob['digest']} content differs"
    return None


def summarize(ledger, windows, samples, elapsed, proofs):
    lines = [f"## Fault drill: {len(ledger.ops)} operations from {CLIENTS} clients in "
             f"{elapsed:.0f} s through HAProxy to 2 replicas (PostgreSQL, S3 via moto)", ""]
    kinds = sorted({op[2] for op in ledger.ops})
    lines.append("| operation | count | failed | p50 ms | p99 ms |")
    lines.append("|---|---:|---:|---:|---:|")
    for kind in kinds:
        ops = [op for op in ledger.ops if op[2] == kind]
        took = [(op[1] - op[0]) * 1000 for op in ops]
        lines.append(f"| {kind} | {len(ops)} | {sum(not op[3] for op in ops)} | "
                     f"{percentile(took, 0.5):.0f} | {percentile(took, 0.99):.0f} |")
    lines += ["", "| fault | window s | ops overlapping | failed | error rate | p99 ms | "
              "recovered s after its end |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, begin, end in windows:
        overlapping = [op for op in ledger.ops if op[0] - ledger.started <= end and
                       op[1] - ledger.started >= begin]
        failed = [op for op in overlapping if not op[3]]
        took = [(op[1] - op[0]) * 1000 for op in overlapping]
        last_end = max((op[1] - ledger.started for op in overlapping), default=end)
        rate = 100.0 * len(failed) / len(overlapping) if overlapping else 0.0
        lines.append(f"| {name} | {begin:.1f}–{end:.1f} | {len(overlapping)} | {len(failed)} | "
                     f"{rate:.1f} % | {percentile(took, 0.99):.0f} | {max(0.0, last_end - end):.1f} |")
    failures = {}
    for op in ledger.ops:
        if not op[3]:
            message = re.sub(r"[0-9a-f]{32,64}", "…", f"{op[2]}: {op[4]}")
            message = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:…", message)
            failures[message] = failures.get(message, 0) + 1
    if failures:
        lines += ["", "Failures (after wharf's own retries), by message:"]
        for message, count in sorted(failures.items(), key=lambda kv: -kv[1])[:20]:
            lines.append(f"- {count} × {message}")
    lines += ["", "Proofs:"]
    for name, ok, detail in proofs:
        lines.append(f"- {'ok' if ok else 'FAILED'}: {name}" + ("" if ok else f" ({detail})"))
    if samples:
        lines += ["", "Each replica's RSS (MiB) and open file descriptors over the run (replica 1 "
                  "is the one killed and restarted):", "",
                  "| at s | replica 1 RSS | replica 1 fds | replica 2 RSS | replica 2 fds |",
                  "|---:|---:|---:|---:|---:|"]
        picks = sorted({int(i * (len(samples) - 1) / 10) for i in range(11)})
        for i in picks:
            at, rss1, fds1, rss2, fds2 = samples[i]
            lines.append(f"| {at:.0f} | {rss1 / 1024:.1f} | {fds1} | {rss2 / 1024:.1f} | {fds2} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
