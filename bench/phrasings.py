"""The same question as people type it in a chat: with a greeting, a request to be told, thanks, in lower case, with a
slip of the keys. `qa_company.py --phrasing NAME` asks every single question so; the figures against `as-written` say
what the phrasing costs."""

from __future__ import annotations

import re
from collections.abc import Callable

# A question of one sentence that opens with its question word or verb: what "Quick question: ..." and "Could you tell
# me ..." are put before as people put them (before "I lost my laptop. How long ...?" they would not be).
OPENER = re.compile(r"(?:What|How|When|Who|Where|Which|Why|Is|Are|Do|Does|Can)\b")
SENTENCE_END = re.compile(r"[.!?] ")
# Words a slip is not made in: question words and other function words.
FUNCTION_WORDS = frozenset("what which where when who whose whom how many much does have about there their would could "
                           "should".split())


def lowered_first(question: str) -> str:
    return question[0].lower() + question[1:]


def before_question(prefix: str) -> Callable[[str], str]:
    return lambda q: prefix + lowered_first(q) if OPENER.match(q) and not SENTENCE_END.search(q) else q


def slip(question: str) -> str:
    """Two letters swapped in the middle of the question's longest lower-case word of six letters or more."""
    return swapped(question, [w for w in re.findall(r"[A-Za-z]+", question) if len(w) >= 6 and w.islower() and w not in FUNCTION_WORDS])


def name_slip(question: str) -> str:
    """Two letters swapped in the middle of the question's longest name of six letters or more ("Ridderkerk",
    "Wakefield"): a word with a capital that opens no sentence."""
    return swapped(question, re.findall(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-z]{5,}\b", question))


def swapped(question: str, words: list[str]) -> str:
    """Two letters swapped in the middle of the longest of ``words``, where it first stands in ``question``."""
    if not words:
        return question
    word = max(words, key=len)
    i = len(word) // 2
    return re.sub(rf"\b{word}\b", word[:i - 1] + word[i] + word[i - 1] + word[i + 1:], question, count=1)


def smart_punctuation(question: str) -> str:
    """Quotes and apostrophes as a phone or a Mac types them (iOS "Smart Punctuation", on by default): "What’s", ‘ASN
    not found’, “Gold”."""
    question = re.sub(r"(^|[\s(\[])'", "\\1\u2018", question)  # an opening quote
    question = re.sub(r'(^|[\s(\[])"', "\\1\u201c", question)
    return question.replace("'", "\u2019").replace('"', "\u201d")


def context_after(question: str) -> str:
    """A question that first tells its situation, told the other way round: "How long a break do I get? I'm rostered
    for a seven-hour shift on Saturday." for "I'm rostered for a seven-hour shift on Saturday. How long a break do I
    get?"."""
    told = re.fullmatch(r"(?P<situation>[^?]*[.!])\s+(?P<question>[A-Z][^.!?]*\?)", question)
    return f"{told['question']} {told['situation']}" if told else question


PHRASINGS: dict[str, Callable[[str], str]] = {
    "as-written": lambda q: q,
    "greeting": lambda q: "Hi! " + q,
    "thanks": lambda q: q + " Thanks!",
    "quick-question": before_question("Quick question: "),
    "could-you": before_question("Could you tell me "),
    "lower-case": lambda q: q.rstrip("?").lower(),
    "upper-case": str.upper,
    "no-question-mark": lambda q: q.rstrip("?"),
    "slip": slip,
    "name-slip": name_slip,
    "smart-punctuation": smart_punctuation,
    "no-apostrophes": lambda q: re.sub(r"(?<=[A-Za-z])'(?=[A-Za-z])", "", q),  # "Whats", "Im", "dont", "Skiptons"
    "context-after": context_after,
    "loose-question-mark": lambda q: q.replace("?", " ??"),  # a space before it, as French typists write, and twice
    # "u" for "you", "r" for "are", "ur" for "your", as a quick chat spells them
    "text-speak": lambda q: re.sub(r"\b(?:you|are|your)\b", lambda w: {"you": "u", "are": "r", "your": "ur"}[w[0]], q),
}
