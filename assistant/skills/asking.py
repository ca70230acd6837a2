"""The sentence of a question that asks, and its words as the kind patterns of answer_kind match them: "I carried some
holiday over from last year. When do I have to use it by?" asks "when do i have to use it by?"."""

from __future__ import annotations

import re

from ..text import sentences

# The question word among the first words ("And how many ...", "So why ..."), not inside a clause ("How was
# it decided how many ...", "What happens when ...").
OPENING = r"^\W*(?:(?:and|so|but|then|ok|okay|also)\W+)?(?:(?:roughly|approximately|about|exactly|just)\s+)?"
# The verbs a question that wants a yes or a no opens with ("Can I ...?", "Is there ...?").
AUXILIARY = (r"(?:am|is|are|was|were|do|does|did|can|could|will|would|shall|should|may|might|must|has|have|had|"
             r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|can't|won't|hasn't|haven't)")
# Before a question for a time: "By when ...?", "From what time ...?".
TIME_PREPOSITION = r"(?:(?:since|until|till|by|from|at) )?"
# A phrase before the question word that says under what or about what the question asks ("If the CO2 alarm goes off,
# what do I do?", "In the aisle 14 near miss, which reach truck ...", "When X happens, what is it called?").
# A preposition before "how" that changes nothing of what it asks ("After how many days ...?" asks "how many days").
HOW_PREPOSITION = r"(?:for|after|within|by|in|up to) (?=how\b)"
LEAD = re.compile(rf"^[^?]*?(?:,|\s[-–—])\s*(?={TIME_PREPOSITION}(?:what|which|who|how|where|why|when)\b|{HOW_PREPOSITION})", re.I)
# A question written as the thing it asks about ("excess on premier cover?", "Deadline for a discharge summary?"): it
# asks what that is. Not one opening with a question word, a verb, a pronoun, a conjunction or a preposition.
NAMED_ONLY = re.compile(rf"^(?!\W*(?:what|what's|whats|which|who|who's|whom|whose|when|when's|where|where's|why|how|how's|"
                        rf"{AUXILIARY}|and|or|so|but|then|also|ok|okay|yes|no|if|i|i'm|i've|i'd|we|we're|you|it|it's|they|"
                        rf"there|there's|this|that|these|those|my|our|your|his|her|their|please|tell|show|give|list|explain|"
                        rf"any|by|until|till|from|to|at|in|on|for|after|before|since|within|up|above|below|under|over|"
                        rf"roughly|approximately|about|exactly|just)\b)\W*[^\W\d_][^?]*\?$")


def asking_sentence(question: str) -> str:
    """The sentence that asks, from its question word: the last sentence of a question that first says what it is about
    ("I carried some holiday over from last year. When do I have to use it by?"), without a phrase before its question
    word ("If I carry some over, by when ...?" asks "by when"; LEAD)."""
    parts = sentences(question)
    sentence = ([s for s in parts if s.endswith("?")] or parts or [question])[-1]
    return LEAD.sub("", sentence, count=1)


def asking_words(question: str) -> str:
    """The asking sentence lower-cased, its spaces one each, without a preposition before "how" ("After how many days
    ...?" asks "how many days", "For how long ...?" "how long"): what the question-word patterns match."""
    words = re.sub(rf"^(\W*){HOW_PREPOSITION}", r"\1", " ".join(asking_sentence(question).lower().split()))
    return f"what is the {words}" if NAMED_ONLY.match(words) else words
