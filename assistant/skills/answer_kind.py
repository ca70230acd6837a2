"""Does an answer say the kind of thing its question asks for? "How many" wants a count, "how much" an amount, "how
long" a duration or a length, "when" a time, "why" a reason, a phone number one to call.

The small reader sometimes copies the wrong fact from the right passage: "four hours" for how many gateways were
returned to the old firmware, "on 2 June 2026" for why the firmware was withdrawn. Each is in the passage, so the
grounding check passes it; its kind is wrong, which a few words show. Only what the first words of the asking sentence
make plain is checked (or its asking for a phone number), and only in a way that answers people write pass: of the 933
questions they check among XQuAD's, the training companies' of scripts/qa_docs and the development half's of
bench/company_qa, these rules turn away the expected answers of 4 XQuAD questions ("unmanned" for how many people were
on a test flight, "vast areas" for how much of a region) and of one training question ("75%" of a class's length for how
long a student must stay). "How often" wants a period or a word that says how often: people answer it with a bare period
("four years"), so a wrong period passes, but not "2" or a sentence about who may do the task.

phrases.py finds, in a sentence, the phrases of these kinds.
"""

from __future__ import annotations

import itertools
import re

from .asking import AUXILIARY, OPENING, TIME_PREPOSITION, asking_sentence, asking_words
from .bounds import opposite_bound
from .currency import IN_CURRENCY, MONEY_WORDS, other_currency
from .grounding import MONTH, NUMBERS, STOPWORDS, TIME_UNIT, WEEKDAY, strip_citations
from .spans import ITEM_NUMBER

# Words that say how many: the numbers ("two", "ninety"), and words like "dozens", "twice" or "most".
NUMBER_WORD = (rf"(?:{'|'.join(NUMBERS)}|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|single|both|several|"
               r"few|many|no|none|once|twice|thrice|couple|multiple|numerous|all|most|some|majority|minority)")

CURRENCY = r"(?:nok|eur|usd|gbp|sek|dkk|kr)"  # written after the amount ("650 NOK"); $, € and £ before it
# Pence and cents: "25p per mile", "21 cents"; not "720p" (a video resolution) nor "4 p.m.".
SMALL_CHANGE = r"(?:\d{1,2}(?:\.\d+)?\s?p\b(?![.\s]?m\b)|\d[\d,]*(?:\.\d+)?\s?(?:pence|cents?)\b)"
SHARE = r"(?:%|percent\b|per cent\b)"
TEMPERATURE = r"(?:°\s*[cf]|degrees?)"
# Units of length, weight, temperature, speed, volume and data ("2 mm", "-40 °C", "5 mph").
UNIT = (rf"(?:mm|cm|km|met(?:re|er)s?|miles?|inch(?:es)?|feet|foot|kg|grams?|kilos?|tonnes?|tons?|lbs?|{TEMPERATURE}|mph|"
        r"km/h|lit(?:re|er)s?|ml|gb|mb|tb|kb|kwh|kw|watts?|volts?)")
# Which days or hours a duration counts ("3 working days", "1 business hour").
WHICH_DAYS = r"(?:working|business|calendar|consecutive|clear|school|teaching)"
# A number with what makes it a measure rather than a count: a time unit ("the last two working days" too), money, a
# percentage, a unit.
MEASURE = re.compile(rf"(?:\d[\d.,]*|\b{NUMBER_WORD})\s*(?:{SHARE}|(?:{WHICH_DAYS}\s+)?{TIME_UNIT}\b|{CURRENCY}\b|{UNIT}(?!\w))"
                     r"|[$€£]\s*\d[\d.,]*", re.I)
# What says neither how long something lasts nor how long it is: money, a share, a temperature ("£30" for how
# long an appointment is, "134 to 137 degrees C" for how long the autoclave holds its temperature).
NOT_A_LENGTH = re.compile(rf"(?:[$€£]\s*\d[\d.,]*|\d[\d.,]*(?:\s*(?:-|–|to)\s*\d[\d.,]*)?\s*(?:{SHARE}|{CURRENCY}\b|{TEMPERATURE}\b))"
                          rf"(?:\s+(?:per|a|an|each|every)\s+{TIME_UNIT}\b)?", re.I)  # with its period: "£40 per day", "15% a month"
# Money and shares as a sentence writes them ("£1,850", "650 NOK", "35%").
MONEY = re.compile(rf"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?{CURRENCY}\b|\b{SMALL_CHANGE}", re.I)
SHARE_OF = re.compile(rf"\b\d[\d.,]*\s?{SHARE}", re.I)
# A digit, not after a letter: one after a letter is part of a name ("K2", "SEV1", "B2 and C1"), no count or amount.
DIGIT = r"(?<![^\W\d_])\d"
COUNT = re.compile(rf"{DIGIT}|\b{NUMBER_WORD}\b", re.I)
# A clock time or a date: numbers that are no count or amount ("22:00-06:00" for how many shifts in a row, "30 April
# 2024" for how much a part cost).
CLOCK = re.compile(r"\b\d{1,2}:\d\d(?:\s?[ap]m\b)?(?:\s?(?:-|–|to)\s?\d{1,2}:\d\d(?:\s?[ap]m\b)?)?|\b\d{1,2}\s?[ap]m\b", re.I)
# A time of day said in words ("at noon", "in the evening", "nine o'clock"), or the hours of a place that opens ("11 to
# 5", "24/7", "closed on Sundays").
DAYPART = re.compile(r"\b(?:noon|midday|midnight|morning|afternoon|evening|night|o'clock|half past|quarter (?:past|to)|closed|"
                     r"24/7|24 hours a day|around the clock|round the clock)\b"
                     rf"|\b\d{{1,2}}\s?(?:-|–|to|until|till)\s?\d{{1,2}}\b(?![.,:]\d|\s*(?:%|(?:{TIME_UNIT}|{UNIT})\b))", re.I)
