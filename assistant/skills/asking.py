"""The sentence of a question that asks, and its words as the kind patterns of answer_kind match them: "I carried some
holiday over from last year. When do I have to use it by?" asks "when do i have to use it by?"; the question without
what people put around it in a chat ("Hi! Could you tell me ...? Thanks!"); and the questions of a message that asks
several ("What's the wifi password? Where do I park?")."""

from __future__ import annotations

import re

from ..text import sentences
from .grounding import content_words, small_talk
from .spelling import english

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
# do i have to report it", "what's the wifi password? where's the printer"): a stop, then a question word or a verb that
# asks; sentences() wants a capital there.
ASKING = rf"{TIME_PREPOSITION}{QUESTION_WORD}|{AUXILIARY}\b"  # what a question opens with
TYPED_LOWER = re.compile(rf"(?<=[.!?])\s+(?={ASKING})")
ASKS = re.compile(ASKING, re.I)

# The words English writes with a capital wherever they stand: "I", the days and the months ("may" is a verb as often).
CAPITALISED = re.compile(r"\b(?:i|(?:mon|tues|wednes|thurs|fri|satur|sun)days?|january|february|march|april|june|july|"
                         r"august|september|october|november|december)\b")
# A word of a message typed in capitals; not a code with its digits ("LP-11", "CO2").
SHOUTED_WORD = re.compile(r"(?<!\d-)\b[A-Z]+(?:'[A-Z]+)?\b(?!-\d)")


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
# Quotes and apostrophes as phones and Macs type them ("Smart Punctuation": "What’s", “Gold”), made plain: the patterns
# here and in answer_kind, followup and references spell "what's" and "i've" with "'".
STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"'})
# A question mark typed after a space (as French is written) or with more ("??", "?!"): one, after its word.
LOOSE_QUESTION_MARK = re.compile(r"\s*!*\?[?!]*")
# Contractions typed without their apostrophe ("whats", "Im", "dont"), written out; not those that are words of their own
# ("its", "were", "ill", "well", "id", "wont", "lets", "shed").
WITHOUT_APOSTROPHE = {
    "whats": "what's", "whos": "who's", "whens": "when's", "wheres": "where's", "hows": "how's", "im": "I'm", "ive": "I've",
    "youre": "you're", "youve": "you've", "theyre": "they're", "theyve": "they've", "weve": "we've", "theres": "there's",
    "thats": "that's", "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "isnt": "isn't",
    "arent": "aren't", "wasnt": "wasn't", "werent": "weren't", "havent": "haven't", "hasnt": "hasn't", "hadnt": "hadn't",
    "wouldnt": "wouldn't", "shouldnt": "shouldn't", "couldnt": "couldn't",
}
TYPED_WITHOUT_APOSTROPHE = re.compile(rf"\b(?:{'|'.join(WITHOUT_APOSTROPHE)})\b", re.I)
# A word, for telling whether a message is written in English.
LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
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
    typed = LOOSE_QUESTION_MARK.sub("?", message.strip().translate(STRAIGHT))
    capitals = not re.search(r"[a-z]", typed) and len(re.findall(r"[A-Z]{2,}", typed)) >= 3  # "WHAT IS THE DOOR CODE"
    # German's "im" and French's "dont" are words of their own: only English is read for its contractions and capitals.
    english_typed = bool(capitals or TYPED_WITHOUT_APOSTROPHE.search(typed)) and in_english(typed)
    text = with_apostrophes(typed) if english_typed else typed
    plain = COURTESY_AFTER.sub("", COURTESY_BEFORE.sub("", text, count=1), count=1).strip()
    if told := TOLD.match(plain):
        if told["verb"]:
            plain = f"{told['verb']} {told['subject']}{plain[told.end():].lstrip()}"
        else:
            plain = ("what is " if told["thing"] is not None else "") + plain[told.end():]
    if not re.search(r"\w", plain):
        return message
    shouted = capitals and english_typed
    if shouted or not re.search(r"[A-Z]", typed):  # as typed: "im" is "I'm" now
        plain = written_out(unshouted(plain) if shouted else plain)
    elif not text.startswith(plain) and next(c for c in text if c.isalpha()).isupper():  # "Hi! What's ..."
        plain = plain[0].upper() + plain[1:]
    plain = with_question_mark(with_capital(plain))
    if plain == message.strip():
        return message
    return plain + "?" if text.endswith("?") and plain[-1] not in ".!?" else plain


