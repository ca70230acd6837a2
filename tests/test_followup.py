"""Follow-ups made to stand alone by rule: pronouns resolved, elided questions completed, along a conversation."""

import pytest

from assistant.conversation.followup import (
    by_rule,
    complete_condition,
    complete_ellipsis,
    last_exchange,
    rewrite,
    swap_of,
)
from assistant.conversation.references import Exchange, demonstrative, named_answer, refers_back, resolve, topic
from assistant.conversation.types import Passage, Turn
from assistant.llm.fake import ScriptedChatModel
from assistant.skills.table_lookup import Swap


@pytest.mark.parametrize(("previous", "answer", "follow_up", "standalone"), [
    ("Who is the office manager in Oslo?", "Ingrid Holm [1]", "Which days is she there?", "Which days is Ingrid Holm there?"),
    ("Who has the last interview with candidates?", "Inês Marques [1]", "What's her role at the company?",
     "What's Inês Marques's role at the company?"),
    ("Who is the security officer?", "Henrik Aasen [1]", "How do I report an incident to him?",
     "How do I report an incident to Henrik Aasen?"),
    ("Which VPN client do we use?", "WireGuard [1]", "How long is its configuration valid?", "How long is WireGuard's configuration valid?"),
    ("Which of the clinics are open on a Saturday?", "Harrogate and Headingley [1]", "What hours are they open then?",
     "What hours are Harrogate and Headingley open then?"),
    ("What caused the Harbor Console outage on 14 March?", "a database migration [1]", "How long did it last?",
     "How long did the Harbor Console outage on 14 March last?"),
    ("When did version 4.3 come out?", "16 April 2024 [1]", "What was the main new feature in it?",
     "What was the main new feature in version 4.3?"),
    ("When is the StockLine 6.3 upgrade going to happen?", "21-22 September [1]", "Which site stops work because of it?",
     "Which site stops work because of the StockLine 6.3 upgrade?"),
    ("How much does the Pro plan cost?", "€29 [1]", "Who can I pay it to?", "Who can I pay the Pro plan to?"),
    ("In the Box Hill scald, which plumber came out after hours?", "Dean Castellano [1]", "What time did he get there?",
     "What time did Dean Castellano get there?"),
])
def test_a_pronoun_is_replaced_by_what_it_refers_to(previous, answer, follow_up, standalone):
    resolved = resolve(follow_up, Exchange(previous, answer))
    assert resolved is not None and resolved[0] == standalone


@pytest.mark.parametrize(("previous", "answer", "follow_up"), [
    ("Who is the office manager in Oslo?", None, "Which days is she there?"),  # declined: no one to refer to
    ("How much notice does a host need to give?", "24 hours [1]", "How long is the video they watch?"),  # "they": no name
    ("What temperature must an autoclave cycle reach?", "134 °C [1]", "And for how long does it need to hold it?"),  # two things
    ("What is the allowance for night shifts?", "25% [1]", "What rate is overtime paid at if I work it on a Sunday?"),  # its own
    ("How much is the Basic plan?", "€9 [1]", "What is the Pro plan?"),  # no pronoun
    ("Which gateway do I need?", "the HB-1 [1]", "What is his number?"),  # a thing is no "he"
    ("How much can I load into the box?", "80 kg [1]", "And what does it cost?"),  # "I" is not what it was about
])
def test_a_pronoun_whose_referent_is_unclear_is_left_as_asked(previous, answer, follow_up):
    assert resolve(follow_up, Exchange(previous, answer)) is None


