"""Currencies: money however written ("€", "EUR", "euros") as one symbol, the currency a question wants an amount in
("What are the plan prices in euros?"), and whether an answer gives money only in another."""

from __future__ import annotations

import re

# Money and shares, however written, as one symbol.
SYMBOL = {"€": "€", "$": "$", "£": "£", "eur": "€", "euro": "€", "euros": "€", "usd": "$", "dollars": "$", "dollar": "$",
          "gbp": "£", "pounds": "£", "pound": "£", "%": "%", "percent": "%"}
# The currency a question wants an amount in ("What are the plan prices in euros?"), and money as an answer says it.
MONEY_WORDS = "|".join(sorted((word for word, symbol in SYMBOL.items() if word.isalpha() and symbol != "%"), key=len, reverse=True))
IN_CURRENCY = re.compile(rf"\bin\s+(?:us\s+)?({MONEY_WORDS})\b", re.I)
MONEY_SAID = re.compile(rf"[$€£]|\b(?:{MONEY_WORDS})\b", re.I)


def other_currency(question: str, answer: str) -> bool:
    """Whether ``question`` wants an amount in one currency ("in euros") and ``answer`` gives money only in others
    ("£9"): the documents may price it only in pounds, and a price in pounds is no answer."""
    asked = IN_CURRENCY.search(question)
    given = {SYMBOL[money.lower()] for money in MONEY_SAID.findall(answer)}
    return asked is not None and bool(given) and SYMBOL[asked[1].lower()] not in given