YEAR = r"(?:19|20)\d\d"
DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# A date, or as much of one as a sentence gives: "21-22 September 2024", "8 Oct", "June 7, 2024", "March 2025".
DATE = re.compile(rf"\b{DAY}(?:\s?[-–]\s?{DAY})?\s+{MONTH}\b(?:,?\s+{YEAR}\b)?|\b{MONTH}\.?\s+{DAY}\b(?:,?\s+{YEAR}\b)?"
                  rf"|\b{MONTH}\.?\s+{YEAR}\b"
                  # "the 1st of April", "by the 10th of the month", "paid on the 28th." (not "the 15th week")
                  rf"|\b(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)\s+of\s+(?:{MONTH}\b(?:,?\s+{YEAR}\b)?|(?:the|each|every)\s+month\b)"
                  rf"|\bthe\s+\d{{1,2}}(?:st|nd|rd|th)\b(?!\s+(?!(?:and|or|but|so|if|when|unless|at|to|until|before|after|of|is|are|falls|will)\b)[a-z])", re.I)
AMOUNT = re.compile(rf"{DIGIT}|\b(?:{NUMBER_WORD}|free|nothing|a|an|double|triple)\b", re.I)
TIME = re.compile(
    rf"\d|\b(?:{MONTH}|{WEEKDAY}|{TIME_UNIT}|spring|summer|autumn|fall|winter|morning|afternoon|evening|noon|midnight|"
    rf"midday|today|tomorrow|yesterday|tonight|now|era|age|period|reign|war|dynasty|before|after|during|until|till|"
    rf"since|when|while|once|within|by|ago|end|start|beginning|middle|early|late|first|last|next|immediately|soon|"
    rf"later|earlier|previous|following|time|as soon as)\b", re.I)
# What says a price: money, a share ("8%" of the price), no charge ("nothing" as the answer, not "nothing in the
# driver's view"), or a number as such ("189,000") or per something ("3 per kWh") as the answer, not one of people,
# points or megabits, nor the number a phrase ends with ("aisle 14").
PRICE = re.compile(rf"[$€£]|\b(?:{MONEY_WORDS}|{CURRENCY})\b|\b{SMALL_CHANGE}|{SHARE}|"
                   r"\b(?:free|no charge|no cost|included|half|double|triple)\b|^\W*nothing\b|"
                   r"^\W*(?:(?:about|around|roughly|approximately|up to|over|under|only|just)\s+)?(?<![\d.,])\d(?:[\d.,]*\d)?(?![.,]?\d)(?=\s*(?:$|[^\w\s]|(?:per|a|an|each|every|for|plus|ex|excl|incl|including|excluding|vat)\b))",
                   re.I)
# What a question names when it asks for money or a share of it ("What's the call-out fee?", "What discount ...?").
PRICE_NOUN = (r"(?:price|cost|fee|charge|payment|allowance|salary|wage|pay|bonus|deposit|surcharge|supplement|excess|discount|"
              r"budget|rent|fare|toll|tuition|corkage|top-?up|refund|fine|penalty|premium)")
# The verbs that price something ("What does the plan cost?", "What do you charge for ...?").
PRICE_VERB = r"(?:charge|cost|be charged)"
# A rate that is money ("What's the hourly rate for ...?", "What mileage rate do I get?", "the rate per km"); not an error,
# fix or exchange rate, nor a rate limit.
PAY_RATE = (r"(?:(?:hourly|mileage|daily|weekly|nightly|pay|room|labou?r)"
            r"(?: (?!(?:error|failure|success|fix|conversion|churn|response|click|interest|exchange)\b)[\w-]+){0,2} rates?"
            r"|rates? per [\w-]+)")
# What someone is paid (per something): "What do we get per mile ...?", "What does a sous chef earn per hour?", "What do
# examiners get paid?".
PAID_PER = r"(?:(?:get|earn|receive|make|be paid)(?: back)? per|get paid)\b"
# The noun ends what is asked about: not "What is the bonus scheme called?".
PRICE_NOUN_ENDS = (r"(?=\W*$|\s+(?:for|of|on|per|to|if|when|at|in|with|from|under|over|after|before|is|are|was|were|do|does|"
                   r"did|would|will|we|i|you|they|that|this|a|an|the)\b)")
