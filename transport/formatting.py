"""Money and percentages as people read them: the one place where figures become text.

Every renderer (terminal tables, the budgets summary, the HTML report and its charts) formats
£ and % with these functions, so a figure reads the same wherever it appears: thousands
separators, no pence, a true minus sign (``−``, U+2212) before the pound sign, and a dash for a
blank value.

Examples
--------
>>> money(-1234.5)
'−£1,234'
>>> money_compact(16_402_215.0)
'£16.40m'
>>> money_short(96_893.35)
'£96.9k'
>>> percent(-0.0512)
'−5.1%'
"""

from __future__ import annotations

from typing import Any

DASH = "—"
"""What a blank figure shows (an em dash); the HTML report passes an en dash."""
MINUS = "−"


def _number(value: Any) -> float | None:
    """``value`` as a float; None for a blank (None or an empty string)."""
    if value is None or value == "":
        return None
    return float(value)


def money(value: Any, *, blank: str = DASH) -> str:
    """Whole pounds with thousands separators: ``£1,234,567``, ``−£850``."""
    x = _number(value)
    if x is None:
        return blank
    return (MINUS if x < 0 else "") + f"£{abs(x):,.0f}"


def money_compact(value: Any, *, blank: str = DASH) -> str:
    """Millions with two decimals from £1m (``£16.40m``), whole pounds below."""
    x = _number(value)
    if x is None:
        return blank
    sign, a = (MINUS if x < 0 else ""), abs(x)
    return f"{sign}£{a / 1e6:,.2f}m" if a >= 1e6 else f"{sign}£{a:,.0f}"


def money_short(value: float) -> str:
    """Three significant figures with a k/m suffix, for chart labels: ``£17.2m``, ``−£96.9k``."""
    sign, a = (MINUS if value < 0 else ""), abs(value)
    if a >= 1e6:
        text = f"£{a / 1e6:.2f}m" if a < 1e7 else f"£{a / 1e6:.1f}m"
    elif a >= 1e3:
        text = f"£{a / 1e3:.1f}k" if a < 1e5 else f"£{a / 1e3:.0f}k"
    else:
        text = f"£{a:.0f}"
    return sign + text


def percent(value: Any, *, decimals: int = 1, blank: str = DASH) -> str:
    """A fraction as a percentage: ``0.051`` → ``5.1%`` (``−`` for a negative one)."""
    x = _number(value)
    if x is None:
        return blank
    return f"{x:.{decimals}%}".replace("-", MINUS)
