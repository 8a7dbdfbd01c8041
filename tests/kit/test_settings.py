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
