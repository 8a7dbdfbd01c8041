"""PSP P2P pays per second over HTTP, with the UPI PIN's Argon2id check measured apart and a bare
FastAPI route doing one INSERT measured beside it in the same run.

    .venv/bin/python bench/psp.py [--seconds 10] [--connections 16] [--warmup 2] [--payers 64]
                                  [--workers 1] [--smoke]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own database on it) or the
embedded server. The servers are bench/api.py's (uvicorn, rate limits off, no background
worker; one process pinned to the first core, or ``--workers N`` processes). ``--payers``
payers are made over HTTP the way a payer app makes them (docs/psp.md "Try it"): an OTP read
from the sandbox SMS sink, sign-up, the device bound with the sandbox SIM attestation, an
account linked at sandbox bank A (all at one bank: see ``PAYER_BANK``), the UPI PIN set, a
VPA. The first half of them pay the second half, each its own payee, once one after the other
before the clock starts (a payer's first move makes its sandbox bank accounts). Then, closed
loop on ``--connections`` keep-alive connections pinned to the second core, each ``POST
/v1/psp/payments`` pays ₹10, the pairs taken in turn so that none pays more than
``PAYS_PER_PAYER_MAX`` times (NPCI's caps, 20 P2P payments and ₹1,00,000 a day, ₹5,000 on a
new device, and the default velocity rule never bind). Only a 200 whose payment ``succeeded``
counts; any other answer is counted, printed, and makes the run exit 1. When every payer has
paid its share, the load stops and the figure says so.

Each payment checks the payer's UPI PIN, an Argon2id hash (psp/banking/pins.py) that costs tens
of milliseconds of CPU by design; the benchmark measures ``verify_pin`` alone on one core in
the same run and prints checks/s beside pays/s. ``--smoke`` runs every step briefly with a few
payers, for CI: its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import httpx

import api
import payments
from bench_support import recreate, server_url
from beyondpay.db.migrate import upgrade

BENCH_DATABASE: Final = "beyondpay_bench_psp"
PIN: Final = "2580"
# Every payer banks at one sandbox bank: pays between the two banks in both directions at once
# deadlock in the sandbox banks' books today (each bank's move locks its own accounts, in the
# opposite order for the other direction), which would measure the sandbox, not the PSP.
PAYER_BANK: Final = "sbx1"
PAY_AMOUNT_MINOR: Final = 10_00  # ₹10: far below every cap
PAYS_PER_PAYER_MAX: Final = 8  # under the default velocity rule and NPCI's 20 a day
SIGN_UP_CONCURRENCY: Final = 8
ARGON2_CHECKS: Final = 30
SMOKE_PAYERS: Final = 4
SMOKE_ARGON2_CHECKS: Final = 3
SUCCEEDED: Final = b'"status":"succeeded"'


@dataclass(frozen=True)
class Payer:
    access_token: str
    vpa: str


# --- the payers, made over HTTP as a payer app makes them --------------------------------------


async def _post(client: httpx.AsyncClient, path: str, data: dict[str, Any], token: str = "") -> Any:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await client.post(path, json=data, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(f"POST {path}: HTTP {answer.status_code} {answer.text[:300]}")
    return answer.json()


async def ready_payer(client: httpx.AsyncClient, number: int) -> Payer:
    # Ends in 2: the sandbox banks hold an account for it at both banks.
    mobile = f"9{secrets.randbelow(10**8):08d}2"
    await _post(client, "/v1/psp/otp", {"mobile": mobile, "purpose": "signup"})
    sms = await client.get("/v1/psp/sandbox/sms", params={"mobile": mobile, "limit": 1})
    code = next(word for word in sms.json()["data"][0]["body"].split() if word.isdigit())
    session = await _post(
        client, "/v1/psp/signup", {"mobile": mobile, "otp": code, "name": f"Payer {number}"}
    )
    token = session["access_token"]
    device = f"bench-phone-{uuid.uuid4().hex[:12]}"
    attested = await _post(
        client, "/v1/psp/sandbox/sim_attestations", {"mobile": mobile, "device_id": device}
    )
    bound = await _post(
        client,
        "/v1/psp/devices",
        {"device_id": device, "binding_token": attested["binding_token"], "name": "Phone"},
        token,
    )
    token = bound.get("access_token", token)
    card = {"card_last6": mobile[-6:], "card_expiry_month": 12, "card_expiry_year": 2030}
    account = await _post(client, "/v1/psp/bank_accounts", {"bank": PAYER_BANK, **card}, token)
    await _post(client, f"/v1/psp/bank_accounts/{account['id']}/pin", {"pin": PIN, **card}, token)
    vpa = await _post(
        client,
        "/v1/psp/vpas",
        {"username": f"bench{number}x{secrets.token_hex(3)}", "bank_account": account["id"]},
        token,
    )
    return Payer(token, vpa["vpa"])


async def ready_payers(port: int, count: int) -> list[Payer]:
    gate = asyncio.Semaphore(SIGN_UP_CONCURRENCY)
    async with httpx.AsyncClient(base_url=f"http://{api.HOST}:{port}", timeout=60) as client:

        async def one(number: int) -> Payer:
            async with gate:
                return await ready_payer(client, number)

        return list(await asyncio.gather(*(one(number) for number in range(count))))


# --- the load: P2P pays, closed loop ---------------------------------------------------------


def _pay_request(port: int, payer: Payer, payee: Payer) -> bytes:
    body = json.dumps(
        {
            "client_request_id": uuid.uuid4().hex,
            "vpa": payee.vpa,
            "amount": PAY_AMOUNT_MINOR,
            "pin": PIN,
        }
    ).encode()
    return (
        f"POST /v1/psp/payments HTTP/1.1\r\nHost: {api.HOST}:{port}\r\n"
        f"Authorization: Bearer {payer.access_token}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def pairs_of(payers: list[Payer]) -> list[tuple[Payer, Payer]]:
    """The first half of the payers pay the second half, each always the same payee: no payer is
    paid while it pays, so two pays never lock each other's accounts in opposite orders."""
    half = len(payers) // 2
    return list(zip(payers[:half], payers[half:], strict=False))


