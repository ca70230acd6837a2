"""The proper names a sentence holds: who a "Who ...?" question may be answered with, and what a "Which app ...?" one.

When the small reader declines a sentence that answers ("Beatriz Lopes (Site Reliability Engineer) maintains the
schedule in Opsgenie" for who puts the on-call schedule together), the one name of the kind asked for that the
question does not already use is the answer, as the one date is for "when" (phrases.sole_expression). A name is
a run of capitalised words ("Inês Marques", "Joost van Dijk", "Northern Mutual"), a word with a capital inside it
("BambooHR") or a code ("OUT-01", "ZT230"), with any words in capitals among them ("HR Portal"). What is not one:
words in capitals alone (a heading, "FIRST AIDERS", or an acronym, "IT"), a word that only opens a sentence ("Call",
"Open"), anything in brackets (a role: "(CTO)").

A person is also found by how the text describes them (described_person): "Claims are handled by our Claims
Coordinator, Ingrid Smit" answers who handles damage claims when the reranker's best sentence is another one.
"""

from __future__ import annotations

import re

from .grounding import MONTH, STOPWORDS, WEEKDAY, asked_names, content_words
from .spans import ITEM_NUMBER

WORD = re.compile(r"[^\W_][\w'’-]*|\S")  # a word, or one other character (a bracket, a dash)
CODE = re.compile(r"[A-Z]{1,5}-?\d+[\w-]*|[A-Z]+-[A-Z][\w-]*")  # "OUT-01", "ZT230", "SAF-T", "HS-F-11"
PARTICLES = frozenset("van von de der den da das do dos du del della di le la el al bin ten ter".split())
# Words that open a sentence before a name ("Ask Hannah Pryce", "Use Navigo"): not part of it.
OPENERS = frozenset("ask call contact email phone ring see tell message send talk speak please dear hi hello thanks "
                    "welcome meet use open choose go click select".split())
# What the name of a role, a team or a place ends with: no one to answer "who" with ("Site Reliability Engineer",
# "Technical Service", "Harrogate Clinic").
NOT_A_PERSON = frozenset("engineer manager director officer lead head partner assistant coordinator administrator analyst "
                         "specialist supervisor president team department service services operations logistics ltd limited inc plc gmbh group "
                         "clinic centre center office site hospital street road house room company systems solutions "
                         "desk portal policy guide meeting receptionist nurse technician accountant clerk consultant adviser advisor "
                         "representative instructor trainer therapist physiotherapist hygienist dentist surgeon veterinarian "
                         "mechanic planner controller executive secretary treasurer auditor inspector developer designer".split())
# Of those, the words that are no one's name anywhere in it: "Shop Manager Haarlem" is a role at a place (a surname may
# be Head, Lead, House or Street).
ROLE_WORDS = NOT_A_PERSON - frozenset("lead head partner group house street road room site service services".split())
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


POSSESSIVE = re.compile(r"['’]s$")


def in_persons_name(word: str) -> bool:
    """A word of a person's name: a particle, or a word with small letters and no possessive ("Joost van Dijk"; not
    "Type B", not "StockLine WMS", not "Denver's Executive Vice President")."""
    return word in PARTICLES or (any(c.islower() for c in word) and not CODE.fullmatch(word) and not POSSESSIVE.search(word))


def lowered_words(text: str) -> set[str]:
    """The words of ``text`` in lower case: what a name shares with a question is counted on these."""
    return {word.lower() for word in WORD.findall(text)}


def names(text: str, question: str, *, people: bool = False) -> list[str]:
    """The names in ``text`` that share no word with ``question``, in order; with ``people``, only those of two words
    or more that name no role or place (NOT_A_PERSON): a first name alone may be anyone's."""
    asked = lowered_words(question)
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
                not people or (len(run) >= 2 and run[-1].lower() not in NOT_A_PERSON and not words & ROLE_WORDS
                             and all(map(in_persons_name, run)))):
            found.append(" ".join(run))
        i = j
    return found


# A capitalised word opening a sentence and joined to what follows as a list's first name ("Harrogate and ...").
FIRST_OF_LIST = re.compile(r"(?:^|(?<=[.!?:;]\s))([A-Z][\w'’-]*)(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+)$")
# What joins the names of a list ("Skipton, Wakefield and Darlington"), after any words in brackets ("Headingley (Leeds)").
LIST_JOIN = re.compile(r"(?:\s*\([^()]*\))?(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+)")