@pytest.mark.parametrize("question", [
    "How much does it cost to add an extra bank connection on Pro?",  # "it" stands for the "to" clause
    "how much is it per week to keep a pallet at Ellerby Cross",
    "Roughly how long does it take for a claim to be paid out once the form is in?",
    "How quickly does IT promise to reply to a ticket?",  # the IT department
    "I lost my work laptop on the train. How long do I have to report it?",  # its own sentence says what "it" is
    "I worked 4 hours over 40 last week but forgot to get it approved first. How will it be paid?",  # a number of things
    "One of the sparkies went home and left his lock on a switchboard. Who can approve taking it off?",
    "Once a steel keg is tapped, how long have we got to use it?",
    "Is there a Brightwell Care plan for children, and how much is it?",
    "Who was driving van 22 when it was written off?",
    "A monthly customer cancels halfway through their third month. Do they lose access straight away?",
    "What time do I need to drop my bike off to get it back the same day?",
    "who was it that found the water in block c at greystone park?",
    "Is there a deposit for a locker?", "How many staff parking spaces are there at Leeds HQ?",  # there is
    "Who is on call this week?", "How do I confirm that I've put the pallet away?", "How many sensors can one G10 gateway handle?",
    "Who has to approve a refund of more than €500?",
])
def test_a_question_that_says_what_its_words_refer_to_stands_alone(question):
    """Asked after another question (in a group chat, one after another), it is searched and read as asked, not with
    the question before it nor with its "it" replaced by that question's topic."""
    history = conversation(("How much does the Enterprise plan cost?", "€199 a month [1]", False))
    assert not refers_back(question)
    assert rewrite(ScriptedChatModel(["x"], name="smollm2-135m"), question, history).query == question


def test_a_bare_condition_is_a_follow_up_though_no_word_points_back():
    history = conversation(("How much is a follow-up physio session?", "€55 [1]", False))
    model = ScriptedChatModel(["x"], name="smollm2-135m")
    assert rewrite(model, "What if I'm a student?", history).query == "How much is a follow-up physio session if I'm a student?"


@pytest.mark.parametrize("follow_up", [
    "What does it cost?", "Which stores can I pick it up from?", "Is there parking there?", "What's her phone number?",
    "Is there a minimum charge for that?", "What would a Senior Rental Agent get at that point?", "And at C1?",
    "When is the new one going in?", "How much does a patient pay for one?", "I heard that's going up. To how much?",
    "Who was duty manager that evening?", "Who else?",
])
def test_a_question_that_points_back_is_a_follow_up(follow_up):
    assert refers_back(follow_up)


def test_a_named_answer_is_a_name_or_a_code_not_a_date_or_an_amount():
    assert named_answer("Martin Cranston, Head of Engineering [1]") == "Martin Cranston"
    assert named_answer("the HB-1 [1]") == "the HB-1" and named_answer("R-07") == "R-07"
    assert named_answer("Marco Visser") == "Marco Visser"  # "Mar..." is no month
    for not_a_name in ("16 April 2024 [1]", "€29", "a database migration", "The closest passage in your documents says"):
        assert named_answer(not_a_name) is None


def test_the_topic_of_a_question_is_the_phrase_after_its_question_word_and_verb():
    assert topic("Who led the investigation of the buoy 17 incident?") == "the investigation of the buoy 17 incident"
    assert topic("How long does a C200's battery last at the default interval?") == "a C200's battery"
    assert topic("When was Harbor Console 4.0 released?") == "Harbor Console 4.0"
    assert topic("What was behind the Stripe webhook failures?") == "the Stripe webhook failures"
    assert topic("Which site stops work?") is None
    assert topic("How much can I load into the box?") is None  # about what "I" can do, not about "I"


