"""What a follow-up's pronoun refers to, by rule: "Which days is she there?" after "Who is the office manager?"
answered "Ingrid Holm" asks "Which days is Ingrid Holm there?"; "How long did it last?" after "What caused the
Harbor Console outage on 14 March?" asks how long the Harbor Console outage on 14 March lasted.

A small model neither rewrites such a question (it answers the conversation instead) nor reads "it" in one, so
the referent is put in its place: the previous answer when it names someone or something the previous question
asked for, else the thing the previous question was about. Where that is unclear (two "it"s, a "they" with no
named answer), the question is left as asked.

Only words that point back are replaced (refers_back): in a group chat, questions about different things follow each
other, and "How much does it cost to add a user?" or "I lost my laptop. How long do I have to report it?" say
themselves what their "it" is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..reply import Passage
from ..skills.grounding import MONTH, NUMBERS
from ..skills.names import PARTICLES as NAME_PARTICLES
from ..skills.table_lookup import answer_row, table_rows

PERSONAL = {"he", "she", "him", "her", "his", "hers"}
NEUTER = {"it", "its"}
PLURAL = {"they", "them", "their"}
# What each pronoun stands for: a person, a thing or a group.
KIND = {**dict.fromkeys(PERSONAL, "person"), **dict.fromkeys(NEUTER, "thing"), **dict.fromkeys(PLURAL, "group")}
DEMONSTRATIVES = {"this", "that", "these", "those"}
PRONOUNS = set(KIND) | {"me", "you", "us", "we", "i", "mine", "yours", "ours"}
IT_VERBS = {"cost", "costs", "take", "takes", "took"}  # "does it cost (us) to", "does it take (you) to"
OBJECTS = {"me", "you", "us", "them", "staff", "customers", "people", "someone", "anyone"}
WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how"}
HOW_MUCH = {"long", "much", "many", "often", "far", "old", "soon", "big", "fast", "late", "early"}
# The verb comes after its subject: "When did [version 4.3] come out?", "How much does [the Pro plan] cost?"
DO = {"do", "does", "did", "can", "could", "will", "would", "should", "must", "may"}
AUXILIARY = DO | {"is", "are", "was", "were", "has", "have", "had", "be", "been"}
DETERMINERS = {"the", "a", "an", "our", "your", "my", "this", "that", "these", "those"}
PREPOSITIONS = {"on", "for", "in", "at", "of", "with", "about", "to", "from", "by", "after", "before", "during", "per", "until", "till"}
SAME_WORD = {"till": "until"}  # compared as one
# Words that end the phrase a question is about: a clause or a verb starts there.
CLAUSE = {"that", "which", "who", "whom", "whose", "when", "where", "if", "because", "while", "so", "going", "than"}
SUBORDINATE = {"if", "once", "whenever", "unless", "while"}
EXIST_VERBS = {"is", "are", "was", "were", "will", "would", "be"}
# A follow-up that opens by joining on to the question before: "And at C1?", "What about the Luton?"
LEADING_REFERENCE = re.compile(r"^\W*(?:and|(?:what|how) about)\b", re.I)
CLAUSE_OPENERS = {"when", "before", "after", "until"}  # a clause when a subject follows: "when it was written off"
PARTICLES = {"out", "up", "down", "off", "back", "over", "in", "on"}
DEICTIC_TIME = {"year", "month", "week", "day", "time", "morning", "afternoon", "evening", "night", "weekend", "season",
                "quarter", "term", "summer", "winter", "spring", "autumn"}
MONTHS = re.compile(rf"\b{MONTH}\b", re.I)
CITATION = re.compile(r"\s*\[\d+\]")
CONTRACTED = re.compile(r"\b(what|who|where|when|how)['’]s\b", re.I)  # "What's the ...?"


@dataclass(frozen=True)
class Exchange:
    """A question of a conversation, made to stand alone as far as rules can, and its answer."""

    question: str
    answer: str | None  # None when it was declined or quoted
    thing: str | None = None  # what "it" stood for in the question: the next "it" stands for it too
    source: Passage | None = None  # the passage the answer cited first
    # Whom the next "he" or "she" stands for: the person the answer named for "who", or the one the question's own
    # "he" or "she" stood for ("What's her phone number?" after "By when does she have to finish it?").
    person: str | None = None


def split_words(question: str) -> tuple[list[str], list[str]]:
    """The words of ``question`` without its question mark, and each of them lower-cased without the comma, semicolon,
    colon, full stop or exclamation mark after it, "till" as "until": what the rules compare."""
    words = question.rstrip(" ?").split()
    return words, [SAME_WORD.get(low := w.lower().strip(",;:.!"), low) for w in words]


def resolve(question: str, before: Exchange) -> tuple[str, str | None] | None:
    """``question`` with its pronouns replaced by what they refer to in the exchange ``before`` it, and what "it"
    stood for (None if it has no "it"); None when nothing is replaced."""
    previous, answer = before.question, before.answer
    words, lowered = split_words(question)
    at = referring_pronouns(words, lowered)
    found = [KIND[lowered[i]] for i in at]
    if not found:
        return None
    if found.count("thing") > 1:
        return None  # "does it need to hold it": two things
    named = named_answer(answer)
    asked_who, asked_which = asks_who(previous), asks_which(previous)
    referent: dict[str, str | None] = {}
    if "person" in found:
        referent["person"] = answered_person(previous, answer) or before.person
    if "thing" in found:
        referent["thing"] = before.thing or (named if named and asked_which and not asked_who else topic(previous))
    if "group" in found:
        referent["group"] = named if named and (asked_who or asked_which) else None
    if not any(referent.values()):
        return None
    out: list[str] = []
    for i, (word, low) in enumerate(zip(words, lowered)):
        name = referent.get(KIND[low]) if i in at else None
        if name is None:
            out.append(word)
            continue
        trailing = word[len(word.rstrip(",;:.!")):]
        following = lowered[i + 1] if i + 1 < len(words) else ""
        possessive = low in {"his", "hers", "its", "their"} or (
            low == "her" and bool(following) and following not in PREPOSITIONS | AUXILIARY | {"and", "or", "about"})
        out.append((f"{name}'s" if possessive else name) + trailing)
    resolved = " ".join(out)
    resolved = resolved[0].upper() + resolved[1:]
    return resolved + ("?" if question.rstrip().endswith("?") else ""), referent.get("thing")


def refers_back(question: str) -> bool:
    """Whether ``question`` has a word that may point at something said before it: a leading "and" or "what about", a
    pronoun (referring_pronouns), "that", "that one", "then", "else"... before a sentence or clause of its own."""
    if LEADING_REFERENCE.match(question):
        return True
    words, lowered = split_words(question)
    # "that", "one" and the like point back even past a thing the question names ("Is there a minimum charge for that?")
    return bool(referring_pronouns(words, lowered)) or any(points_back(lowered, i) for i in range(own_from(words, lowered)))


def points_back(lowered: Sequence[str], at: int) -> bool:
    """Whether the word at ``at`` of a question (its words, lower-cased), other than a pronoun, points at something said
    before it. Not "Is there a deposit?" (there is), "this morning" (the time of asking), "confirm that I've ..." (a
    clause), "one pallet", "more than 50", "at the same time"."""
    word = bare(lowered[at].strip('?"()'))
    following = bare(lowered[at + 1]) if at + 1 < len(lowered) else ""
    if word in {"then", "former", "latter", "above", "else", "also", "those"}:
        return True
    if word == "there":
        return not existential(lowered, at)
    if word in {"this", "these", "same"}:
        return following not in DEICTIC_TIME
    if word == "that":  # not "confirm that I've", "Who was it that found ...?"
        return following not in PRONOUNS | DETERMINERS and not (at and lowered[at - 1] == "it")
    if word in {"one", "ones"}:
        return stands_for_a_thing(lowered, at)
    return word == "more" and following != "than"


def stands_for_a_thing(lowered: Sequence[str], at: int) -> bool:
    """Whether the "one" at ``at`` stands for a thing named before ("the large one", "the old one", "pay for one?"),
    not a number of them ("one pallet", "one of their people", "in one go")."""
    following = lowered[at + 1] if at + 1 < len(lowered) else ""
    if following == "of":
        return False
    return (not following or following in PREPOSITIONS | AUXILIARY | CLAUSE
            or any(w in DETERMINERS | {"which", "another", "each"} for w in lowered[max(at - 3, 0) : at]))


def referring_pronouns(words: Sequence[str], lowered: Sequence[str]) -> list[int]:
    """Where the pronouns of a question (its words, and ``lowered``) are that may stand for something said before it:
    those before a sentence or clause of its own (own_from) and before a thing it names ("a van", "my bike", "4 hours"), but a
    person's pronoun only before a thing it opens with ("A patient missed her appointment": "report an incident to him"
    is about someone said before). The "it" of "How much is it to store a pallet?" stands for the "to" clause after it,
    and "IT" is the IT department."""
    end = own_from(words, lowered)
    thing = named_thing(lowered, end)
    return [i for i, low in enumerate(lowered[:end]) if low in KIND and words[i] != "IT"
            and (i < thing or thing > 0 and low in PERSONAL)
            and not (low == "it" and (anticipates(lowered, i) or cleft(lowered, i)))]


def named_thing(lowered: Sequence[str], end: int) -> int:
    """Where a question (its words, lower-cased) first names a thing of its own before ``end``: "a van", "my bike", a
    number of them ("4 hours", "two pallets", "one of the sparkies"), or "the" opening it ("The last trailer left ..."),
    not "the" further on, which may name a thing said before; else ``end``."""
    introducing = DETERMINERS - DEMONSTRATIVES - {"the"}  # "a", "an", "my", "our", "your"
    return next((i for i, low in enumerate(lowered[: end - 1])
                 if (low in introducing or low in NUMBERS or low.isdigit() or i == 0 and low == "the")
                 and lowered[i + 1].isalpha() and lowered[i + 1] not in PRONOUNS), end)


def own_from(words: Sequence[str], lowered: Sequence[str]) -> int:
    """Where a question (its words, and ``lowered``) starts a sentence or a clause of its own, whose words it says itself
    what they refer to ("I lost my laptop on the train. How long do I have to report it?", "if", "when it", ", and how
    much is it?"), or where the clause it leads with ends ("Once a keg is tapped, how long ... use it?"); else its end."""
    end = len(words)
    if lowered and lowered[0] in SUBORDINATE | CLAUSE_OPENERS:
        end = next((i + 1 for i, w in enumerate(words[:-1]) if w.endswith(",")), end)
    for i, low in enumerate(lowered[:end]):
        if words[i].endswith((".", "!", "?")) and i + 1 < len(words):
            return i + 1  # a sentence of its own follows
        following = bare(lowered[i + 1]) if i + 1 < len(lowered) else ""
        if i > 0 and (low in SUBORDINATE or low in CLAUSE_OPENERS and following in PRONOUNS | DETERMINERS - DEMONSTRATIVES
                      or low in {"and", "but"} and following in PRONOUNS | WH | AUXILIARY):
            return i  # a clause: "if I work it on a Sunday", "when it was written off", ", and how much is it"
    return end


def bare(word: str) -> str:
    """A word without its contraction: "i" of "i'd", "there" of "there's"."""
    return re.sub(r"['’](?:d|m|s|ve|ll|re)$", "", word)


def existential(lowered: Sequence[str], at: int) -> bool:
    """Whether the "there" at ``at`` says that something exists ("Is there a discount?", "How many spaces are there?",
    "there's an alarm"), not where ("Is there parking there?")."""
    following = lowered[at + 1] if at + 1 < len(lowered) else ""
    if lowered[at] in ("there's", "there’s", "there're") or following in EXIST_VERBS:
        return True
    if at == 0 or lowered[at - 1] not in EXIST_VERBS:
        return False
    return at == 1 or lowered[at - 2] in {"and", "or", "if", "when", "whether", "so", "but", "will"} or lowered[0] == "how"


def anticipates(lowered: Sequence[str], at: int) -> bool:
    """Whether the "it" at ``at`` stands for a "to" clause after it: "is it to store", "does it cost (us) to add", "does
    it take for a claim to be paid", "is it per week to keep" (not "send it to the office")."""
    rest = lowered[at + 1 : at + 8]
    to = next((i for i, w in enumerate(rest) if w == "to"), None)
    if to is None or to + 1 == len(rest) or not rest[to + 1].isalpha() or rest[to + 1] in DETERMINERS | PRONOUNS:
        return False
    between = rest[:to]
    if between and between[0] in IT_VERBS:
        between = between[1:]
        if between and between[0] == "for":  # "take for a claim to be paid"
            return len(between) <= 4
    return all(w in OBJECTS or w == "per" or j and between[j - 1] == "per" for j, w in enumerate(between))


def cleft(lowered: Sequence[str], at: int) -> bool:
    """Whether the "it" at ``at`` only puts what follows first: "Who was it that found the water?"."""
    return 0 < at < len(lowered) - 1 and lowered[at - 1] in {"is", "was"} and lowered[at + 1] in {"that", "who"}


def asks_who(question: str) -> bool:
    return bool(re.match(r"^(?:.*,\s*)?(?:who|whom|whose)\b", question.strip(), re.I))


def asks_which(question: str) -> bool:
    return bool(re.match(r"^(?:.*,\s*)?(?:which\b|what (?:is|was|are|were)\b|what's\b)", question.strip(), re.I))


def answered_person(question: str, answer: str | None) -> str | None:
    """The person ``answer`` names for ``question``, whom a "he" or "she" after it stands for: "Which plumber came out
    after hours?" answered "Dean Castellano" names a person as "Who ...?" does; an answer with a number or an article
    ("the HB-1") is a thing."""
    named = named_answer(answer)
    return named if named and (asks_who(question) or asks_which(question) and looks_personal(named)) else None


def refers_to_person(question: str) -> bool:
    """Whether ``question`` has a "he", "she", "him", "his", "her" or "hers" that stands for someone said before it
    (referring_pronouns): the "she" of "My manager says she can sign it off." is the manager, not the person before."""
    words, lowered = split_words(question)
    return any(lowered[i] in PERSONAL for i in referring_pronouns(words, lowered))


def demonstrative(question: str, before: Exchange) -> str | None:
    """``question`` with its one "that <thing>" or "this <thing>" replaced by the phrase that names that thing in the
    exchange ``before`` it: the previous question's phrase ending in the same word ("How many users can we add on that
    plan?" after "What's the price on the ColdTrack Fleet plan?"), else the previous answer when it is short and names it
    ("And when is that version due?" after "In which version ...?" answered "version 4.0"); None otherwise."""
    words, lowered = split_words(question)
    at = [i for i, w in enumerate(lowered[:-1]) if w in {"that", "this"} and lowered[i + 1].isalpha()]
    if len(at) != 1:
        return None
    i = at[0]
    thing = lowered[i + 1]
    # "Who tracked that down?": "that" is no thing's name; "this year", "that evening": the time of asking or telling
    if thing in PARTICLES | PREPOSITIONS | AUXILIARY | CLAUSE | DEICTIC_TIME:
        return None
    previous, said = split_words(before.question)
    phrase = None
    if thing in said[1:]:
        end = last_index(said, thing)
        start = determiner_before(said, end)
        if start is not None and said[start] not in DEMONSTRATIVES:
            phrase = " ".join(["the" if said[start] in {"a", "an"} else previous[start], *previous[start + 1 : end + 1]])
    # The answer to "In which version ...?" or "Which plan ...?" is that version or that plan when it is short.
    answer = CITATION.sub("", before.answer or "").strip().rstrip(".")
    asked_which = bool(re.search(rf"\b(?:which|what) {re.escape(thing)}\b", before.question, re.I))
    if phrase is None and asked_which and answer and len(answer.split()) <= 4:
        phrase = named_answer(answer) or (answer if thing in answer.lower().split() else None)
    if phrase is None:
        phrase = row_named(thing, before)
    if phrase is None:
        return None
    return " ".join([*words[:i], phrase.strip(",;:"), *words[i + 2 :]]) + ("?" if question.rstrip().endswith("?") else "")


def row_named(thing: str, before: Exchange) -> str | None:
    """What "that one" or "that <thing>" stands for when the answer before was the cell its question asks for in a table
    row (table_lookup.answer_row): the row's name ("What's the excess on that one?" after "What does Essential cost a
    month?" answered from the row "Cover level: Essential; Monthly charge: £4.50; ..." asks the excess on Essential),
    "the Business plan" for "that plan" when its name's header is "Plan"; None otherwise."""
    if before.answer is None or before.source is None:
        return None
    if (answered := answer_row(before.question, before.answer, table_rows(before.source))) is None:
        return None
    header, name = answered[0].cells[0]
    if thing == "one":
        return name
    if thing.rstrip("s") not in (word.lower().rstrip("s") for word in header.split()):
        return None
    return f"the {name}" if thing in name.lower().split() else f"the {name} {thing}"


def last_index(lowered: Sequence[str], word: str) -> int:
    """Where ``word`` last is among ``lowered``."""
    return len(lowered) - 1 - list(lowered)[::-1].index(word)


def determiner_before(lowered: Sequence[str], end: int) -> int | None:
    """Where the determiner of the phrase ending at ``end`` is ("the" of "the ColdTrack Fleet plan"), four words back at
    most and not the first word; None when there is none. A preposition ends the search: "low season" of "at The
    Thornbury in low season" has none ("The" is another phrase's)."""
    for i in range(end - 1, max(end - 5, 0), -1):
        if lowered[i] in DETERMINERS:
            return i
        if lowered[i] in PREPOSITIONS:
            return None
    return None


def named_answer(answer: str | None) -> str | None:
    """The answer when it names someone or something ("Ingrid Holm", "the HB-1", "R-07", "Harrogate and Headingley"):
    a few words, each a capitalised name, a code or a joining word, and no date or amount."""
    if not answer:
        return None
    text = CITATION.sub("", answer).strip().rstrip(".")
    text = re.split(r",|\s\(|\s[-–—]\s", text, maxsplit=1)[0].strip()  # "Martin Cranston, Head of Engineering"
    words = text.split()
    if not 1 <= len(words) <= 6 or MONTHS.search(text) or re.match(r"^[\d£€$¥]", text):
        return None
    joining = {"and", "&", "of", "the", *NAME_PARTICLES}
    if not all(w[0].isupper() or any(c.isdigit() for c in w) or w.lower() in joining for w in words):
        return None
    return text if any(w[0].isupper() or any(c.isdigit() for c in w) for w in words) else None


def looks_personal(name: str) -> bool:
    """A named answer that can be a person's name: words and no number, not opening with an article."""
    return not any(c.isdigit() for c in name) and name.split()[0].lower() not in DETERMINERS


def topic(previous: str) -> str | None:
    """What ``previous`` asked about: the phrase after its question word and verb ("the Harbor Console outage on 14
    March" of "What caused the Harbor Console outage on 14 March?", "version 4.3" of "When did version 4.3 come
    out?"), or None when it has none that is clear."""
    words, lowered = split_words(CONTRACTED.sub(r"\1 is", previous.strip()))
    wh = next((i for i, w in enumerate(lowered) if w in WH), None)
    if wh is None:
        return None
    i = wh + 1 + (wh + 1 < len(words) and lowered[wh] == "how" and lowered[wh + 1] in HOW_MUCH)
    verb_first = None  # whether the subject comes before its verb
    for _ in range(3):  # "What caused ...", "Which site stops ...", "What temperature does ..."
        if i >= len(words):
            return None
        if lowered[i] in AUXILIARY:
            verb_first = lowered[i] in DO
            # "What was behind the outage?": one word may come between the verb and the phrase
            i += 1 + (i + 2 < len(words) and not starts_phrase(words, i + 1) and starts_phrase(words, i + 2))
            break
        if starts_phrase(words, i):
            break
        i += 1
    if i >= len(words) or not starts_phrase(words, i):
        return None
    if lowered[i] not in DETERMINERS:
        return name_run(words, lowered, i)
    end = i + 1
    while end < len(words) and lowered[end] not in AUXILIARY | CLAUSE and not (verb_first and lowered[end] in PREPOSITIONS):
        end += 1
    phrase = words[i:end]
    if verb_first and (end == len(words) or lowered[end] in PREPOSITIONS):
        # "the Pro plan cost", "the gateway come back": the verb (and its particle) goes
        while len(phrase) > 2 and phrase[-1].lower() in PARTICLES:
            phrase = phrase[:-1]
        if len(phrase) < 3 or not phrase[-1].islower():
            return None
        phrase = phrase[:-1]
    elif len(phrase) > 2 and phrase[-1].islower() and phrase[-1].endswith("ed"):  # "the next release planned"
        phrase = phrase[:-1]
    return " ".join(phrase).strip(",;:") if len(phrase) >= 2 else None


def starts_phrase(words: list[str], i: int) -> bool:
    """A determiner, a name, or a word before a number ("version 4.3") starts the phrase a question is about."""
    return words[i].lower() in DETERMINERS or is_name(words[i]) or (i + 1 < len(words) and any(c.isdigit() for c in words[i + 1]))


def is_name(word: str) -> bool:
    """A capitalised word or a code, not the pronoun "I" ("How much can I load into the box?" is not about "I")."""
    return (word[0].isupper() and not re.match(r"I(?:$|['’])", word)) or any(c.isdigit() for c in word)


def name_run(words: list[str], lowered: list[str], i: int) -> str | None:
    """The name starting at ``i`` ("Harbor Console 4.0", "compressor 2 on Freezer Room B"): capitalised words and
    codes, a lowercase word before a number ("version 4.3"), and "of"/"on"/"at"/"in" joining two names."""
    end = i
    while end < len(words):
        if is_name(words[end]) or (end + 1 < len(words) and words[end].islower() and any(c.isdigit() for c in words[end + 1])):
            end += 1
        elif lowered[end] in {"of", "on", "at", "in"} and end + 1 < len(words) and words[end + 1][0].isupper():
            end += 1
        else:
            break
    if lowered[end - 1] in {"of", "on", "at", "in"}:
        end -= 1
    return " ".join(words[i:end]).strip(",;:") or None
