"""A real `wharf serve` for the SDK suite: started once, on a loopback port, over the shop
example; known to be up when it prints where it listens (no sleeping)."""

import os
import pathlib
import secrets
import subprocess
import tempfile
import threading

import pytest
import swagger_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADMIN = "admin"


class Server:
    def __init__(self, url, token, log):
        self.url = url
        self.token = token
        self.log = log

    def client(self, username=ADMIN, token=None):
        config = swagger_client.Configuration()
        config.host = self.url
        config.username = username
        config.password = token or self.token
        return swagger_client.ApiClient(config)


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("WHARF_BIN", str(ROOT / "target/debug/wharf"))
    token = "sdk-admin-" + secrets.token_hex(12)
    data = tempfile.mkdtemp(prefix="wharf-sdk-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WHARF_ADMIN_USERNAME": ADMIN,
        "WHARF_ADMIN_TOKEN": token,
        # Registry passwords are sealed at rest: a fresh key for this run.
        "WHARF_SECRET_KEY": secrets.token_hex(32),
    }
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data", data + "/data",
         "--config", str(ROOT / "examples/shop/wharf.toml")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=env, text=True,
    )
    log = []
    url = None
    for line in process.stderr:
        log.append(line)
        if line.startswith("wharf serve: listening on "):
            url = line.removeprefix("wharf serve: listening on ").strip()
            break
    if url is None:
        process.kill()
        pytest.fail("wharf serve did not start:\n" + "".join(log))
    drain = threading.Thread(target=lambda: log.extend(process.stderr), daemon=True)
    drain.start()
    yield Server(url, token, log)
    process.terminate()
    process.wait(timeout=30)
    drain.join(timeout=30)
    assert token not in "".join(log), "the admin token leaked into the server log"
