"""Amounts as binary floats, on purpose: the tests pin that behaviour exactly."""


def total(amounts: list[float]) -> float:
    """The plain float sum, left to right."""
    result = 0.0
    for amount in amounts:
        result += amount
    return result


def parse_amount(text: str) -> float:
    """``"12.50"`` -> 12.5; an empty string is an error, never zero."""
    text = text.strip()
    if not text:
        raise ValueError("empty amount")
    return float(text)