@pytest.mark.parametrize(("previous", "follow_up", "standalone"), [
    ("How much is the Pro plan a month?", "What about Business?", "How much is the Business plan a month?"),
    ("Where do we gather at Barendrecht if there's an evacuation?", "And at Ridderkerk?",
     "Where do we gather at Ridderkerk if there's an evacuation?"),
    ("How much does the Pro plan cost?", "And after the trial?", "How much does the Pro plan cost after the trial?"),
    ("Which bus leaves after 09:00?", "And before 10:00?", "Which bus leaves after 09:00 before 10:00?"),
    # The phrase after the same preposition that shares a word with the part, not the last one ("in one go").
    ("How long can someone stay in the blast freezer in one go?", "And in the normal freezer rooms?",
     "How long can someone stay in the normal freezer rooms in one go?"),
    # A bare name for a name after a determiner: the determiner and what follows the name stay.
    ("What's the monthly price on the ColdTrack Standard plan?", "And on Fleet?", "What's the monthly price on the Fleet plan?"),
    ("What's the hourly rate for a Junior teacher?", "And for a Senior Teacher?", "What's the hourly rate for a Senior Teacher?"),
    # "a", "an" or "one": a thing of a kind, swapped for another; one after a preposition first.
    ("How long should I book for a new patient exam?", "And a hygiene visit?", "How long should I book for a hygiene visit?"),
    ("How much is the hotel allowance for a night in Oslo?", "And a week?", "How much is the hotel allowance for a week in Oslo?"),
    ("How much does a night in Oslo cost?", "And a week?", "How much does a week in Oslo cost?"),
    ("How much do you charge to send one pallet to the Ruhr area?", "And a full truckload?",
     "How much do you charge to send a full truckload to the Ruhr area?"),
    ("How much is a dog's annual booster for a cat?", "What about a rabbit?", "How much is a dog's annual booster for a rabbit?"),
    ("Can a contractor bring a guest?", "And a visitor?", None),  # two things of a kind: which one is unclear
    # "one" described otherwise: the thing of the previous question with the description swapped.
    ("How much is a small service?", "And the large one?", "How much is a large service?"),
    ("What does a 30 litre keg of Half Door cost on the trade list?", "And the 50 litre one?",
     "What does a 50 litre keg of Half Door cost on the trade list?"),
    ("How much is the Pro plan for a year?", "And the Business one?", "How much is the Business plan for a year?"),
    ("How much is a box of medium gloves?", "And large ones?", None),  # "ones": a plural, and "a box" is none
    ("How much is a small service?", "And the next one?", None),  # another thing, not another kind
    # "until" is a preposition like "after": its time swapped, not one put after "for".
    ("What's the charge for late check-out until 1pm?", "And until 3pm?", "What's the charge for late check-out until 3pm?"),
    ("What's the charge for late check-out until 1pm?", "And till 3pm?", "What's the charge for late check-out until 3pm?"),
    # A named thing for the one thing the question names with "the"; "the price" is no such thing.
    ("How much is the medium van for a full day?", "And the Luton?", "How much is the Luton for a full day?"),
    ("How long is the warranty?", "And the price?", None),
    # The day for the day, whatever the prepositions; a day that describes a thing ("a Sunday shift") in its place.
    ("What time do you open on weekdays?", "And at the weekend?", "What time do you open at the weekend?"),
    ("How much is parking at the Zwolle branch on Sundays?", "And at weekends?", "How much is parking at the Zwolle branch at weekends?"),
    ("What's your hourly rate on a weekday evening?", "And on a public holiday?", "What's your hourly rate on a public holiday?"),
    ("How much extra do I get for working a Sunday shift?", "And on a public holiday?", "How much extra do I get for working a public holiday shift?"),
    ("How much extra do I get for working a Sunday shift?", "What about Saturdays?", "How much extra do I get for working a Saturday shift?"),
    # "The same thing" at another place is the question asked there; what follows the swapped place stays.
    ("How much is a 25 sq ft unit at Millbrook if I pay for 12 months up front?", "What about the same thing at Greystone Park?",
     "How much is a 25 sq ft unit at Greystone Park if I pay for 12 months up front?"),
    ("How much is parking at the Zwolle branch on Sundays?", "And at Arnhem?", "How much is parking at Arnhem on Sundays?"),
    # The phrase ending in the part's last word starts after its preposition: "The" is another phrase's.
    ("How much is a Tyne Suite at The Thornbury in low season?", "And in high season?",
     "How much is a Tyne Suite at The Thornbury in high season?"),
])
def test_an_elided_name_completes_the_previous_question(previous, follow_up, standalone):
    assert complete_ellipsis(follow_up, previous) == standalone


@pytest.mark.parametrize("follow_up", ["And if I'm not doing anything?", "And I have a badge?", "And how long did it last?"])
def test_a_condition_or_a_new_question_is_no_elided_part(follow_up):
    assert complete_ellipsis(follow_up, "How long can I stay on the VPN before it kicks me off?") is None