# What a measure of each of these is said in ("-80 °C", "35 kg", "5 Mbps").
DIMENSIONS = {"temperature": TEMPERATURE, "weight": r"(?:kg|grams?|g|kilos?|kilograms?|tonnes?|tons?|lbs?|pounds|ounces|oz)",
              "speed": r"(?:km/h|kph|mph|knots?|m/s|[kmg]bps|[kmg]b/s|rpm|revolutions per minute)",
              "storage": r"(?:[kmgtp]i?b|bytes?|(?:kilo|mega|giga|tera|peta)bytes?)",
              "size": r"(?:mm|cm|m|km|(?:milli|centi|kilo)?met(?:re|er)s?|feet|foot|ft|inch(?:es)?|yards?|miles?)"}
# A measure in one of them: "-80 °C", "134 to 137 degrees C", "3–5 °C", "35 kg".
MEASURES = {kind: re.compile(rf"(?<![\w.])(?:-|−|minus\s)?\d[\d.,]*(?:\s*(?:-|–|to)\s*-?\d[\d.,]*)?\s*{unit}(?:\s*[cf]\b)?(?!\w)", re.I)
            for kind, unit in DIMENSIONS.items()}
# How often: a period ("every 2 years", "four years", "on Mondays") or a word that says how often ("twice", "six-monthly").
FREQUENCY = re.compile(rf"\b(?:{TIME_UNIT}|{WEEKDAY}|hourly|daily|nightly|weekly|fortnightly|monthly|quarterly|yearly|annually|"
                       rf"once|twice|every|each|per\s+{TIME_UNIT}|times|always|never|rarely|seldom|sometimes|occasionally|"
                       r"usually|often|regularly|frequently)\b", re.I)
# A telephone number or an extension: four digits or more, not part of a code ("PDS-44817", "11 appointments").
PHONE = re.compile(r"(?<![\w-])\+?\(?\d[\d ().-]*\d(?![\w-])")
# An internal line, by its extension ("extension 2200", "ext. 250").
EXTENSION = re.compile(r"\b(?:extension|ext\.?)\s?\d{2,6}\b", re.I)
# A question for a number to ring: "What's the phone number ...?", "What's her mobile number (extension)?", "What number (extension)
# do I call ...?", "Which internal number do I ring next?"; not "What's our customer number when I call support?". A name
# in the possessive asks as "her" does: a follow-up's "What's her extension?" is asked as "What's Fleur Jansen's extension?".
PHONE_ASKED = re.compile(r"(?:\b(?:phone|telephone|mobile|cell|direct|his|her|their|your)|['’]s) (?:number|extension)\b|"
                         r"\bwhat(?:'s| is) the extension\b|"
                         r"\b(?:number|extension) (?:do|should|can|must) (?:i|we|you|they) (?:call|ring|dial|phone)\b")
# A number that names the thing it follows, as a label does ("option 1", "aisle 14", "Room 3", "No. 2"): no count.
LABEL = re.compile(r"\b(?:option|aisle|room|gate|step|line|bay|door|dock|platform|zone|level|floor|extension|ext|page|"
                   r"section|chapter|table|row|stage|phase|tier|building|block|lane|ward|route|no|nr)\.?\s?#?\d[\w.-]*", re.I)
# The number a list item opens with ("2. The rail ...", "3) Call ...").
LIST_NUMBER = re.compile(rf"^\(?{ITEM_NUMBER}\s+(?=[^\W\d_])")
# A number grouped by thousands ("1 200 000"), which PHONE finds too.
THOUSANDS = re.compile(r"\d{1,3}(?:[ .,]\d{3})+")
# "What caused ...?", "What was behind ...?", "What made the compressor trip?": a reason, as "why" asks.
CAUSE_ASKED = (r"what (?:caused|causes|led to|leads to|made|makes|(?:was|is|were|are) (?:behind|the (?:causes?|reasons?) (?:of|for)))"
               r"\b")
# What a reason can be said with: any word that is not about when or how much.
NOT_A_REASON = re.compile(rf"^(?:(?:on|in|at|by|from|to|until|since|the|of|and|about|around|approximately|\W|\d[\d.,:]*|"
                          rf"{MONTH}|{WEEKDAY}|{TIME_UNIT}|{NUMBER_WORD}|%|percent|{CURRENCY}|am|pm)\b\s*)+$", re.I)


# "What's the ...", "Which email ...", "When's our ...": a question that names what it asks for by a noun after it.
DETERMINER = r"(?:the |a |an |our |your |my |his |her |their |its )"
WHAT_THE = rf"{OPENING}(?:what(?:'s| is| are| was| were| will be)?|whats|when's|which) {DETERMINER}?"
# "Who do I ring?": answered by a person or by a number to ring.
CALL_WHOM = re.compile(rf"{OPENING}who (?:do|should|can|must) (?:i|we|you|they) (?:call|ring|phone|contact)\b")
# A condition before the question itself ("If I roll back a release, do my migrations get undone too?").
CONDITION = r"(?:(?:if|when|once|after|before|while|since)\b[^,?]*,\s*)?"
# What is called by its name: a "Which app ...?" question is answered with one ("SafetyHub", "LP-11"). Not a company:
# the name in a sentence about one may be its product's ("SmileDesk").
NAMED = (r"(?:apps?|applications?|tools?|systems?|software|platforms?|portals?|programs?|programmes?|clients?|linters?|"
         r"librar(?:y|ies)|frameworks?|formats?|forms|form(?! of\b)|macros?|templates?|headers?|browsers?|printers?|models?)")
