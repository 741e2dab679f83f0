"""The `plaza` command as a user runs it: run (HTTP), chat (terminal), train, test, db upgrade."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from connectors.cli import render, to_inbound
from plaza.messages import Button, Card, Reply
from plaza.storage.migrate import SCHEMA_REVISION
from plaza.testing.apps import TestApps

from .conftest import APP_DIR

PLAZA = [sys.executable, "-m", "plaza.cli"]


@pytest.fixture(scope="module")
def trained(apps: TestApps) -> None:
    """Train the models once (in-process, fast) before subprocesses need them."""
    subprocess.run([*PLAZA, "train"], cwd=APP_DIR, check=True, capture_output=True, timeout=300)


def env_with_db(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("PLAZA_DATABASE_URL"):
        env["PLAZA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return env


def test_terminal_numbers_buttons_and_a_number_presses_one() -> None:
    replies = [
        Reply(text="Here:", cards=(Card("Bellini", "Italian", None, (Button("Book", "/book_a"),)),)),
        Reply(text="Or:", buttons=(Button("Yes", "/affirm"), Button("No", "/deny"))),
    ]
    rendered = render(replies)
    assert rendered.text.splitlines() == [
        "Here:",
        "Bellini",
        "Italian",
        "  1. Book",
        "Or:",
        "  2. Yes",
        "  3. No",
    ]
    pressed = to_inbound("2", sender="me", language="fr", choices=rendered.choices)
    assert (pressed.payload, pressed.text, pressed.language) == ("/affirm", "Yes", "fr")
    typed = to_inbound("4", sender="me", language=None, choices=rendered.choices)  # no 4th button: it is text
    assert (typed.payload, typed.text) == (None, "4")


def test_plaza_chat_in_the_terminal(trained: None, tmp_path: Path) -> None:
    # a day ahead, on which every place in the Marais is open: the test must not depend on the hour it runs
    script = "une table pour deux jeudi prochain vers 20h dans le Marais\n1\noui\n/quit\n"
    done = subprocess.run(
        [*PLAZA, "chat", "--lang", "fr"],
        cwd=APP_DIR,
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        env=env_with_db(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "bot> Voici des adresses" in out
    assert "bot>   1. Réserver" in out
    assert "Je réserve" in out
    assert "C'est réservé !" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: dict) -> tuple[int, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_plaza_run_serves_until_stopped(trained: None, tmp_path: Path) -> None:
    port = free_port()
    env = env_with_db(tmp_path) | {"PLAZA_PORT": str(port)}
    server = subprocess.Popen(
        [*PLAZA, "run"], cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "not ready in 60 s"
            time.sleep(0.05)
        status, replies = post(base + "/webhooks/rest/webhook", {"sender": "tess", "message": "hello"})
        assert status == 200
        assert isinstance(replies, list)
        assert replies[0]["recipient_id"] == "tess"
        status, error = post(base + "/webhooks/rest/webhook", {"sender": "tess"})
        assert status == 400
        assert "missing field 'message'" in error["error"]  # type: ignore[index]
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"Plaza is ready on http://127.0.0.1:{port}" in out


def test_plaza_train_retrains_only_what_changed(trained: None) -> None:
    done = subprocess.run([*PLAZA, "train"], cwd=APP_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "0 model(s) trained" in done.stdout
    assert "up to date  restaurant/en" in done.stderr


def test_plaza_db_upgrade_and_config_errors(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PLAZA, "db", "upgrade"],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env=env_with_db(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert f"database is at revision {SCHEMA_REVISION} (head {SCHEMA_REVISION})" in done.stdout
    missing = subprocess.run(
        [*PLAZA, "--app", str(tmp_path), "run"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2
    assert "no config.yml" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_plaza_test_runs_the_conversation_tests(trained: None) -> None:
    done = subprocess.run(
        [*PLAZA, "test", "tests/conversations/restaurant_fr.yml"],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert " 0 failed" in done.stdout


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("{no_such_option: 1}", "plaza: unknown NLU pipeline option(s): no_such_option"),
        (
            "{sentence_encoder: bert}",
            "plaza: unknown sentence_encoder 'bert' (expected one of: minilm, auto)",
        ),
        (
            "{crf_algorithm: bogus}",  # was crfsuite's "Bad arguments" from a worker
            "plaza: NLU pipeline option 'crf_algorithm' must be 'lbfgs', 'l2sgd', 'ap', 'pa' or 'arow',"
            " got 'bogus'",
        ),
        (
            "{intent_c: 0}",  # was scikit-learn's ValueError
            "plaza: NLU pipeline option 'intent_c' must be a finite number above 0, got 0.0",
        ),
        (
            "{n_jobs: 0}",  # was accepted
            "plaza: NLU pipeline option 'n_jobs' must be an integer of at least 1, or -1 (every core), got 0",
        ),
        (
            "[{name: WhitespaceTokenizer}, {name: DIETClassifier}]",
            "nlu.pipeline: Plaza's pipeline is a mapping of options (e.g. `pipeline: {intent_c: 0.5}`,"
            " docs/nlu.md), not Rasa's list of components",
        ),
    ],
)
def test_a_bad_nlu_pipeline_in_config_is_one_line(tmp_path: Path, pipeline: str, message: str) -> None:
    app = tmp_path / "app"
    shutil.copytree(APP_DIR, app, ignore=shutil.ignore_patterns(".plaza", "data", "tests", ".git", ".venv*"))
    config = app / "config.yml"
    text = config.read_text(encoding="utf-8")
    assert "  pipeline: {}" in text
    config.write_text(text.replace("  pipeline: {}", f"  pipeline: {pipeline}", 1), encoding="utf-8")
    done = subprocess.run([*PLAZA, "--app", str(app), "train"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1  # one line: no traceback
