"""Money and percentages, formatted in one place for every renderer."""

from __future__ import annotations

import pytest

from transport.formatting import money, money_compact, money_short, percent


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234567.4, "£1,234,567"), (-850.0, "−£850"), (0, "£0"), ("12.6", "£13"), (None, "—")],
)
def test_money(value, text):
    assert money(value) == text


def test_blank_is_the_callers():
    assert money("", blank="–") == "–" and percent(None, blank="–") == "–"


def test_money_compact_and_short():
    assert money_compact(16_402_215) == "£16.40m"
    assert money_compact(-950_000) == "−£950,000"
    assert money_short(17_168_712) == "£17.2m" and money_short(-96_893.35) == "−£96.9k"
    assert money_short(1_500_000) == "£1.50m" and money_short(850) == "£850"


def test_percent():
    assert percent(0.0512) == "5.1%" and percent(-0.0512) == "−5.1%"
    assert percent(0.5, decimals=0) == "50%"