NAMED_THING = re.compile(rf"{OPENING}(?:which|what)\s+(?:[\w-]+\s+)?({NAMED})\b")  # "which form ...", "what app ..."
# "Which of the clinics are ...", "Which two sites ...", "Which teams have ...": a plural noun, or a number of them, asked
# about with a verb that says it is plural.
SEVERAL = re.compile(rf"{OPENING}(?:which|what)\s+(?:of\s+(?:the|your|our|these|those)\s+[\w-]+s\b(?!\s+(?:is|was|has|does)\b)|"
                     r"(?:two|three|four|five|six)\s|[\w-]+s\s+(?:are|were|have|had|do|did|still|also|only)\b)")
# A question for a measure ("What temperature ...?", "What's the max weight for ...?", "What upload speed ...?"), not for
# a thing named by one ("Which temperature probe do we use?").
MEASURED = re.compile(rf"{WHAT_THE}"
                      r"(?:[\w-]+ ){0,2}(temperature|weight|speed)\b(?!\s+(?:probes?|sensors?|gauges?|loggers?|meters?|"
                      r"monitors?|testers?|controllers?|class|categor(?:y|ies)|bands?|settings?)\b)")
# A question for a share ("What percentage of ...?", "What share of the tuition do I get back?", "How full is the
# warehouse?"): a percentage or a fraction answers it, not the money it comes to ("$690").
# A rate that is a share, not a price: "What was the missed appointment rate in April?", "What error rate ...?".
SHARE_RATE = (r"(?:error|failure|success|fix|conversion|churn|response|click|interest|no-show|cancellation|attendance|"
              r"occupancy|vacancy|appointment|absence|turnover|defect) rates?\b")
SHARE_ASKED = re.compile(rf"{WHAT_THE}(?:(?:share|percentage|proportion|percent|fraction)\b(?! price)"
                         rf"|(?:(?!{AUXILIARY}\b)[\w-]+ ){{0,3}}(?:percentage\b|{SHARE_RATE}))|{OPENING}how full\b")
SHARE_SAID = re.compile(rf"{SHARE}|\b(?:half|halves|thirds?|quarters?|fifths?|tenths?|all|none|nothing|full|whole)\b", re.I)
# The words that ask for the most or the least of something, as "What's the ... I can ...?" writes them.
MOST_OR_LEAST = r"(?:most|maximum|max|least|minimum|min)"
# "What's the longest I can work ...?", "What's the most a patient can borrow?": a superlative before who or what does
# it asks for a duration (longest, shortest), a time (latest, earliest) or, with a verb of paying, an amount.
SUPERLATIVE_OF = re.compile(rf"{WHAT_THE}(longest|shortest|latest|earliest|{MOST_OR_LEAST}) "
                            r"(?:i'd|i'm|i|you'd|you're|you|we'd|we're|we|they'd|they|one|someone|a|an)\b")
# "What's the most overtime I can do in a week?", "What's the minimum notice period?": time off, overtime or notice, counted
# in days, hours or weeks.
MOST_TIME = re.compile(rf"{WHAT_THE}{MOST_OR_LEAST} (?:[\w-]+ ){{0,2}}(?:leave|overtime|holidays?|rest|breaks?|"
                       r"time off|notice(?: period)?)(?=\W*$|\s+(?:i|we|you|they|one|a|an|for|in|on|per|that|is|are|do|does|can)\b)")
PAYING = re.compile(rf"(?:\s+[\w'-]+){{0,4}}?\s+(?:spend|pay|claim|borrow|earn|get back|be paid|{PRICE_VERB})\b")
# "What's the minimum length for a staff password?": a length, in characters or units, or a duration.
LENGTH_NOUN = re.compile(rf"{WHAT_THE}(?:{MOST_OR_LEAST} |[\w-]+ )?length\b(?!\s+of\s+service)")
# What has a size in bytes.
DATA_THING = r"(?:files?|attachments?|downloads?|uploads?|mailbox(?:es)?|backups?|updates?|installers?)"
# A question for a size of data ("How much RAM ...?", "What's the mailbox storage?", "How big can an attachment be?",
# "What's the biggest attachment I can upload?", "What's the maximum file size?"), said
# in bytes ("16 GB"), not a duration ("24 months" for how much storage a file server has).
STORAGE_ASKED = re.compile(
    rf"{OPENING}how much (?:[\w-]+ )?(?:ram|memory|storage|disk space|disk)\b"
    rf"|{WHAT_THE}(?:[\w-]+ ){{0,2}}"
    r"(?:ram|memory|storage|disk space|disk size)(?=\W*$|\s+(?:do|does|is|are|on|of|in|for|have|has)\b)"
    rf"|{OPENING}how (?:big|large) (?:is|are|can|may|should) {DETERMINER}?(?:[\w-]+ ){{0,2}}{DATA_THING}\b"
    rf"|{WHAT_THE}(?:(?:max(?:imum)?|biggest|largest) (?:[\w-]+ ){{0,2}}{DATA_THING}\b(?! (?:speed|time|rate|count|number)s?\b)"
    rf"|(?:[\w-]+ ){{0,2}}{DATA_THING} size\b)")