def name_lists(text: str, question: str) -> list[str]:
    """The lists of two names or more in ``text`` that share no word with ``question`` (names), as ``text`` writes
    them once its spacing is made single: "Skipton, Wakefield and Darlington", "Harrogate and Headingley"."""
    text = " ".join(text.split())
    asked = lowered_words(question)
    lists: list[tuple[int, int]] = []
    position = 0
    for name in names(text, question):
        start = text.find(name, position)
        if start < 0:
            continue
        end = position = start + len(name)
        if lists and LIST_JOIN.fullmatch(text, lists[-1][1], start):
            lists[-1] = (lists[-1][0], end)
            continue
        # A list's first name may open its sentence, where names() cannot tell it from any other word ("Harrogate and
        # Headingley also open on Saturdays"): the list says it is one.
        first = FIRST_OF_LIST.search(text, 0, start)
        if first and first[1].lower() not in asked | STOPWORDS | OPENERS and LIST_JOIN.fullmatch(text, first.end(1), start):
            start = first.start(1)
        lists.append((start, end))
    return [text[start:end] for start, end in lists if LIST_JOIN.search(text, start, end)]


def is_person(text: str) -> bool:
    """Whether ``text`` is one person's name and nothing else, as a table cell may be ("Bram Dekker", "Joost van
    Dijk"; not "Site Manager", not "Bram")."""
    return names(text, "", people=True) == [" ".join(text.split())]


# What ends the stretch of text that may describe a name: a sentence's end, a line's, a table cell's.
STRETCH_END = re.compile(r"[.;|](?=\s)|\n")
ROLE = re.compile(r"\s*\(([^()]*)\)")  # the role in brackets right after a name ("Joost van Dijk (Rotterdam Site Manager)")
# How many of the question's words a description must hold: one ("site", "IT") describes many people.
DESCRIBED_BY = 2


def descriptions(text: str, question: str = "") -> dict[str, str]:
    """Each person ``text`` names (names, people) that ``question`` does not, with the words that describe them: the
    role in brackets after the name; the words before it in its stretch (STRETCH_END), after any such person before it
    ("Claims Coordinator, Ingrid Smit", "Leeds night shift: Peter Hale"); and the words after it, up to the next name
    ("Bram Dekker – IT Support Lead"). A name the question uses describes the person after it ("the deputy director
    of the Office of Manned Space Flight, Joseph Shea") and ends the description of the one before it."""
    people = set(names(text, "", people=True))
    asked = lowered_words(question)
    unnamed = {name for name in people if not lowered_words(name) & asked}  # as names() with question
    found = sorted((m.start(), m.end(), name) for name in people for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text))
    described: dict[str, str] = {}
    owned = 0  # where the last person not named by the question, with their role, ends
    for i, (start, end, name) in enumerate(found):
        if name not in unnamed:
            continue
        stretch_start = max([0, *(m.end() for m in STRETCH_END.finditer(text, 0, start))])
        before = text[max(stretch_start, owned):start]
        owned = role.end() if (role := ROLE.match(text, end)) else end  # its role is its own
        stretch_end = next(STRETCH_END.finditer(text, owned), None)
        after = text[end:min(found[i + 1][0] if i + 1 < len(found) else len(text), stretch_end.start() if stretch_end else len(text))]
        described[name] = f"{described.get(name, '')} {before} {after}"
    return described


def described_person(question: str, text: str) -> str | None:
    """The one person ``text`` describes with most of the question's words (descriptions), DESCRIBED_BY of them at
    least, whom the question does not name: "Peter Hale" in "Leeds day shift: Carla Nunes. Leeds night shift: Peter
    Hale." for who the first aider on the Leeds night shift is."""
    return most_described(question, descriptions(text, question))


def most_described(question: str, described: dict[str, str]) -> str | None:
    """Of people and their descriptions, the one described_person picks."""
    shared = words_describing(question, described)
    most = max(shared.values(), default=0)
    best = [name for name, count in shared.items() if count == most]
    return best[0] if most >= DESCRIBED_BY and len(best) == 1 else None


def words_describing(question: str, described: dict[str, str], *, as_named: bool = True) -> dict[str, int]:
    """How many of the question's words describe each person of ``described`` (descriptions); with ``as_named``, only
    of those described with the names the question asks about, where any is."""
    asked = set(content_words(question))
    words = {name: set(content_words(description)) for name, description in described.items()}
    # A name the question asks about that describes someone here must describe the answer: "Bristol: Maria Seddon" and
    # "Leeds night shift: Peter Hale" do not make Peter Hale the first aider on the Bristol night shift.
    wanted = {word for name in asked_names(question) for word in content_words(name)} if as_named else set()
    wanted &= set().union(*words.values())
    return {name: len(asked & held) for name, held in words.items() if wanted <= held}


def better_described(answer: str, question: str, text: str) -> str | None:
    """When ``answer`` is one person's name and nothing else, and ``text`` describes them with fewer than DESCRIBED_BY
    of the question's words, the other person it describes as the question does (described_person), if there is one:
    "Joost van Dijk (Rotterdam Site Manager)", not the meeting's chair, for who manages the Rotterdam site."""
    name = " ".join(answer.split())
    if not is_person(name):
        return None
    described = descriptions(text, question)
    if words_describing(question, described, as_named=False).get(name, 0) >= DESCRIBED_BY:
        return None
    person = most_described(question, described)
    return person if person != name else None
