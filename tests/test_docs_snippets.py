"""Every shell and Python snippet of README.md and docs/quickstart.md, run as written against a
real server (the API with its worker, on loopback), in the order a reader meets them.

A snippet is a fenced block marked ``sh`` or ``python``; ``text`` and ``json`` blocks show output
and are not run, and a block marked otherwise (or not at all) fails the test, so nothing is left
out unseen. A snippet that cannot run unattended says so in the doc, in an HTML comment on the
line before its fence, with its reason:

- ``<!-- snippet: skip, because … -->``: not run (``make run`` serves until stopped);
- ``<!-- snippet: background, because … -->``: a Python server, run in a process of its own while
  the snippets after it run, stopped at the end (the quickstart's webhook receiver).

What a reader substitutes, the test substitutes the same way, as the docs tell them:

- the URL ``make run`` prints (``http://127.0.0.1:8000``) becomes the test server's;
- the ``sk_test_…`` key it prints becomes a test merchant's;
- an id left as ``pi_…`` / ``re_…`` in a shell snippet is the one the Python snippets before it
  made (the docs' "read it back with curl");
- ``.venv/bin/`` is the virtual environment running the tests (what ``make run`` installs);
- ``WEBHOOK_SECRET`` is the ``whsec_…`` the endpoint was created with, and the receiver's port
  4242 a free one;
- shell commands run from the project's folder with the server's settings, as a terminal next to
  ``make run`` would (``beyondpay`` commands find the same database and keys).

Python snippets of one doc share one namespace, as when run one after the other in a session. A
``print(…)`` whose comment is made only of words and ids (``# pi_… succeeded ch_…``) promises that
output: a line of it must match, ``…`` standing for the rest of an id. A shell snippet whose
output holds an API error (``curl`` exits 0 on a 4xx) fails.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import orjson
import psycopg
import pytest

from beyondpay.db.urls import libpq_url, with_database
from beyondpay.kit.settings import Settings, get_settings
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, serving
from tests.support import TEST_RING_TEXT

ROOT: Final = Path(__file__).resolve().parent.parent
DOCS: Final = ("README.md", "docs/quickstart.md")
RUN: Final = frozenset({"sh", "python"})
SHOWN: Final = frozenset({"text", "json"})
DOC_URL: Final = "http://127.0.0.1:8000"
DOC_KEY: Final = "sk_test_…"
DOC_WEBHOOK_PORT: Final = 4242
SNIPPET_TIMEOUT_S: Final = 120.0
WEBHOOK_WAIT_S: Final = 30.0
_MARKER = re.compile(r"<!-- snippet: (skip|background), because (.+\S) -->")
_FENCE = re.compile(r"^```(\S*)\s*$")
_ELIDED_ID = re.compile(r"\b([a-z]+)_…")
# A comment after print() made only of words, dotted names and ids: the output it promises.
_PROMISE = re.compile(r"^\s*print\(.*\)\s+#\s+(?P<words>[\w.…]+(?: [\w.…]+)*)\s*$")


@dataclass(frozen=True)
class Snippet:
    doc: str
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    marker: str | None  # "skip" | "background" | None
    reason: str | None

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def snippets(doc: str) -> list[Snippet]:
    lines = (ROOT / doc).read_text().splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marked = _MARKER.fullmatch(lines[index - 1].strip()) if index > 0 else None
        found.append(
            Snippet(
                doc,
                index + 1,
                opened.group(1),
                "\n".join(lines[index + 1 : end]) + "\n",
                marked.group(1) if marked else None,
                marked.group(2) if marked else None,
            )
        )
        index = end + 1
    return found


def test_every_fence_says_what_it_holds_and_every_exclusion_why() -> None:
    problems: list[str] = []
    for doc in DOCS:
        for snippet in snippets(doc):
            if snippet.language not in RUN | SHOWN:
                problems.append(f"{snippet.where}: a fence marked {snippet.language!r}")
            if snippet.marker is not None and snippet.language not in RUN:
                problems.append(f"{snippet.where}: a marker on a block that is never run")
            if snippet.marker == "background" and snippet.language != "python":
                problems.append(f"{snippet.where}: only a Python snippet runs in the background")
    assert not problems, "\n".join(problems)
    # The exclusions are few and each is one a reader would not run unattended either.
    skipped = [s.where for doc in DOCS for s in snippets(doc) if s.marker == "skip"]
    assert len(skipped) == 2, skipped


# ---- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    name = f"beyondpay_docs_{uuid.uuid4().hex[:16]}"
    admin = libpq_url(postgres_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield with_database(postgres_server_url, name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server_url(docs_database_url: str) -> Iterator[str]:
    # The worker runs in it, as in `make run`: it approves the UPI payer and delivers webhooks.
    settings = Settings(
        secret_keys=TEST_RING_TEXT,
        rate_limit_test_per_key="1000/second",
        sandbox_upi_approval_delay_s=0.5,
    )
    # The webhook deliverer signs with the ring of the process's settings (the environment's,
    # as `serve` has it, read once): the ring the endpoints are sealed with.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEYONDPAY_SECRET_KEYS", TEST_RING_TEXT)
        get_settings.cache_clear()
        try:
            with serving(settings, docs_database_url, run_worker=True) as url:
                yield url
        finally:
            get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- running the snippets -----------------------------------------------------------------------


class Reader:
    """A reader going through one doc: the terminal's environment, the Python session, the
    servers left running in the background."""

    def __init__(self, server_url: str, database_url: str, key: str) -> None:
        self.server_url = server_url
        self.key = key
        self.webhook_port = _free_port()
        self.namespace: dict[str, Any] = {"__name__": "__docs__"}
        self.background: list[tuple[Snippet, subprocess.Popen[str]]] = []
        host, port = server_url.removeprefix("http://").rsplit(":", 1)
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "BEYONDPAY_DATABASE_URL": database_url,
            "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT,
            "BEYONDPAY_HOST": host,
            "BEYONDPAY_PORT": port,
            # `pip install` of what is installed already must not reach for the network.
            "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHONUNBUFFERED": "1",  # a receiver's prints arrive as in a terminal
        }

    def substituted(self, code: str) -> str:
        code = code.replace(DOC_URL, self.server_url).replace(DOC_KEY, self.key)
        code = code.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
        return re.sub(rf"\b{DOC_WEBHOOK_PORT}\b", str(self.webhook_port), code)

    def run(self, snippet: Snippet) -> None:
        if snippet.marker == "skip" or snippet.language not in RUN:
            return
        code = self.substituted(snippet.code)
        if snippet.marker == "background":
            self._start(snippet, code)
        elif snippet.language == "python":
            self._python(snippet, code)
        else:
            self._shell(snippet, self._with_ids(snippet, code))

    def _python(self, snippet: Snippet, code: str) -> None:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, snippet.where, "exec"), self.namespace)
        _check_promises(snippet, printed.getvalue())

    def _with_ids(self, snippet: Snippet, code: str) -> str:
        """``pi_…`` → the id of the payment intent the Python snippets made last, and so on."""

        def made(match: re.Match[str]) -> str:
            prefix = match.group(1) + "_"
            ids = [
                value.id
                for value in self.namespace.values()
                if isinstance(getattr(value, "id", None), str) and value.id.startswith(prefix)
            ]
            assert ids, f"{snippet.where}: no {prefix}… was made before this snippet"
            return str(ids[-1])

        return _ELIDED_ID.sub(made, code)

    def _shell(self, snippet: Snippet, code: str) -> None:
        done = subprocess.run(
            ["bash", "-e", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=SNIPPET_TIMEOUT_S,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{snippet.where} exited {done.returncode}:\n{output}"
        # A command missing inside "$(…)" leaves the command around it running: not a success.
        assert "command not found" not in done.stderr, f"{snippet.where}:\n{done.stderr}"
        for line in done.stdout.splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                answer = orjson.loads(line)
                assert not (isinstance(answer, dict) and "error" in answer), (
                    f"{snippet.where} answered an error:\n{line}"
                )

    def _start(self, snippet: Snippet, code: str) -> None:
        env = dict(self.env)
        if "WEBHOOK_SECRET" in code:
            env["WEBHOOK_SECRET"] = self.namespace["endpoint"].secret
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.background.append((snippet, process))

    def stop(self) -> dict[str, str]:
        """Stops what runs in the background; what each printed."""
        outputs: dict[str, str] = {}
        for snippet, process in self.background:
            process.terminate()
            output, _ = process.communicate(timeout=SNIPPET_TIMEOUT_S)
            outputs[snippet.where] = output
        self.background.clear()
        return outputs


def _check_promises(snippet: Snippet, output: str) -> None:
    lines = [line.strip() for line in output.splitlines()]
    for source in snippet.code.splitlines():
        promised = _PROMISE.match(source)
        if promised is None:
            continue
        pattern = r"\S+".join(re.escape(part) for part in promised.group("words").split("…"))
        assert any(re.fullmatch(pattern, line) for line in lines), (
            f"{snippet.where}: {source.strip()!r} printed none of:\n{output}"
        )


def _wait_for_webhook(reader: Reader, promised: str) -> None:
    """A payment after the endpoint was registered, and its webhook printed by the receiver."""
    paid = reader.namespace["client"].v1.payment_intents.create(
        params={"amount": 100, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    deadline = time.monotonic() + WEBHOOK_WAIT_S
    while time.monotonic() < deadline and not _delivered(reader, paid.id):
        time.sleep(0.2)
    [output] = reader.stop().values()
    expected = promised.replace("pi_…", paid.id)
    assert expected in output.splitlines(), f"the receiver printed:\n{output}"


def _delivered(reader: Reader, payment_intent: str) -> bool:
    endpoint = reader.namespace["endpoint"].id
    answer = httpx.get(
        f"{reader.server_url}/v1/webhook_endpoints/{endpoint}/deliveries",
        auth=(reader.key, ""),
        timeout=CLIENT_TIMEOUT_S,
    )
    return any(
        item["status"] == "succeeded" and item["object_id"] == payment_intent
        for item in answer.json()["data"]
    )


# ---- the docs, as written -----------------------------------------------------------------------


async def test_the_readme_runs_as_written(server_url: str, docs_database_url: str) -> None:
    reader = Reader(server_url, docs_database_url, await _key(docs_database_url))
    try:
        for snippet in snippets("README.md"):
            reader.run(snippet)
    finally:
        reader.stop()
    assert reader.namespace["customer"].name == "Asha Rao"


async def test_the_quickstart_runs_as_written(server_url: str, docs_database_url: str) -> None:
    reader = Reader(server_url, docs_database_url, await _key(docs_database_url))
    try:
        for snippet in snippets("docs/quickstart.md"):
            reader.run(snippet)
        namespace = reader.namespace
        assert namespace["intent"].status == "succeeded"  # the UPI payment, waited for
        assert namespace["refund"].status == "succeeded"
        receiver = next(s for s in snippets("docs/quickstart.md") if s.marker == "background")
        [promise] = [m.group("words") for m in map(_PROMISE.match, receiver.code.splitlines()) if m]
        _wait_for_webhook(reader, promise)
    finally:
        reader.stop()


async def _key(database_url: str) -> str:
    return (await new_merchant(database_url)).keys["sk_test"]