# A question for a height, a width or a depth ("How high off the floor ...?", "What's the maximum mooring depth ...?"),
# said in units of length ("300 mm"); not "How high is the excess?".
SIZE_ASKED = re.compile(rf"{OPENING}how (?:high|tall|wide|deep|thick)\b(?!(?: [\w-]+){{0,3}} (?:{PRICE_NOUN}|excess|rate|risk|score)s?\b)"
                        rf"|{WHAT_THE}(?:[\w-]+ ){{0,2}}"
                        r"(?:height|width|depth|thickness)\b")
# A question for an email address ("What's the email address for support?", "Which email do I send it to?").
EMAIL_ASKED = re.compile(rf"{WHAT_THE}"
                         r"(?:[\w-]+ ){0,3}(?:e-?mail address(?:es)?\b|e-?mail (?=for|of|do|does|should|can|must|is)\b)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A question for a number or a code that names something ("What's our account number with ...?", "What's the discount
# code?", "What's the full EAN barcode ...?"), not for a count ("the number of deploys") or a number to ring (PHONE_ASKED).
IDENTIFIER_ASKED = re.compile(
    rf"{WHAT_THE}(?:[\w-]+ ){{0,3}}(?<!dress )(?:number|code|barcode|reference|postcode|zip code|iban|account|serial)"
    r"(?=\W*$|\s+(?:for|on|to|at|with|do|does|should|can|must|is|are|i|we)\b)")
# Digits, or a code in capitals ("WELCOME15", "AB-2291", "DM").
IDENTIFIER = re.compile(r"\d|\b[A-Z][A-Z-]*[A-Z]\b")
# "How much notice do I have to give?", "How much time do I have to cancel?": a duration ("48 hours"), not an amount.
TIME_ASKED_AS_MUCH = re.compile(rf"{OPENING}how much (?:(?:advance|prior|more|extra|lead|spare) )?(?:notice|warning|time|lead time)\b"
                                rf"|{OPENING}how much (?:longer|earlier|later|sooner|in advance)\b")
# "What's the maximum number of deploys ...?", "What number of ...?": a count.
NUMBER_OF = re.compile(rf"{WHAT_THE}(?:[\w-]+ ){{0,2}}number of\b")
# "What's the cut-off (deadline, start date, check-in time) ...?": a time; "... time" of these, and opening (office,
# business) hours, a time of day.
TIME_NOUN = re.compile(rf"{WHAT_THE}"
                       r"(?:[\w-]+ ){0,3}(?:(deadline|cut-?off|due date|(?:start|end|closing|expiry|renewal|release|launch) date)"
                       r"|(?:cut-?off|start|starting|finish|finishing|closing|opening|check-?in|check-?out|arrival|departure|"
                       r"collection|latest|earliest) (time)s?|(?:opening|office|business|visiting) (hours))"
                       r"(?=\W*$|\s+(?:for|of|on|to|at|in|is|are|do|does)\b)")
# "What hours are you open on Saturday?", "What hours is the taproom open?": a time of day, as opening hours are.
HOURS_OPEN = re.compile(rf"{OPENING}what hours (?:is|are|do|does|will|would|can) [^?]*?\bopen\b(?!-)")
# A question for money (asks_price), as its asking words write it: "How much does it cost ...?", "What's the call-out
# fee?", "What do you charge ...?", "What allowance (discount, deposit) do I get ...?".
PRICE_QUESTION = re.compile(
    rf"{OPENING}how much\b.*\b(?:cost|costs|charge|charged|price|fee|fees|worth)\b"
    rf"|{WHAT_THE}(?:[\w-]+ ){{0,3}}(?:{PRICE_NOUN}s?|{PAY_RATE}){PRICE_NOUN_ENDS}"
    rf"|{OPENING}what (?:do|does|did|will|would|should) (?:[\w-]+ ){{1,8}}{PRICE_VERB}\b"
    rf"|{OPENING}what (?:extra |more |else )?(?:do|does|did|will|would|should) (?:[\w-]+ ){{1,6}}{PAID_PER}"
    rf"|{OPENING}what (?:[\w-]+ ){{0,2}}(?:{PRICE_NOUN}s?|{PAY_RATE}) (?:do|does|did|will|would|can|could|should|must|is|are|was|were|"
    r"gets?|goes|go|applies|apply)\b"
    # "What should my hourly rate be?", "What will the monthly fee be?"
    rf"|{OPENING}what (?:should|would|will|is|was) {DETERMINER}(?:[\w-]+ ){{0,2}}(?:{PRICE_NOUN}s?|{PAY_RATE}) be\b")
# "Which SpokeDesk version ...?", "Which release brought ...?": answered with a version number ("5.3.0", "4.2"), not the
# release's date, notes or schedule.
VERSION_ASKED = re.compile(rf"{WHAT_THE}(?:[\w-]+ ){{0,2}}(?:version|release)s?\b"
                           r"(?!\s+(?:dates?|notes?|days?|times?|windows?|schedules?|process|cycles?|plan)\b)")
VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+)+(?![\w.]*\w)|\b\d+\b")
# Capitalised words in a row: a name ("Daniel Rocha", "Tesla Electric Light").
NAME = r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*"


