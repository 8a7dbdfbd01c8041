"""Every BEYONDPAY_* setting is documented in docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from beyondpay.kit.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    for name in Settings.model_fields:
        assert f"BEYONDPAY_{name.upper()}" in text, name


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEYONDPAY_PORT", "9001")
    monkeypatch.setenv("BEYONDPAY_DATABASE_URL", "postgresql://u:p@h/db")
    settings = Settings()
    assert settings.port == 9001
    assert settings.database_url_value() == "postgresql://u:p@h/db"
    assert "p@h" not in repr(settings)  # the URL's password never reaches a repr or a log


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("BEYONDPAY_LOG_LEVEL", "chatty")
    with pytest.raises(ValidationError, match="log_level"):
        Settings()


def test_doctor_refuses_the_development_ring_with_a_configured_database(tmp_path: Path) -> None:
    from beyondpay.kit.crypto import KeyRing
    from beyondpay.kit.services import check_key_ring

    # Checking never makes a ring: one made here would not be the server's.
    before_serve = check_key_ring(Settings(data_dir=tmp_path))
    assert not before_serve.ok and "no development ring" in before_serve.detail
    assert not (tmp_path / "secret_keys").exists()
    Settings(data_dir=tmp_path).key_ring()  # what `beyondpay serve` does on a laptop
    laptop = check_key_ring(Settings(data_dir=tmp_path))
    assert laptop.ok
    assert (tmp_path / "secret_keys").stat().st_mode & 0o777 == 0o600
    production = check_key_ring(Settings(data_dir=tmp_path, database_url="postgresql://h/db"))
    assert not production.ok
    assert "BEYONDPAY_SECRET_KEYS" in production.detail
    configured = Settings(
        data_dir=tmp_path,
        database_url="postgresql://h/db",
        secret_keys=KeyRing.generate_entry("k2"),
    )
    assert check_key_ring(configured).ok
    broken = check_key_ring(Settings(data_dir=tmp_path, secret_keys="k3:not-base64!"))
    assert not broken.ok
    assert "not-base64" not in broken.detail


def test_addresses_follow_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset, the public URL (the sandbox pages' links) and the passkey origin are where
    `beyondpay serve` listens as configured; set, the public URL wins."""
    monkeypatch.setenv("BEYONDPAY_PORT", "9001")
    settings = Settings()
    assert settings.local_url() == "http://127.0.0.1:9001"
    assert settings.public_url_value() == "http://127.0.0.1:9001"
    assert settings.psp_origin_value() == "http://localhost:9001"
    # Listening on every interface: a browser on this machine comes in on loopback.
    assert Settings(host="0.0.0.0", port=8080).public_url_value() == "http://127.0.0.1:8080"
    assert Settings(host="::", port=8080).public_url_value() == "http://[::1]:8080"
    assert Settings(host="::1", port=8080).local_url() == "http://[::1]:8080"
    assert Settings(host="pay.local", port=8080).local_url() == "http://pay.local:8080"
    monkeypatch.setenv("BEYONDPAY_PUBLIC_URL", "https://pay.example.com/base")
    behind = Settings()
    assert behind.public_url_value() == "https://pay.example.com/base"
    assert behind.psp_origin_value() == "https://pay.example.com"


def test_the_data_dir_is_the_nearest_beyondpay_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git finds .git/: every command run anywhere in a project uses the project's data."""
    from beyondpay.kit.settings import find_data_dir

    monkeypatch.delenv("BEYONDPAY_DATA_DIR", raising=False)
    project = tmp_path / "project"
    deep = project / "src" / "deep"
    deep.mkdir(parents=True)
    if find_data_dir(tmp_path) is not None:
        pytest.skip(f"a .beyondpay/ above the temporary folder: {find_data_dir(tmp_path)}")
    monkeypatch.chdir(deep)
    assert Settings().data_dir == deep.resolve() / ".beyondpay"  # none yet: here
    (project / ".beyondpay").mkdir()
    assert Settings().data_dir == project.resolve() / ".beyondpay"
    (deep / ".beyondpay").mkdir()
    assert Settings().data_dir == deep.resolve() / ".beyondpay"  # the nearest
    monkeypatch.setenv("BEYONDPAY_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Settings().data_dir == tmp_path / "elsewhere"
