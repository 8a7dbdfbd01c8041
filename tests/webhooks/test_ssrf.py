"""The SSRF guard, on its own (a fake resolver stands in for DNS)."""

from __future__ import annotations

import asyncio

import pytest

from beyondpay.webhooks.ssrf import (
    URL_CHARS_MAX,
    Resolver,
    UrlInvalidError,
    VettedUrl,
    check_url,
)


def _resolver(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def _never_answers(host: str, port: int) -> list[str]:
    await asyncio.sleep(60)
    return []


async def _fails(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


async def _check(
    url: str, *, livemode: bool, allow: bool = True, resolver: Resolver | None = None
) -> VettedUrl:
    return await check_url(
        url,
        livemode=livemode,
        allow_private_test_urls=allow,
        resolver=resolver or _resolver("93.184.215.14"),
    )


async def _refused(url: str, **kwargs: object) -> UrlInvalidError:
    with pytest.raises(UrlInvalidError) as raised:
        await _check(url, **kwargs)  # type: ignore[arg-type]
    assert raised.value.param == "url"
    assert raised.value.status == 400
    return raised.value


LIVE_REFUSED = [
    "http://127.0.0.1",
    "https://127.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://localhost/hook",
    "https://app.localhost/hook",
    "https://100.64.0.1/hook",  # CGNAT
    "https://192.168.1.10/hook",
    "https://172.16.0.1/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://0.0.0.0/hook",
    "https://240.0.0.1/hook",  # reserved
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "https://[::ffff:169.254.169.254]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[fd00::1]/hook",  # ULA
    "https://[fe80::1]/hook",  # link-local
    "https://[::]/hook",
    "https://[2002:7f00:1::1]/hook",  # 6to4 around 127.0.0.1
    "https://192.0.2.1/hook",  # documentation range: not routable
]


@pytest.mark.parametrize("url", LIVE_REFUSED)
async def test_live_mode_refuses_non_public_addresses(url: str) -> None:
    error = await _refused(url, livemode=True)
    assert url not in error.message  # the URL (and any token in it) is not echoed


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1", "http://127.0.0.1", "http://[::1]", "http://1.1.1.1/hook"]
)
async def test_live_mode_needs_https(url: str) -> None:
    await _refused(url, livemode=True)


async def test_live_mode_refuses_a_name_resolving_to_a_private_address() -> None:
    await _refused("https://hooks.example.com/x", livemode=True, resolver=_resolver("10.1.2.3"))
    # One private address among public ones is enough: the delivery could land on it.
    mixed = _resolver("93.184.215.14", "127.0.0.1")
    await _refused("https://hooks.example.com/x", livemode=True, resolver=mixed)
    mapped = _resolver("::ffff:192.168.0.1")
    await _refused("https://hooks.example.com/x", livemode=True, resolver=mapped)


async def test_live_mode_accepts_public_https_and_returns_the_vetted_addresses() -> None:
    resolver = _resolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14")
    vetted = await _check("https://hooks.example.com:8443/in?x=1", livemode=True, resolver=resolver)
    assert vetted.scheme == "https"
    assert vetted.host == "hooks.example.com"
    assert vetted.port == 8443
    assert vetted.addresses == ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    literal = await _check("https://[::ffff:93.184.215.14]/", livemode=True)
    assert literal.addresses == ("::ffff:5db8:d70e",)
    assert literal.port == 443


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3000/hook", "http://10.0.0.1", "http://[::1]:8080/", "https://localhost/"],
)
async def test_test_mode_allows_loopback_and_private_by_default(url: str) -> None:
    vetted = await _check(url, livemode=False, resolver=_resolver("127.0.0.1", "::1"))
    assert vetted.addresses


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3000/hook", "http://10.0.0.1", "http://[::1]:8080/", "http://localhost/"],
)
async def test_the_operator_setting_refuses_private_test_urls(url: str) -> None:
    await _refused(url, livemode=False, allow=False, resolver=_resolver("127.0.0.1"))
    # http itself stays allowed in test mode, to public addresses.
    assert await _check("http://1.1.1.1/hook", livemode=False, allow=False)


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://224.0.0.1/"],
)
async def test_metadata_link_local_and_multicast_are_refused_even_in_test_mode(url: str) -> None:
    await _refused(url, livemode=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "example.com/hook",
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https:///hook",
        "https://example.com:99999/hook",
        "https://exa mple.com/hook",
        "https://example.com/\nhook",
        "https://example.com/" + "a" * URL_CHARS_MAX,
    ],
)
async def test_malformed_urls_are_refused(url: str) -> None:
    await _refused(url, livemode=False)


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    await _refused("https://nowhere.invalid/", livemode=True, resolver=_fails)
    await _refused("https://nowhere.invalid/", livemode=True, resolver=_resolver())


async def test_resolution_is_bounded_by_a_timeout() -> None:
    with pytest.raises(UrlInvalidError):
        await check_url(
            "https://slow.example.com/",
            livemode=True,
            allow_private_test_urls=True,
            resolver=_never_answers,
            timeout_s=0.05,
        )


async def test_the_system_resolver_resolves_localhost() -> None:
    vetted = await check_url("http://localhost:9/", livemode=False, allow_private_test_urls=True)
    assert set(vetted.addresses) <= {"127.0.0.1", "::1"}
    assert vetted.addresses