def without_times(text: str, *, keep_spans: bool = False) -> str:
    """``text`` with its dates and clock times blanked out; with ``keep_spans``, not those that span a while ("20:00 to
    23:30")."""
    def blank(match: re.Match[str]) -> str:
        return match[0] if keep_spans and re.search(r"[-–]|\bto\b", match[0]) else " "
    return CLOCK.sub(blank, DATE.sub(blank, text))


def is_telephone_number(number: str) -> bool:
    """Whether a number PHONE finds is a telephone number: seven digits or more ("1-888-412-7730", "085 303 7720"), not
    grouped by thousands ("1 200 000")."""
    return sum(c.isdigit() for c in number) >= 7 and not THOUSANDS.fullmatch(number)


def without_non_counts(text: str) -> str:
    """``text`` with the numbers that count nothing blanked out: telephone numbers (is_telephone_number) and numbers
    that name what they follow ("option 1", "aisle 14")."""
    return LABEL.sub(" ", PHONE.sub(lambda number: " " if is_telephone_number(number[0]) else number[0], text))


def asks_for(question: str) -> str | None:
    """"count", "amount", "length" (how long), "duration" (how many days, weeks...), "frequency" (how often), "temperature",
    "weight", "speed" (what temperature ...; DIMENSIONS), "storage" (how much RAM), "size" (how high), "version", "phone", "email",
    "identifier" (an account number, a code), "share" (a percentage), "time", "reason", "person" (who),
    "name" (which app, tool, system...: not checked), "steps" (how to do something: not checked, and no phrase answers
    it) or "yes/no" (not checked), or None when the question's kind is not one of these. The asking sentence decides
    (asking_sentence)."""
    q = asking_words(question)
    asked = re.sub(rf"{OPENING}{CONDITION}", "", q, count=1)
    if re.match(rf"{AUXILIARY}\b", asked) and not re.search(r"\b(?:who|what|when|where|which|how|why)\b", asked):
        return "yes/no"  # "Can I have my check-ups on the NHS?"; not "Is there a deposit, and how much?"
    if re.match(rf"{OPENING}(?:how (?:do|can|should|would|could|must) (?:i|we|you|one|they)|how to|what are the steps|what steps|which steps)\b", q):
        return "steps"
    if PHONE_ASKED.search(q):
        return "phone"
    if re.match(rf"{OPENING}who\b", q):
        return "person"
    if re.match(rf"{OPENING}how (?:long\b(?! ago\b)|old\b)", q) or TIME_ASKED_AS_MUCH.match(q):
        return "length"
    if re.match(rf"{OPENING}how fast (?:is|are|was|were)\b", q):
        return "speed"  # "How fast is the broadband line?", not "How fast do we have to patch ...?"
    if re.match(rf"{OPENING}how (?:quickly|soon|early|far|fast)\b", q):
        return "length"  # "within 1 hour", "30 minutes before", "45 km"
    if SIZE_ASKED.match(q):
        return "size"
    if match := re.match(rf"{OPENING}how (hot|cold|warm|heavy)\b", q):
        return "weight" if match[1] == "heavy" else "temperature"
    if re.match(rf"{OPENING}how (?:often|frequently)\b", q):
        return "frequency"
    if STORAGE_ASKED.match(q):
        return "storage"
    if EMAIL_ASKED.match(q):
        return "email"
    if NUMBER_OF.match(q):
        return "count"
    if TIME_NOUN.match(q) or HOURS_OPEN.match(q):
        return "time"
    if SHARE_ASKED.match(q):
        return "share"
    if re.match(rf"{OPENING}how much\b", q) or PRICE_QUESTION.match(q):
        return "amount"
    if match := MEASURED.match(q):
        return match[1]
    if VERSION_ASKED.match(q):
        return "version"
    if IDENTIFIER_ASKED.match(q):
        return "identifier"
    if match := re.match(rf"{OPENING}how many\s+(?:{WHICH_DAYS}\s+)?(\w+)(?:\s+(\w+))?", q):
        # "How many days ..." asks for a number of days: a measure ("14 days", "two weeks", "10"), no date. A time unit
        # in the singular before another word names what is counted ("How many night shifts ...": not "22:00-06:00").
        # Nor does a time unit after the words that say which ("How many study leave days ...?": "2 days").
        unit, after = match[1], match[2]
        qualifies = after is not None and not unit.endswith("s") and after not in STOPWORDS
        head = counted_noun(q[match.start(1):])
        return "duration" if (re.fullmatch(TIME_UNIT, unit) and not qualifies) or is_time_units(head) else "count"
    if re.match(rf"{OPENING}(?:why\b(?! not\b)|{CAUSE_ASKED})", q):
        return "reason"
    if re.match(rf"{OPENING}{TIME_PREPOSITION}(?:when|what time)\b", q) or DAY_ASKED.match(q) or DATE_ASKED.match(q):
        return "time"
    if MOST_TIME.match(q):
        return "duration"
    if match := SUPERLATIVE_OF.match(q):
        if match[1] in ("longest", "shortest"):
            return "length"
        if match[1] in ("latest", "earliest"):
            return "time"
        if PAYING.match(q, match.end()):
            return "amount"
    if LENGTH_NOUN.match(q):
        return "length"
    if NAMED_THING.match(q):
        return "name"
    return None


