"""``expand[]``: which relations of an object may be expanded, checked before any work."""

from __future__ import annotations

from collections.abc import Iterable

from beyondpay.kit.errors import InvalidRequestError


def refuse_expansions(
    requested: Iterable[str], allowed: set[str], *, listing: bool = False
) -> list[str]:
    """The requested paths, each checked against ``allowed`` (paths on one object; on a list
    they are written ``data.<path>``). Returns the paths relative to one object."""
    paths: list[str] = []
    for index, path in enumerate(requested):
        relative = path.removeprefix("data.") if listing else path
        if (listing and not path.startswith("data.")) or relative not in allowed:
            raise InvalidRequestError(
                f"This property cannot be expanded ({path[:100]}).", param=f"expand[{index}]"
            )
        paths.append(relative)
    return paths
