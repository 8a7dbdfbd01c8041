"""One shape for a module's settings: a frozen dataclass, built once, read with ``current()``.

A module that reads the process's settings at run time (fees, limits, the rails' latency, the
PSP's handle) declares a small frozen dataclass of what it reads, built from
:class:`~beyondpay.kit.settings.Settings` by a function, and holds it in one
:class:`ModuleSettings`. Its ``configure(settings, ...)`` builds the dataclass and ``set``\\ s it;
the composition root (``app.configure_modules``) calls every module's ``configure`` once when the
API or the worker starts. Code of the module reads ``current()``. A process that never composed
(a script, a test calling a service directly) gets the dataclass built from the environment's
settings on first use, as the API would have built it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from beyondpay.kit.settings import Settings, get_settings

ConfigT = TypeVar("ConfigT")


class ModuleSettings(Generic[ConfigT]):
    """The settings of one module in this process."""

    def __init__(self, build: Callable[[Settings], ConfigT]) -> None:
        self._build = build
        self._value: ConfigT | None = None

    def set(self, value: ConfigT) -> ConfigT:
        self._value = value
        return value

    def current(self) -> ConfigT:
        if self._value is None:
            self._value = self._build(get_settings())
        return self._value

    def reset(self) -> None:
        """Forget the value (tests that configured their own put the default back)."""
        self._value = None
