"""The proper names a sentence holds: who a "Who ...?" question may be answered with, and what a "Which app ...?" one.

When the small reader declines a sentence that answers ("Beatriz Lopes (Site Reliability Engineer) maintains the
schedule in Opsgenie" for who puts the on-call schedule together), the one name of the kind asked for that the
question does not already use is the answer, as the one date is for "when" (answer_kind.sole_expression). A name is
a run of capitalised words ("Inês Marques", "Joost van Dijk", "Northern Mutual"), a word with a capital inside it
("BambooHR") or a code ("OUT-01", "ZT230"), with any words in capitals among them ("HR Portal"). What is not one:
words in capitals alone (a heading, "FIRST AIDERS", or an acronym, "IT"), a word that only opens a sentence ("Call",
"Open"), anything in brackets (a role: "(CTO)").
"""

from __future__ import annotations

import re

from .grounding import MONTH, STOPWORDS, WEEKDAY
from .spans import ITEM_NUMBER

WORD = re.compile(r"[^\W_][\w'’-]*|\S")  # a word, or one other character (a bracket, a dash)
CODE = re.compile(r"[A-Z]{1,5}-?\d+[\w-]*|[A-Z]+-[A-Z]\w*")  # "OUT-01", "ZT230", "SAF-T"
PARTICLES = frozenset("van von de der den da das do dos du del della di le la el al bin ten ter".split())
# Words that open a sentence before a name ("Ask Hannah Pryce", "Use Navigo"): not part of it.
OPENERS = frozenset("ask call contact email phone ring see tell message send talk speak please dear hi hello thanks "
                    "welcome meet use open choose go click select".split())
# What the name of a role, a team or a place ends with: no one to answer "who" with ("Site Reliability Engineer",
# "Technical Service", "Harrogate Clinic").
NOT_A_PERSON = frozenset("engineer manager director officer lead head partner assistant coordinator administrator analyst "
                         "specialist supervisor team department service services logistics ltd limited inc plc gmbh group "
                         "clinic centre center office site hospital street road house room company systems solutions "
                         "desk portal policy guide meeting".split())
MONTH_OR_DAY = re.compile(rf"{MONTH}|{WEEKDAY}", re.I)
SENTENCE_END = frozenset(".!?:;•*-–|\n")  # what the first word of a sentence, a list item or a cell follows


def is_name_word(word: str) -> bool:
    """A capitalised word ("Priya", "BambooHR", "O'Neill") or a code, not a word in capitals alone."""
    if CODE.fullmatch(word):
        return True
    return word[0].isupper() and any(c.islower() for c in word) and not MONTH_OR_DAY.fullmatch(word)


def in_name(word: str) -> bool:
    """A word a name's run may hold: a name word, or one in capitals ("HR" of "HR Portal")."""
    return is_name_word(word) or word.isupper()


def names(text: str, question: str, *, people: bool = False) -> list[str]:
    """The names in ``text`` that share no word with ``question``, in order; with ``people``, only those of two words
    or more that name no role or place (NOT_A_PERSON): a first name alone may be anyone's."""
    asked = {word.lower() for word in WORD.findall(question)}
    tokens = [(m.group(0), m.start()) for m in WORD.finditer(text)]
    found: list[str] = []
    depth, i = 0, 0
    while i < len(tokens):
        word, start = tokens[i]
        depth = max(0, depth + (word == "(") - (word == ")"))
        if depth > 0 or not in_name(word):
            i += 1
            continue
        run = [word]
        j = i + 1
        while j < len(tokens):
            if in_name(tokens[j][0]):
                run.append(tokens[j][0])
            elif tokens[j][0] in PARTICLES and j + 1 < len(tokens) and is_name_word(tokens[j + 1][0]):
                run.append(tokens[j][0])
            else:
                break
            j += 1
        before = text[:start].rstrip()
        if not before or before[-1] in SENTENCE_END or re.search(rf"(?:^|\n)\s*{ITEM_NUMBER}$", before):
            # A sentence's first word is capitalised whatever it is: a name only when a name follows it.
            if run[0].lower() in STOPWORDS or run[0].lower() in OPENERS or len(run) == 1:
                run = run[1:]
        words = {w.lower() for w in run}
        if any(map(is_name_word, run)) and not words & asked and not (words - PARTICLES) & STOPWORDS and (
                not people or (len(run) >= 2 and run[-1].lower() not in NOT_A_PERSON)):
            found.append(" ".join(run))
        i = j
    return found


def is_person(text: str) -> bool:
    """Whether ``text`` is one person's name and nothing else, as a table cell may be ("Bram Dekker", "Joost van
    Dijk"; not "Site Manager", not "Bram")."""
    return names(text, "", people=True) == [" ".join(text.split())]
