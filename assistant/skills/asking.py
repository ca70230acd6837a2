"""The sentence of a question that asks, and its words as the kind patterns of answer_kind match them: "I carried some
holiday over from last year. When do I have to use it by?" asks "when do i have to use it by?"; and the question without
what people put around it in a chat ("Hi! Could you tell me ...? Thanks!")."""

from __future__ import annotations

import re

from ..text import sentences

# The question word among the first words ("And how many ...", "So why ..."), not inside a clause ("How was
# it decided how many ...", "What happens when ...").
OPENING = r"^\W*(?:(?:and|so|but|then|ok|okay|also)\W+)?(?:(?:roughly|approximately|about|exactly|just)\s+)?"
# The verbs a question that wants a yes or a no opens with ("Can I ...?", "Is there ...?").
AUXILIARY = (r"(?:am|is|are|was|were|do|does|did|can|could|will|would|shall|should|may|might|must|has|have|had|"
             r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|can't|won't|hasn't|haven't)")
# The words a question asks with.
QUESTION_WORD = r"(?:what|what's|whats|which|who|who's|whom|whose|when|when's|where|where's|why|how|how's)\b"
# Before a question for a time: "By when ...?", "From what time ...?".
TIME_PREPOSITION = r"(?:(?:since|until|till|by|from|at) )?"
# A phrase before the question word that says under what or about what the question asks ("If the CO2 alarm goes off,
# what do I do?", "In the aisle 14 near miss, which reach truck ...", "When X happens, what is it called?").
# A preposition before "how" that changes nothing of what it asks ("After how many days ...?" asks "how many days").
HOW_PREPOSITION = r"(?:for|after|within|by|in|up to) (?=how\b)"
LEAD = re.compile(rf"^[^?]*?(?:,|\s[-–—])\s*(?={TIME_PREPOSITION}(?:what|which|who|how|where|why|when)\b|{HOW_PREPOSITION})", re.I)
# A question written as the thing it asks about ("excess on premier cover?", "Deadline for a discharge summary?"): it
# asks what that is. Not one opening with a question word, a verb, a pronoun, a conjunction or a preposition.
NAMED_ONLY = re.compile(rf"^(?!\W*(?:{QUESTION_WORD}|{AUXILIARY}|and|or|so|but|then|also|ok|okay|yes|no|if|i|i'm|i've|"
                        rf"i'd|we|we're|you|it|it's|they|there|there's|this|that|these|those|my|our|your|his|her|their|"
                        rf"please|tell|show|give|list|explain|any|by|until|till|from|to|at|in|on|for|after|before|since|within|up|above|below|under|over|"
                        rf"roughly|approximately|about|exactly|just)\b)\W*[^\W\d_][^?]*\?$")

# Where a question typed without capitals starts after a sentence of its own ("i lost my laptop on the train. how long
# do i have to report it"): a stop, then a question word or a verb that asks; sentences() wants a capital there.
TYPED_LOWER = re.compile(rf"(?<=[.!])\s+(?={TIME_PREPOSITION}{QUESTION_WORD}|{AUXILIARY}\b)")

# The words English writes with a capital wherever they stand: "I", the days and the months ("may" is a verb as often).
CAPITALISED = re.compile(r"\b(?:i|(?:mon|tues|wednes|thurs|fri|satur|sun)days?|january|february|march|april|june|july|"
                         r"august|september|october|november|december)\b")


def asking_sentence(question: str) -> str:
    """The sentence that asks, from its question word: the last sentence of a question that first says what it is about
    ("I carried some holiday over from last year. When do I have to use it by?"), without a phrase before its question
    word ("If I carry some over, by when ...?" asks "by when"; LEAD)."""
    parts = sentences(question)
    sentence = ([s for s in parts if s.endswith("?")] or parts or [question])[-1]
    sentence = TYPED_LOWER.split(sentence)[-1]
    return LEAD.sub("", sentence, count=1)


def asking_words(question: str) -> str:
    """The asking sentence lower-cased, its spaces one each, without a preposition before "how" ("After how many days
    ...?" asks "how many days", "For how long ...?" "how long"): what the question-word patterns match."""
    words = re.sub(rf"^(\W*){HOW_PREPOSITION}", r"\1", " ".join(asking_sentence(question).lower().split()))
    return f"what is the {words}" if NAMED_ONLY.match(words) else words


# What opens a message in a chat and asks nothing: a greeting with whom it greets ("Hi!", "Hey team,", "Good morning
# all -", "Hey @bot," once the bot's mention is cut), or a word before the question ("Quick question:", "Sorry to
# bother you, but", "Thanks! And ..."), each ended by a stop, a comma or a dash after a space ("Hi-Vis" and the
# "morning-after pill" are no greetings); a greeting also by nothing before a question word ("hi what's ...").
GREETING = (r"(?:hi|hello|hey|hiya|howdy|morning|good (?:morning|afternoon|evening|day)|greetings|dear)"
            r"(?:\s+(?:there|all|everyone|everybody|team|folks|guys|again|bot|@\w+|(?-i:[A-Z][\w-]*)))?")