def named_thing(question: str) -> str | None:
    """The kind of named thing "Which ...?" asks for ("form" of "Which form do I fill in?"), or None."""
    match = NAMED_THING.match(asking_words(question))
    return match[1] if match else None


def counted_noun(words: str) -> str:
    """The last word of what "how many" counts, of the words after it up to the first that is no part of a name, three
    at most ("days" of "study leave days do i get?"); "" when there is none."""
    counted = list(itertools.takewhile(lambda word: word not in STOPWORDS, re.findall(r"[\w'-]+", words)[:3]))
    return counted[-1] if counted else ""


def is_time_units(word: str) -> bool:
    """A time unit in the plural ("days", not "day" of "day shifts")."""
    return word.endswith("s") and re.fullmatch(TIME_UNIT, word) is not None


def fits(question: str, answer: str) -> bool:
    """Whether ``answer`` says the kind of thing ``question`` asks for (True when the kind is not checked)."""
    kind = asks_for(question)
    # A list item's number is no amount nor count ("2. The left-hand rail ... had been removed" for what a repair cost).
    text = LIST_NUMBER.sub("", strip_citations(answer).strip())
    if other_currency(question, text) or opposite_bound(question, text) is not None:
        return False
    if kind in (None, "name", "steps", "yes/no") or not text:
        return True
    if kind == "person":  # someone the question does not name already ("Daniel Rocha" for who stands in for him)
        if asks_about_named(question):
            return True
        name = re.match(rf"\W*({NAME})", text)
        return name is None or name[1] not in re.findall(NAME, question)
    if kind == "count":  # a count, not only measures ("four hours", "10%" for "how many gateways"), times or phone numbers
        return bool(COUNT.search(MEASURE.sub(" ", without_times(without_non_counts(text)))))
    if kind == "amount":  # how much: a number, or words that say one ("free", "half", "a day"), not a time or a date
        # A price is not a number of something else ("up to 40 people" for what hiring the room costs, "900 Mbps").
        rest = without_times(text)  # nor a clock time ("14:00, two days before arrival")
        return bool(AMOUNT.search(rest)) and (not asks_price(question) or bool(PRICE.search(rest)))
    if kind == "length":  # a duration or a length: a time or a number still there once money and the like are gone;
        # for "how long", once a clock time or a date alone is gone too: it says when, not how long ("11:00" for how long
        # the induction takes; "until 17:00" and "20:00 to 23:30" say how long, "at 08:45" how early)
        rest = NOT_A_LENGTH.sub(" ", text)
        if re.match(rf"{OPENING}how long\b", asking_words(question)):
            rest = without_times(rest, keep_spans=True)
        return bool(TIME.search(rest) or re.search(UNIT, rest, re.I))
    if kind == "duration":  # a number of days, weeks...: a time unit, or a number of nothing else, still there once
        # dates, clock times, money and the like are gone ("20 December and 2 January" is no number of days of leave,
        # "five adoption appointments" none of weeks)
        rest = NOT_A_LENGTH.sub(" ", without_times(text))
        if re.search(rf"\b{TIME_UNIT}\b", rest, re.I):
            return True
        return any(not (word := re.match(r"\s+([a-z][\w'-]*)", rest[count.end():], re.I)) or word[1].lower() in STOPWORDS
                   for count in COUNT.finditer(rest))
    if kind == "frequency":  # not a price ("£1,850 per bus" for how often extinguishers are replaced)
        return bool(FREQUENCY.search(MONEY.sub(" ", text)))
    if kind in MEASURES:  # a number with a unit of it ("75 min" is no weight of hops)
        return bool(MEASURES[kind].search(text))
    if kind == "share":
        return bool(SHARE_SAID.search(text))
    if kind == "email":
        return bool(EMAIL.search(text))
    if kind == "identifier":  # digits or a code, once money, shares and dates are gone ("99.5% monthly availability")
        return bool(IDENTIFIER.search(SHARE_OF.sub(" ", MONEY.sub(" ", without_times(text)))))
    if kind == "version":  # a number ("Android 11", "5.3.0"), not a name ("Tandem Software B.V")
        return bool(VERSION.search(without_times(text)))
    if kind == "phone":
        # Not an amount ("£46.75" has four digits too) nor a date; an extension may have three ("250" for what extension
        # to call).
        digits = 3 if EXTENSION.search(text) or "extension" in asking_words(question) else 4
        return any(sum(c.isdigit() for c in number) >= digits for number in PHONE.findall(MONEY.sub(" ", without_times(text))))
    if kind == "time":  # "what time" asks for a time of day: "Monday" is no answer to when the first day starts
        if asks_day(question):
            return bool(DAY_SAID.search(text))
        if asks_date(question):
            return bool(DATE_SAID.search(text))
        return bool(CLOCK.search(text) or DAYPART.search(text)) if asks_time_of_day(question) else bool(TIME.search(text))
    return not NOT_A_REASON.match(text)  # a reason: more than a date or an amount