@pytest.mark.parametrize(("previous", "follow_up", "standalone"), [
    ("How much annual leave does a full-timer get?", "And once they've been here five years?",
     "How much annual leave does a full-timer get once they've been here five years?"),
    ("How long can I stay on the VPN before it kicks me off?", "And if I'm not doing anything?",
     "How long can I stay on the VPN before it kicks me off if I'm not doing anything?"),
    # The previous question's own condition gives way, at its end or at its start.
    ("How long will the battery last if I set it to report every 5 minutes?", "And if it reports every minute?",
     "How long will the battery last if it reports every minute?"),
    ("If I live in Inverness, how much is the travel allowance?", "What if I live on Skye?",
     "How much is the travel allowance if I live on Skye?"),
    # A condition that restates a phrase of the question replaces it, not "until 1pm ... until 6".
    ("What's the charge for late check-out until 1pm?", "And if they want to stay on until 6?",
     "What's the charge for late check-out until 6?"),
    ("Which bus leaves after 09:00 from Leeds?", "And if I'm coming from York?", "Which bus leaves after 09:00 from York?"),
    # A time is no place: "at 6pm" goes after "at the Zwolle branch".
    ("How much is parking at the Zwolle branch?", "And if I arrive at 6pm?", "How much is parking at the Zwolle branch if I arrive at 6pm?"),
])
def test_a_condition_asks_the_previous_question_under_it(previous, follow_up, standalone):
    assert complete_condition(follow_up, previous) == standalone
    assert by_rule(follow_up, Exchange(previous, "25 days [1]")) == (standalone, None)


@pytest.mark.parametrize("follow_up", ["And when does it close?", "And how long did it last?", "What if?", "And Skipton?",
                                       "If the block has a door entry system, how much a week is added for that?"])
def test_a_question_or_a_name_is_no_condition(follow_up):
    assert complete_condition(follow_up, "When does the Harrogate clinic open?") is None


def conversation(*exchanges: tuple[str, str, bool]) -> list[Turn]:
    turns: list[Turn] = []
    for question, answer, declined in exchanges:
        turns += [Turn(len(turns), "c", "user", question), Turn(len(turns) + 1, "c", "assistant", answer, "qa", declined=declined)]
    return turns


def test_it_keeps_standing_for_the_same_thing_along_a_conversation():
    history = conversation(("Who led the investigation of the buoy 17 incident?", "Priya Raman [1]", False),
                           ("What caused it?", "a corroded antenna connector [1]", False))
    before = last_exchange(history)
    assert before == Exchange("What caused the investigation of the buoy 17 incident?", "a corroded antenna connector [1]",
                              "the investigation of the buoy 17 incident")
    assert by_rule("When was it fixed?", before) == ("When was the investigation of the buoy 17 incident fixed?",
                                                     "the investigation of the buoy 17 incident")


def test_he_or_she_keeps_standing_for_the_same_person_along_a_conversation():
    history = conversation(("Who was given the job of auditing the allergen matrices?", "Nadia Akhtar [1]", False),
                           ("By when does she have to finish it?", "31 March [1]", False))
    before = last_exchange(history)
    assert before is not None and before.person == "Nadia Akhtar"
    assert by_rule("What's her phone number?", before) == ("What's Nadia Akhtar's phone number?", None)
    # A question without "he" or "she" is about something else: the next "she" has no one to stand for.
    moved_on = conversation(("Who was given the job of auditing the allergen matrices?", "Nadia Akhtar [1]", False),
                            ("When is the next audit?", "31 March [1]", False))
    assert (after := last_exchange(moved_on)) is not None and after.person is None
    # Nor is a question whose "she" it says itself who she is.
    own_person = conversation(("Who was given the job of auditing the allergen matrices?", "Nadia Akhtar [1]", False),
                              ("My manager says she can sign the audit off. Which form does she need?", "form AU-2 [1]", False))
    assert (after := last_exchange(own_person)) is not None and after.person is None
    assert by_rule("What's her phone number?", after) is None


def test_a_declined_answer_or_another_command_gives_nothing_to_refer_to():
    declined = conversation(("Who is the office manager in Oslo?", "I don't know based on the documents.", True))
    assert last_exchange(declined) == Exchange("Who is the office manager in Oslo?", None)
    assert by_rule("Which days is she there?", last_exchange(declined)) is None
    translated = [*declined, Turn(2, "c", "user", "/translate French Good morning"), Turn(3, "c", "assistant", "Bonjour", "translate")]
    assert last_exchange(translated) is None