def unshouted(question: str) -> str:
    """A question typed in capitals with its English words in lower case, as written out: "WHAT'S THE RATE LIMIT FOR THE
    GRAPHQL API" asks "what's the rate limit for the Graphql API". A word no English word list holds is a name (with its
    capital, which the checks know it by: grounding.unmentioned_names) or, in four letters or fewer, an acronym. Read in
    capitals, two training companies' questions got 104 right answers against 116 as written (now 114; bench/README.md).
    """
    def written(word: re.Match[str]) -> str:
        lowered = word[0].lower()
        return lowered if lowered in english() else word[0] if len(word[0]) <= 4 else word[0].capitalize()
    return SHOUTED_WORD.sub(written, question)


def in_english(message: str) -> bool:
    """Whether most of the message's words in lower case (of one typed in capitals, all its words) are English words,
    contractions typed without their apostrophe aside: a name is of no language ("Wann ist das Meeting im Juni?" is
    not, "im at Barendrecht, whos the first aider" is)."""
    words = LETTERS.findall(message)
    said = [word.lower() for word in words if (word.islower() or message.isupper()) and word.lower() not in WITHOUT_APOSTROPHE]
    return sum(word in english() for word in said) >= 0.6 * len(said)


def with_apostrophes(text: str) -> str:
    """``text`` with the apostrophes of its contractions typed without one ("whats the wifi password" asks "what's the
    wifi password"): the patterns here and in answer_kind spell them so, as people mostly write them. Without them, the
    asked kind of 24 of 385 training questions was lost ("Whens the next ops meeting?" asks for a time)."""
    def written(word: re.Match[str]) -> str:
        contraction = WITHOUT_APOSTROPHE[word[0].lower()]
        if word[0].isupper() and len(word[0]) > 2:  # "WHATS", not "Im"
            return contraction.upper()
        return contraction[0].upper() + contraction[1:] if word[0][0].isupper() else contraction
    return TYPED_WITHOUT_APOSTROPHE.sub(written, text)


def written_out(question: str) -> str:
    """A question typed in lower case as it is written: its sentences' first words, "I" and the days' and months' names
    with capitals (so a day the documents lack is seen as a name they lack: "on a sunday"; "i lost my laptop. how long
    do i have" asks "I lost my laptop. How long do I have", and with_question_mark ends it)."""
    letters = list(CAPITALISED.sub(lambda word: word[0].capitalize(), question))
    for start in [0, *(gap.end() for gap in TYPED_LOWER.finditer(question))]:
        letters[start] = letters[start].upper()
    return "".join(letters)


# A question word and then the subject, not its verb: a sentence that says ("When I closed the till the cash was short."),
# or one that asks the other way round ("could you tell me when I get paid"). After a question sent with its question
# mark, it says: who types one question mark types them all.
SAID = re.compile(r"(?:when|where|why|how|what|which|who|whom|whose)\s+(?:i|we|you|they|he|she|it|the|a|an|my|our|your|"
                  r"his|her|their|this|that)\b", re.I)


def with_question_mark(question: str) -> str:
    """The question with the question mark it was sent without ("How do I reset my password" asks "How do I reset my
    password?"): when its last sentence opens with a question word or a verb that asks and ends with no question mark or
    exclamation mark ("What a week!"). The reranker and the reader learned questions with one."""
    last = TYPED_LOWER.split((sentences(question) or [question])[-1])[-1]
    asking = LEAD.sub("", last, count=1)  # "Under CMR, what's the most you pay per kilo"
    if last.rstrip("\"')»”’ ").endswith(("?", "!")) or not ASKS.match(asking):  # 'called "the Methodists?"'
        return question
    if "?" in question[: len(question) - len(last)] and SAID.match(asking):
        return question
    return question.rstrip(".") + "?"


def with_capital(question: str) -> str:
    """The question with a capital on its first word when that is a question word or a verb that asks ("what pH range
    for the pool?" asks "What pH range ..."; "iPhone battery?" keeps its small i)."""
    return question[0].upper() + question[1:] if question[:1].islower() and ASKS.match(question) else question