def asks_for_several(question: str) -> bool:
    """"Which of your clinics have free parking?", "Which two sites ...?": a question that more than one thing may
    answer, each named (names.name_lists)."""
    return bool(SEVERAL.match(asking_words(question)))


def asks_about_named(question: str) -> bool:
    """"Who is Carla Mendes?": a question about the one it names, answered by who she is ("the office manager")."""
    return bool(re.search(rf"\b[Ww]ho (?:is|was|are|were) {NAME}\W*$", asking_sentence(question)))


def asks_price(question: str) -> bool:
    """"How much does it cost ...?", "How much do you charge ...?", "What's the call-out fee?", "What does it cost ...?": a
    question for money (or a share of a price)."""
    return bool(PRICE_QUESTION.match(asking_words(question)))


# "What day ...?", "On which days ...?" asks for a day, not a time of day ("18:15" for what day a class is).
DAY_ASKED = re.compile(rf"{OPENING}{TIME_PREPOSITION}(?:on )?(?:what|which) days?"
                       r"(?= (?:is|are|was|were|will|would|do|does|did|can|could|should|must|of)\b|\W*$)")
# A day: its name, a date or a day of the month ("the 25th", "25"), or words for days ("every day", "weekdays").
DAY_SAID = re.compile(rf"\b(?:{WEEKDAY}|{MONTH}|\d{{1,2}}(?:st|nd|rd|th)|days?|daily|today|tomorrow|yesterday|tonight|"
                      r"christmas|easter|holidays?)\b|(?<![\d:.,£$€])\b\d{1,2}\b(?![:.,]?\d|\s?[ap]\.?m\b)", re.I)

# A question for a date ("From what date ...?", "On what date did ...?") and what answers it: a date, a month, a day's
# name or a year, not a count ("11 Wavecrest patients have moved to self-pay" for when the practice stopped taking them).
DATE_ASKED = re.compile(rf"{OPENING}{TIME_PREPOSITION}(?:on )?(?:what|which) dates?\b")
DATE_SAID = re.compile(rf"{DATE.pattern}|\b(?:{WEEKDAY}|today|tomorrow|yesterday|january|february|march|april|june|july|"
                       rf"august|september|october|november|december)\b|\b{YEAR}\b|\b\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}\b", re.I)


def asks_date(question: str) -> bool:
    return bool(DATE_ASKED.match(asking_words(question)))


def asks_day(question: str) -> bool:
    return bool(DAY_ASKED.match(asking_words(question)))


def asks_time_of_day(question: str) -> bool:
    """"What time ...?" ("By what time ...", "From what time ..."), not "What time of year ...?" or "What time frame
    ...?"."""
    q = asking_words(question)
    if (named := TIME_NOUN.match(q)) and (named[2] or named[3]) or HOURS_OPEN.match(q):
        return True  # "What's the check-in time?", "What are the Sunday opening hours?", "What hours are you open?"
    return bool(re.match(rf"{OPENING}{TIME_PREPOSITION}what time\b(?! of (?:the )?year\b| (?:fram|period|window|limit|span|zone))", q))


def mismatch(question: str, answer: str) -> str | None:
    """What ``answer`` is, as a notice says, when it is no answer to ``question`` (fits): "not a count, which the
    question asks for"; None when it is one."""
    if fits(question, answer):
        return None
    if asked := opposite_bound(question, strip_citations(answer)):
        return f"{'a lower' if asked == 'most' else 'an upper'} bound, where the question asks for the {asked}"
    return f"not {kind_name(question)}, which the question asks for"


def kind_name(question: str) -> str:
    """How a notice names what the question asks for."""
    if currency := IN_CURRENCY.search(question):
        return f"an amount in {currency[1].lower()}"
    if asks_time_of_day(question):
        return "a time of day"
    if asks_day(question):
        return "a day"
    if asks_date(question):
        return "a date"
    return {"count": "a count", "amount": "an amount", "length": "a duration or a length", "duration": "a duration",
            "frequency": "a frequency", "temperature": "a temperature", "weight": "a weight", "speed": "a speed",
            "version": "a version number", "storage": "a size of data", "size": "a size in units of length", "email": "an email address",
            "identifier": "a number or a code", "share": "a share",
            "phone": "a phone number", "time": "a time", "reason": "a reason", "person": "someone the question does not name already"}.get(asks_for(question) or "", "an answer")
