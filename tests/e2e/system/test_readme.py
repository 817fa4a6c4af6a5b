"""The README's shell examples, run as written against a started stack, so the README cannot rot.

Every ```sh block from "A first query" on is run, in order, in one bash session (the blocks share
``Q``, ``TOKEN`` and ``AGENTHUB_API_KEY`` as a reader's shell would), from a directory where
``.venv`` is this interpreter's environment. The only change made to the text: the README's
``http://127.0.0.1:8000`` becomes the test stack's port (``AGENTHUB_URL`` for the CLI likewise).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.stack import ROOT, Isolation, free_port

README_URL = "http://127.0.0.1:8000"


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = text[text.index("## A first query") :]
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def stack_up(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("readme-stack")
    isolation = Isolation(data_dir=tmp_path / "data").create()
    port = free_port()
    log = open(tmp_path / "up.log", "w+")
    env = isolation.env(AGENTHUB_URL=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-m", "agenthub", "up", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the stack did not become ready"
            time.sleep(0.5)
        yield port, env, tmp_path / "up.log"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        isolation.destroy()


def test_the_readme_examples_work_as_written(stack_up, tmp_path):
    port, env, _ = stack_up
    blocks = readme_blocks()
    assert len(blocks) >= 5, "the README lost its examples"
    work = tmp_path / "reader"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))
    script = "set -e -o pipefail\n" + "\n".join(blocks).replace(README_URL, f"http://127.0.0.1:{port}")
    result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out

    assert '"health":{"status":"UP"' in out
    assert '"register":{"id"' in out and '"role":"USER"' in out
    assert '"ingestText":{"id"' in out and '"status":"DONE"' in out  # wait: true
    assert '"mode":"EXTRACTIVE"' in out and "Sea otters hold hands while they sleep." in out
    assert "Nothing relevant was found" not in out
    assert '"runAgent":{"answer"' in out
    assert '"uploadDocuments":[{"filename":"bees.md","job":{"id"' in out
    assert "1 of 1 files ingested" in out
    assert "created admin root" in out
    assert "Traceback" not in out


def test_the_login_line_prints_the_error_when_login_fails(stack_up, tmp_path):
    port, env, _ = stack_up
    sign_in = next(block for block in readme_blocks() if "TOKEN=$(" in block)
    q_line = next(line for line in sign_in.splitlines() if line.startswith("Q()"))
    login = sign_in[sign_in.index("TOKEN=$(") :].split("\n\n")[0].replace("a long passphrase", "wrong passphrase")
    script = "set -e -o pipefail\n" + (q_line + "\n" + login).replace(README_URL, f"http://127.0.0.1:{port}")
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "login failed:" in result.stderr and "Traceback" not in result.stderr


def test_the_development_log_is_readable(stack_up):
    """After the README's session (and a client mistake): one readable line per event, no noise."""
    port, _env, log_path = stack_up
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(
        f"{base}/graphql",
        json={"query": 'mutation { login(input: {username: "ada", password: "a long passphrase"}) { accessToken } }'},
        timeout=30,
    ).json()["data"]["login"]["accessToken"]
    missing = httpx.post(
        f"{base}/graphql",
        json={"query": '{ ingestionJob(id: "no-such-job") { id } }'},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = httpx.post(f"{base}/graphql", content=b'{"query": ', headers={"content-type": "application/json"})
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    deadline = time.monotonic() + 30
    while "rag.job" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = log_path.read_text()
    lines = log.splitlines()
    assert any(" rag " in line and "rag.job" in line and "outcome=NOT_FOUND" in line for line in lines), log[-3000:]
    assert any(" gateway " in line and " ingestText /graphql " in line for line in lines)  # what was asked
    assert "Traceback" not in log and "(expected) error" not in log
    assert not any(line.lstrip().startswith("{") for line in lines)  # console lines, not JSON
    assert "/readyz" not in log  # probes are DEBUG
    assert not [line for line in lines if " INFO " in line and ".health" in line]  # health polls too
    assert "reap_expired_jobs" not in log
    assert "Loading weights" not in log and "it/s]" not in log  # no progress bars