PREFACE = (r"(?:(?:a |one )?quick (?:question|one)|(?:a )?question|sorry(?: to (?:bother|trouble) you)?|excuse me|"
           r"one more thing|just wondering|please|pls|thanks|thank you|thx|cheers|great|perfect|got it)")
# A request to be told before the question word ("Could you tell me how long ...", "Does anyone know when ..."): what
# it asks is the question after it; before a thing ("Can you tell me the wifi password?"), what that thing is; before
# "if" or "whether", the question with its verb first ("... if the gym is open?" asks "Is the gym open?").
TELL_ME = (r"(?:(?:could|can|would|will) (?:you|u|someone|anyone|somebody|anybody) (?:please |pls )?"
           r"(?:tell|remind|show) me|(?:could|can|may) (?:i|we) ask|(?:does|do) (?:anyone|anybody|someone|you|u) "
           r"(?:happen to )?know|any ?(?:one|body)(?: here)? knows?|(?:do you have )?any idea|(?:i'd|i would) (?:like|love) "
           r"to know|i (?:want|need) to (?:know|find out)|i(?:'m| am| was) wondering|i wonder|(?:please )?(?:tell|remind) me)")
COURTESY_BEFORE = re.compile(rf"^\W*(?:(?:{GREETING}(?:(?:\s*[,.!;]+|\s+[-–—]+)\s*|\s+(?={QUESTION_WORD}|{TELL_ME}\b))|"
                             rf"{PREFACE}(?:\s*[,:;.!]+|\s+[-–—]+)\s*)(?:but\s+)?)*", re.I)
TOLD = re.compile(rf"{TELL_ME},?\s+(?:(?={QUESTION_WORD})|(?P<thing>(?=(?:the|your|our|my)\b))|(?:if|whether)\s+"
                  r"(?P<subject>(?:[\w'-]+\s+){1,4}?)(?P<verb>is|are|was|were|can|could|will|would|should|has|have|must|may)\b)",
                  re.I)
# Thanks or a "please" after the question ("...? Thanks!", "..., please?", "... pls ty"), and a smiley after its stop;
# tried only where a run of spaces starts (from inside one, a long run would be read again at each of its spaces).
COURTESY_AFTER = re.compile(r"(?<![\s,])(?:[\s,]+(?:please|pls|thanks|thank you|thx|ty|tia|cheers|many thanks)"
                            r"(?: (?:so |very )?much)?(?: in advance)?)+\W*$|(?<=[?.!])\s+[^\w\s]+$", re.I)


def plain_question(message: str) -> str:
    """``message`` without the greeting, the request to be told and the thanks around its question, written as a question
    is: "Hi! Could you tell me how long the canary runs? Thanks!" asks "How long the canary runs?", "how long is
    probation" asks "How long is probation?". A small reader answers the plain question as it answers one asked alone,
    and the rules that read a question's words see its own words first. A message of such words alone is left as it is
    (it asks nothing: grounding.small_talk)."""
    text = message.strip()
    plain = COURTESY_AFTER.sub("", COURTESY_BEFORE.sub("", text, count=1), count=1).strip()
    if told := TOLD.match(plain):
        if told["verb"]:
            plain = f"{told['verb']} {told['subject']}{plain[told.end():].lstrip()}"
        else:
            plain = ("what is " if told["thing"] is not None else "") + plain[told.end():]
    if not re.search(r"\w", plain):
        return message
    if not re.search(r"[A-Z]", text):
        plain = written_out(plain)
    elif not text.startswith(plain) and next(c for c in text if c.isalpha()).isupper():  # "Hi! What's ..."
        plain = plain[0].upper() + plain[1:]
    if plain == text:
        return message
    return plain + "?" if text.endswith("?") and plain[-1] not in ".!?" else plain


def written_out(question: str) -> str:
    """A question typed in lower case as it is written: its sentences' first words, "I" and the days' and months' names
    with capitals (so a day the documents lack is seen as a name they lack: "on a sunday"), and a question mark after
    the sentence that asks ("i lost my laptop. how long do i have" asks "I lost my laptop. How long do I have?"), as the
    reader learned questions."""
    letters = list(CAPITALISED.sub(lambda word: word[0].capitalize(), question))
    for start in [0, *(gap.end() for gap in TYPED_LOWER.finditer(question))]:
        letters[start] = letters[start].upper()
    written = "".join(letters)
    if not written.endswith("?") and re.match(rf"{TIME_PREPOSITION}{QUESTION_WORD}|{AUXILIARY}\b", asking_sentence(written), re.I):
        written = written.rstrip(".!") + "?"
    return written
