"""The bench's seeded reporting documents are what reporting's own fold makes of their events (the
bench checks a sample at seed time; this keeps the seeder in step with the read model without a run)."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.seed import Issues, refold


def test_every_seeded_issue_is_its_events_folded() -> None:
    maker = Issues(datetime(2026, 11, 1, tzinfo=UTC), days=60)
    for n in range(300):
        story = maker.story(n)
        assert refold(story.events) == story.doc, n
