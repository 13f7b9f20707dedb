"""Small helpers the suites share."""

import pytest

NOT_APPLICABLE = "no aplica: "


def not_applicable(reason: str):
    """Report this check as not applicable to the host, with the reason (never a silent pass)."""
    pytest.skip(NOT_APPLICABLE + reason)
