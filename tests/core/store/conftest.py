"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.store.disk import Disk, disk_faults


@pytest.fixture
def disk() -> Iterator[Disk]:
    """Disk faults for this test, all undone afterwards."""
    with disk_faults() as made:
        yield made