@pytest.mark.parametrize(("previous", "answer", "follow_up", "standalone"), [
    # The previous question's phrase ending in the same word, with "the" for "a".
    ("What's the monthly price on the ColdTrack Fleet plan?", "£12 [1]", "How many users can we add on that plan?",
     "How many users can we add on the ColdTrack Fleet plan?"),
    ("How much is a deep clean of a three-bed house?", "£180 [1]", "How long does this clean take?",
     "How long does the deep clean take?"),
    # The previous answer, when the question asked which one and the answer is short.
    ("In which version of Hub will SMS codes be withdrawn?", "version 4.0 [1]", "And when is that version due to come out?",
     "And when is version 4.0 due to come out?"),
    ("Which plan has phone support?", "Business [1]", "How much does that plan cost?", "How much does Business cost?"),
])
def test_that_thing_is_the_thing_the_previous_exchange_named(previous, answer, follow_up, standalone):
    assert demonstrative(follow_up, Exchange(previous, answer)) == standalone
    assert by_rule(follow_up, Exchange(previous, answer)) == (standalone, None)


@pytest.mark.parametrize(("previous", "answer", "follow_up"), [
    ("How many API requests per minute does a Business key allow?", "1,200 [1]", "How much does that plan cost?"),  # no plan
    ("Which plan has phone support?", None, "How much does that plan cost?"),  # declined: nothing named
    ("What did the meeting decide?", "to move the office to Leeds by June [1]", "Who proposed that move?"),  # not short
    ("Why did the server go down?", "an expired certificate [1]", "Who tracked that down?"),  # "that" is no thing's name
    ("How many shifts did I work in the week of 3 May?", "5 [1]", "How many shifts do I have this week?"),  # now, not then
])
def test_that_thing_is_left_as_asked_when_the_previous_exchange_does_not_name_it(previous, answer, follow_up):
    assert demonstrative(follow_up, Exchange(previous, answer)) is None


LIMITS = Passage("| Plan | Requests per minute | Requests per day |\n|---|---|---|\n| Pro | 600 | 100,000 |\n| Business | 1,200 | 500,000 |",
                 "api/limits.md", "Limits by plan")
COVER = Passage("| Cover level | Monthly charge | Excess per claim |\n|---|---|---|\n| Essential | £4.50 | £100 |\n| Standard | £8.00 | £100 |",
                "customers/cover.md", "Cover levels")


@pytest.mark.parametrize(("previous", "answer", "source", "follow_up", "standalone"), [
    # "that one": the name of the row whose cell answered.
    ("What does Essential cost a month?", "£4.50 [1]", COVER, "What's the excess on that one?", "What's the excess on Essential?"),
    # "that plan": the row's name, when the header of the names says what it is.
    ("How many API requests per minute does a Business key allow?", "1,200 [1]", LIMITS, "How much does that plan cost?",
     "How much does the Business plan cost?"),
])
def test_that_thing_is_the_row_of_the_table_the_previous_answer_came_from(previous, answer, source, follow_up, standalone):
    assert demonstrative(follow_up, Exchange(previous, answer, source=source)) == standalone


@pytest.mark.parametrize(("answer", "follow_up"), [
    ("£100 [1]", "What's the monthly charge on that one?"),  # two rows say £100: which is unclear
    ("£4.50 [1]", "What's the excess on that policy?"),  # the rows are cover levels, not policies
    ("£8.00 [1]", "What's the excess on that one?"),  # Standard's charge, not what looking Essential up gives: not its row
])
def test_that_thing_is_no_row_unless_one_row_answered_and_its_header_names_the_thing(answer, follow_up):
    assert demonstrative(follow_up, Exchange("What does Essential cost?", answer, source=COVER)) is None


def test_a_follow_up_that_swaps_a_part_carries_the_answer_before_and_its_passage():
    history = [Turn(0, "c", "user", "What does Essential cost a month?"),
               Turn(1, "c", "assistant", "£4.50 [1]", "qa", sources=(COVER,))]
    assert swap_of("And Standard?", last_exchange(history)) == Swap("Standard", "What does Essential cost a month?", "£4.50 [1]", COVER)
    assert swap_of("And if I pay yearly?", last_exchange(history)) == Swap("if I pay yearly", "What does Essential cost a month?",
                                                                           "£4.50 [1]", COVER)
    assert swap_of("And how long does it last?", last_exchange(history)) is None  # a question of its own
    declined = [history[0], Turn(1, "c", "assistant", "I don't know based on the documents.", "qa", sources=(COVER,), declined=True)]
    assert swap_of("And Standard?", last_exchange(declined)) is None  # no answer to swap a part of