async def first_pays(port: int, payers: list[Payer]) -> None:
    """Each payer pays once, one after the other, before any clock starts: a payer's first
    move makes its accounts in the sandbox bank's ledger, and the server process loads the
    risk model on its first payment; neither is a steady-state pay."""
    reader, writer = await asyncio.open_connection(api.HOST, port)
    try:
        for payer, payee in pairs_of(payers):
            writer.write(_pay_request(port, payer, payee))
            status, content = await api._response(reader)
            if status != 200 or SUCCEEDED not in content:
                raise RuntimeError(f"a first pay failed: {payments.describe(status, content)}")
    finally:
        writer.close()


async def pay_load(
    port: int, payers: list[Payer], connections: int, warmup: float, seconds: float
) -> dict[str, Any]:
    # Rounds over the pairs, the first round already paid.
    pairs = iter([pair for _ in range(PAYS_PER_PAYER_MAX - 1) for pair in pairs_of(payers)])
    unexpected: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    measure_from = time.perf_counter() + warmup
    measure_until = measure_from + seconds
    ran_out = False
    answered = 0

    async def connection() -> int:
        nonlocal ran_out, answered
        reader, writer = await asyncio.open_connection(api.HOST, port)
        paid = 0
        try:
            while (started := time.perf_counter()) < measure_until:
                pair = next(pairs, None)
                if pair is None:
                    ran_out = True
                    break
                writer.write(_pay_request(port, *pair))
                status, content = await api._response(reader)
                finished = time.perf_counter()
                answered += 1
                if status != 200 or SUCCEEDED not in content:
                    unexpected[payments.describe(status, content)] += 1
                    continue
                if measure_from <= finished <= measure_until:
                    paid += 1
                    latencies.append(finished - started)
        finally:
            writer.close()
        return paid

    begun = time.perf_counter()
    paid = sum(await asyncio.gather(*(connection() for _ in range(connections))))
    # If the payers ran out, the window is what ran of it.
    window_s = max(1e-9, min(time.perf_counter(), measure_until) - max(begun, measure_from))
    latencies.sort()
    count = len(latencies)
    return {
        "rate": paid / window_s if ran_out else paid / seconds,
        "p50_ms": latencies[count // 2] * 1000 if count else float("nan"),
        "p99_ms": latencies[min(count - 1, count * 99 // 100)] * 1000 if count else float("nan"),
        "unexpected": dict(unexpected),
        "ran_out": ran_out,
        "answers_with_warmup": answered,
    }


def argon2_checks_per_s(checks: int) -> float:
    """``verify_pin`` back to back on this process's one core: the PIN's cost alone."""
    from pydantic import SecretStr

    from beyondpay.kit.crypto import KeyRing
    from beyondpay.psp.banking.pins import hash_pin, verify_pin

    ring = KeyRing.parse(KeyRing.generate_entry("argon2"))
    stored = hash_pin(ring, SecretStr(PIN), "pba_bench")
    started = time.perf_counter()
    for _ in range(checks):
        if not verify_pin(ring, stored, SecretStr(PIN), "pba_bench"):
            raise RuntimeError("the PIN check failed")
    return checks / (time.perf_counter() - started)


@contextlib.contextmanager
def on_generator_core() -> Iterator[None]:
    """This process on the second core while it loads the server (which is on the first), then
    back on every core, so the servers it starts next are not confined with it."""
    every = os.sched_getaffinity(0)
    api.pin(api.GENERATOR_CPU)
    try:
        yield
    finally:
        os.sched_setaffinity(0, every)


def run(arguments: argparse.Namespace) -> int:
    from beyondpay.kit.crypto import KeyRing

    ring_text = KeyRing.generate_entry("bench")
    server, embedded = server_url()
    workers = arguments.workers
    unexpected: dict[str, int] = {}
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        print(
            f"PSP benchmark: P2P pays of ₹10, {arguments.payers // 2} payers each paying its own"
            f" payee in turn (at most {PAYS_PER_PAYER_MAX} each),"
            f" {arguments.connections} connections, {arguments.seconds:g} s after"
            f" {arguments.warmup:g} s of warm-up;"
            f" {api.server_description(workers)}, {os.cpu_count()} cores"
            + (" (smoke: figures mean nothing)" if arguments.smoke else ""),
            flush=True,
        )
        beyondpay = payments.Server("beyondpay", url, ring_text, workers)
        try:
            started = time.perf_counter()
            payers = asyncio.run(ready_payers(beyondpay.port, arguments.payers))
            print(
                f"  {len(payers)} payers signed up, bound, linked, PIN set, VPA made over HTTP in"
                f" {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            asyncio.run(first_pays(beyondpay.port, payers))
            payments.settle(url)
            cpu_before_s = api.process_cpu_s(beyondpay.process.pid)
            with on_generator_core():
                result = asyncio.run(
                    pay_load(
                        beyondpay.port,
                        payers,
                        arguments.connections,
                        arguments.warmup,
                        arguments.seconds,
                    )
                )
            cpu_ms = (api.process_cpu_s(beyondpay.process.pid) - cpu_before_s) * 1000
        finally:
            api.stop(beyondpay.process)
        unexpected = result["unexpected"]
        print(
            f"  {'beyondpay POST /v1/psp/payments':<40} {result['rate']:>7,.1f} pays/s"
            f"   p50 {result['p50_ms']:7.2f} ms   p99 {result['p99_ms']:7.2f} ms"
            f"   server CPU {cpu_ms / max(1, result['answers_with_warmup']):.2f} ms/pay"
            + ("   (the payers ran out before the window closed)" if result["ran_out"] else "")
        )
        for answer, count in sorted(unexpected.items()):
            print(f"    NOT PAID: {count} answers: {answer}")
        with on_generator_core():
            checks = argon2_checks_per_s(SMOKE_ARGON2_CHECKS if arguments.smoke else ARGON2_CHECKS)
        print(
            f"  {'Argon2id PIN check alone, one core':<40} {checks:>7,.1f} checks/s"
            f"   ({1000 / checks:.1f} ms each; each pay makes one)"
        )
        with payments.running("insert", url, ring_text, workers, "sk_none") as reference_server:
            reference = payments.Measurer(url, arguments)(reference_server, "insert", ["sk_none"])
        print(payments._line("bare FastAPI + one INSERT (reference)", reference, "inserts"))
        print(f"  ratio, pays/s / reference: {result['rate'] / reference['rate']:.1%}")
    finally:
        if embedded is not None:
            embedded.stop()
    return 1 if unexpected else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--payers", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--smoke", action="store_true", help="about a second per step (for CI)")
    arguments = parser.parse_args()
    arguments.profile = None
    api.smoke(arguments)
    if arguments.smoke:
        arguments.payers = min(arguments.payers, SMOKE_PAYERS)
    if arguments.payers < 2:
        parser.error("--payers must be at least 2: half of them pay the other half")
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
