"""docs/api.md names every event type beyondpay records, and only those: its "Event types" table
is read against ``events/catalog.py`` (the list webhook endpoints subscribe from), so a module
that adds a type to the catalog must document it, and a type removed from the catalog cannot
stay documented."""

from __future__ import annotations

import re
from pathlib import Path

from beyondpay.events.catalog import EVENT_TYPES

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
TABLE_HEADING = "### Event types"
TABLE_ANCHOR = "(#event-types)"
_TYPE = re.compile(r"`([a-z_]+(?:\.[a-z_]+)+)`")


def _section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next heading of the same or a higher level (a
    ``#`` line inside a fenced code block is a comment, not a heading)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    fenced = False
    for index in range(start, len(lines)):
        if lines[index].startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", lines[index]):
            return "\n".join(lines[start:index])
    return "\n".join(lines[start:])


def _documented_types(table: str) -> list[str]:
    """The types in the first column of every row of the table (several to a cell allowed)."""
    found: list[str] = []
    for line in table.splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| type "):
            continue
        first_cell = line.split("|")[1]
        found += _TYPE.findall(first_cell)
    return found


def test_the_event_types_table_is_the_catalog() -> None:
    documented = _documented_types(_section(API_DOC.read_text(), TABLE_HEADING))
    assert len(documented) == len(set(documented)), "a type is listed twice"
    missing = sorted(EVENT_TYPES - set(documented))
    unknown = sorted(set(documented) - EVENT_TYPES)
    assert not missing, f"docs/api.md, {TABLE_HEADING!r}, lacks: {missing}"
    assert not unknown, f"docs/api.md, {TABLE_HEADING!r}, lists types never recorded: {unknown}"


def test_the_events_and_webhook_sections_point_at_the_table() -> None:
    text = API_DOC.read_text()
    events = _section(text, "## Events")
    webhooks = _section(text, "## Webhook endpoints")
    assert TABLE_HEADING in events
    subscribable = next(
        line for line in webhooks.splitlines() if line.startswith("Event types an endpoint may")
    )
    assert TABLE_ANCHOR in subscribable and "`*`" in subscribable