# "and" before a second question in the sentence of a first ("How long is a sabbatical and who is eligible?", "..., and
# is there a way to lower it?"); a verb after "and" asks only before its subject ("... and must undertake the project"
# goes on with the first question).
SUBJECT = r"i|you|we|they|he|she|it|there|the|a|an|my|our|your|their|this|that|these|those|(?-i:[A-Z])[\w-]*"
AND_ASKS = re.compile(rf",?\s+and\s+(?={QUESTION_WORD}|{AUXILIARY}\s+(?:{SUBJECT})\b)", re.I)
# Words that ask for more of the thing just asked about, not about another ("Is there a deposit? How much?", "Can I
# extend it, and what does it cost?", "... and how often?").
MORE_OF_IT = frozenset(content_words("much many long often far soon quickly kind sort type cost costs charge charged"))

# A word of a sentence said after a question that points back at it ("I need it for the satnav.", "I've forgotten mine."),
# with no thing named before it in the sentence that it could stand for ("I want to drop the van in Utrecht and return it
# there."): the sentence stays after the question.
POINTS_BACK = re.compile(r"\b(?:it(?!'s\b| is\b)|its|they|them|mine|ours|yours)\b", re.I)  # not "It's 9 at night"
NAMES_A_THING = re.compile(r"\b(?:a|an|the|my|our|your|his|her|their|some|another)\b", re.I)

# A message of more questions is no list of questions to answer one by one (a pasted text, a questionnaire): it is read
# as one message, as a message of one question is.
MOST_QUESTIONS = 4


def questions_in(message: str) -> list[str]:
    """The questions a message asks, each as it would be asked alone, in order: "What's the wifi password? Where do I
    park?" asks two, and so does "How long is a sabbatical and who is eligible?" (a question after "and" when the first
    asks with a question word: "Is there a locker deposit, and how much?" asks one thing). A question that asks only for
    more of what the one before asks ("How much?", "What kind?") stays with it; a sentence that asks nothing stays with
    the question after it (after the last: goes before that one, unless it points back at it); greetings and "how are
    you?" beside a question are left out. A message of one question, or of more than MOST_QUESTIONS, is returned as it
    is (a situation told after its one question put first)."""
    asked: list[str] = []
    told = ""  # what is said before a question ("I lost my laptop.")
    parts = 0
    asking_from = 0  # where the last question's own sentences start, after what was said before it
    for sentence in sentences(message):
        if not sentence.endswith("?"):
            told += sentence + " "
            continue
        for part in split_and(sentence):
            parts += 1
            if asked and not asks_of_its_own(part, asked[-1]):
                asked[-1] += f" {told}{part}"
            else:
                asked.append(told + part)
                asking_from = len(told)
            told = ""
    pointer = POINTS_BACK.search(told)
    told_after = bool(asked and told) and not (pointer and not NAMES_A_THING.search(told, 0, pointer.start()))
    if told_after:
        # Said after the last question ("How long a break do I get? I'm on a seven-hour shift."): read before it, as
        # people more often tell their situation and as the reader learned it (the other way round, it answered 6 more
        # of four training companies' 118 such questions wrongly and 1 more rightly; bench/README.md).
        asked[-1] = f"{asked[-1][:asking_from]}{told}{asked[-1][asking_from:]}"
    elif asked and told:  # "I need it for the satnav." stays after what its "it" stands for
        asked[-1] += " " + told.rstrip()
    questions = [q for q in asked if content_words(q) and not small_talk(q)]
    if len(asked) == 1 and told_after and questions:
        return asked
    return questions if len(asked) > 1 and questions and parts <= MOST_QUESTIONS else [message]


def split_and(sentence: str) -> list[str]:
    """A question sentence as its questions: cut at an "and" before a question word or verb that asks, when the sentence
    opens with a question word ("How long is a sabbatical and who is eligible?"); after a question that wants a yes or a
    no, what follows says what else to tell of the same thing ("Is there a fee, and how much?")."""
    asking = LEAD.sub("", TYPED_LOWER.split(sentence)[-1], count=1)  # "If I quit and don't ..., how much ...?" asks "how much"
    if not re.match(OPENING + QUESTION_WORD, asking, re.I) or not (cut := AND_ASKS.search(sentence, len(sentence) - len(asking))):
        return [sentence]
    first, second = sentence[:cut.start()].rstrip(" ,;") + "?", sentence[cut.end():]
    if not content_words(first):  # "How and when did ...?" asks one thing two ways
        return [sentence]
    return [first, second[0].upper() + second[1:]]


def asks_of_its_own(question: str, before: str) -> bool:
    """Whether ``question`` names something to ask about that ``before`` does not, beyond more of the same."""
    return bool(set(content_words(question)) - MORE_OF_IT - set(content_words(before)))
