"""A message of several questions is answered as if they came one after another, in one reply."""

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.conversation.types import Reply, TextDelta
from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.asking import plain_question, questions_in
from assistant.skills.qa import NOT_FOUND


@pytest.mark.parametrize(("message", "questions"), [
    ("What's the wifi password? Where do I park?", ["What's the wifi password?", "Where do I park?"]),
    ("How long is a sabbatical and who is eligible?", ["How long is a sabbatical?", "Who is eligible?"]),
    ("How much deposit do you take, and how quickly do I get it back?",
     ["How much deposit do you take?", "How quickly do I get it back?"]),
    # what is said before a question goes with it; what is said after the last one goes before that one, as a
    # situation is told first
    ("I lost my laptop. Who do I tell? My badge is gone too. How do I get a new one?",
     ["I lost my laptop. Who do I tell?", "My badge is gone too. How do I get a new one?"]),
    ("What's the door code? Is the gym open today? I'm locked out.",
     ["What's the door code?", "I'm locked out. Is the gym open today?"]),
    ("How long a break do I get? I'm on a seven-hour shift on Saturday.",
     ["I'm on a seven-hour shift on Saturday. How long a break do I get?"]),
    ("I lost my badge. Who do I tell? It's urgent!", ["I lost my badge. It's urgent! Who do I tell?"]),
    # a sentence after a question sent with its question mark says, even when it opens with a question word
    ("What am I supposed to do? When I closed the till tonight the cash was short.",
     ["When I closed the till tonight the cash was short. What am I supposed to do?"]),
    # "how are you?" beside a question asks nothing of the documents
    ("How are you? What's the wifi password?", ["What's the wifi password?"]),
])
def test_the_questions_of_a_message(message, questions):
    assert questions_in(message) == questions


def test_the_questions_of_a_message_typed_in_lower_case():
    # written out first (capitals after a question mark as after a full stop), as the manager reads every message
    assert questions_in(plain_question("hi! what's the wifi password? where's the printer")) == [
        "What's the wifi password?", "Where's the printer?"]


@pytest.mark.parametrize("message", [
    "What's the wifi password?",
    # after a question that wants a yes or a no, "and ..." says what else to tell of the same thing
    "Is there a deposit for a locker, and how much?",
    "Can we do a one-way trip with the minibus, and how far ahead do we book?",
    # a question that asks only for more of the one before stays with it
    "Is there a deposit for the barrier fob? How much?",
    "Are cars more expensive in the summer? By how much?",
    "What is the difference between the Pro plan and the Team plan?",
    "Who approves expenses and how?",
    "How and when did the plague reach Europe?",  # one thing asked two ways
    # a verb after "and" asks only before its subject
    "What contract is it when the contractor gets a specification and must design the building too?",
    # "and" inside the condition before the question word
    "If I quit in my second month and don't hand the uniform back, how much comes off my last pay?",
    "Thanks!",
    # what is said after the question points back at it: it stays after
    "What's the postcode for the Orchard Lane nursery? I need it for the satnav.",
    "How do I get a new till PIN? I've forgotten mine.",
    # more than a few questions is a pasted text or a questionnaire, not questions to answer one by one
    "Who are you? What do you do? Where are you based? When did you start? Why apply here?",
])
def test_a_message_of_one_question_is_left_as_it_is(message):
    assert questions_in(message) == [message]


INCIDENT = Passage("Buoy 17 stopped sending data on 9 April. The investigation was led by Priya Raman. The loss of data was "
                   "caused by a corroded antenna connector.", "incidents/buoy-17.md", "Incident report", relevance=0.5)
TRAVEL = Passage("Flights of under six hours are booked in economy class.", "handbook/travel.md", "Travel policy",
                 relevance=0.4)
PASSAGES = (TRAVEL, INCIDENT)
RERANKER = {"Priya Raman": 0.95, "corroded": 0.95, "economy": 0.95}
ASKED = {"Priya Raman": "led", "corroded": "caused", "economy": "class"}


def manager(tmp_path, answers, passages=PASSAGES):
    model = ScriptedChatModel(answers)
    model.name = "smollm2-135m"  # not asked to rewrite follow-ups: each answer is one call
    return model, manager_over(model, tmp_path / "h.sqlite3", FakeKnowledgeStore(passages),
                               reranker=ScriptedReranker(RERANKER, asked=ASKED))


def test_each_question_is_answered_under_it_with_its_sources(tmp_path):
    model, chat = manager(tmp_path, ["Priya Raman [1]", "Economy [1]"])
    events = list(chat.stream("c", "Who led the buoy 17 investigation? What class are short flights booked in?"))
    reply = events[-1]
    assert isinstance(reply, Reply) and not reply.declined
    # the second answer's [1] is its own first passage, listed second
    assert reply.text == ("**Who led the buoy 17 investigation?** Priya Raman [1]\n\n"
                          "**What class are short flights booked in?** Economy [2]")
    assert [p.source for p in reply.sources] == [INCIDENT.source, TRAVEL.source]
    assert [(part.text, [p.source for p in part.sources]) for part in reply.parts] == [
        ("Priya Raman [1]", [INCIDENT.source]), ("Economy [1]", [TRAVEL.source])]  # each as if asked alone
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed.startswith("**Who led the buoy 17 investigation?** Priya") and "\n\n**What class" in streamed
    assert reply.usage is not None and reply.usage.completion_tokens == 3 + 2  # both readings' words counted
    # each question was read alone
    assert "What class" not in model.calls[0]["messages"][-1]["content"]
    assert "buoy 17" not in model.calls[1]["messages"][-1]["content"]
    # the conversation keeps the message and the reply as one exchange
    assert [t.content for t in chat.turns("c")] == [
        "Who led the buoy 17 investigation? What class are short flights booked in?", reply.text]


def test_a_later_question_is_read_as_a_follow_up_of_the_one_before(tmp_path):
    model, chat = manager(tmp_path, ["Priya Raman [1]", "a corroded antenna connector [1]"])
    reply = chat.handle("c", "Who led the investigation of the buoy 17 incident, and what caused its loss of data?")
    assert reply.text == ("**Who led the investigation of the buoy 17 incident?** Priya Raman [1]\n\n"
                          "**What caused its loss of data?** a corroded antenna connector [1]")
    assert [p.source for p in reply.sources] == [INCIDENT.source]  # the passage both cite, listed once
    assert "buoy 17 incident" in model.calls[1]["messages"][-1]["content"]  # "its" read as the incident's


def test_a_question_the_documents_do_not_answer_is_declined_beside_an_answered_one(tmp_path):
    _, chat = manager(tmp_path, ["Economy [1]"])
    reply = chat.handle("c", "What class are short flights booked in? Who approves a hotel upgrade?")
    assert not reply.declined
    first, second = reply.text.split("\n\n")
    assert first == "**What class are short flights booked in?** Economy [1]"
    assert second.startswith("**Who approves a hotel upgrade?** I ")  # "I couldn't find ..." or "I don't know ..."


def test_when_no_question_is_answered_the_reply_is_declined(tmp_path):
    _, chat = manager(tmp_path, ["unused"])
    reply = chat.handle("c", "/ask Who approves a hotel upgrade? What is the mileage rate for a private car?")
    assert reply.declined and reply.text.count("**") == 4


def test_free_text_that_no_document_is_about_goes_to_chat_as_one_message(tmp_path):
    far = Passage("The canteen opens at noon.", "facilities.md", "Facilities", relevance=0.1)
    model, chat = manager(tmp_path, ["Paris, and about 2,100 km."], passages=(far,))
    reply = chat.handle("c", "What is the capital of France? How far is it from Madrid?")
    assert reply.skill == "chat" and reply.text == "Paris, and about 2,100 km."
    assert model.calls[-1]["messages"][-1]["content"] == "What is the capital of France? How far is it from Madrid?"


def test_nothing_found_for_any_question_of_an_ask(tmp_path):
    far = Passage("The canteen opens at noon.", "facilities.md", "Facilities", relevance=0.1)
    _, chat = manager(tmp_path, ["unused"], passages=(far,))
    reply = chat.handle("c", "/ask What is the capital of France? How far is Madrid?")
    assert reply.declined and reply.text.count(NOT_FOUND) == 2


@pytest.mark.real_model
def test_the_embedded_model_answers_each_question_of_a_message_from_its_own_passage(real_model, tmp_path):
    from pathlib import Path

    passages = (
        Passage("The Louvre, in Paris, is the world's most visited art museum. It opened in 1793.", "museums.md", "Louvre"),
        Passage("The Eiffel Tower is 330 metres tall. It was built for the 1889 World's Fair.", "landmarks.md", "Eiffel Tower"),
    )
    chat = manager_over(real_model, tmp_path / "h.sqlite3", FakeKnowledgeStore(passages))
    chat.qa.adapter = str(Path(__file__).resolve().parents[1] / "adapters" / "grounded-qa")
    reply = chat.handle("c", "/ask How tall is the Eiffel Tower? When did the Louvre open?")
    first, second = reply.parts
    assert "330" in first.text and "landmarks.md" in {p.source for p in first.sources}
    assert "1793" in second.text and "museums.md" in {p.source for p in second.sources}
    assert reply.text.startswith("**How tall is the Eiffel Tower?** ") and "\n\n**When did the Louvre open?** " in reply.text


def test_a_cancelled_message_stops_before_its_next_question():
    import threading

    from assistant.conversation.several import answered_each

    cancel = threading.Event()
    asked = []

    def answer_one(question, before):
        asked.append((question, [turn.content for turn in before]))
        cancel.set()  # the person stops the answer while the first question is answered
        yield TextDelta("9 April")
        yield Reply("9 April [1]", "qa", sources=[INCIDENT])

    events = list(answered_each(["When did buoy 17 stop?", "Who led the investigation?"], answer_one, [], cancel))
    assert asked == [("When did buoy 17 stop?", [])]
    assert events[-1].text == "**When did buoy 17 stop?** 9 April [1]" and len(events[-1].parts) == 1


def test_a_follow_up_leans_on_the_last_question_of_a_message_of_several(tmp_path):
    model, chat = manager(tmp_path, ["Economy [1]", "Priya Raman [1]", "a corroded antenna connector [1]"])
    chat.handle("c", "What class are short flights booked in? Who led the investigation of the buoy 17 incident?")
    reply = chat.handle("c", "What caused it?")
    assert reply.text == "a corroded antenna connector [1]" and [p.source for p in reply.sources] == [INCIDENT.source]
    assert "What caused the investigation of the buoy 17 incident?" in model.calls[-1]["messages"][-1]["content"]


def test_the_last_answer_of_a_joined_reply_stands_as_a_reply_of_its_own():
    from assistant.conversation.several import last_answer, together
    from assistant.conversation.types import Turn

    replies = [Reply("Economy [1]", "qa", sources=[TRAVEL]), Reply("Priya Raman [1]", "qa", sources=[INCIDENT])]
    joined = together(["What class?", "Who led it?"], replies)
    last = last_answer(Turn(0, "c", "assistant", joined.text, "qa", tuple(joined.sources)))
    assert (last.content, last.sources, last.declined) == ("Priya Raman [1]", (INCIDENT,), False)
    declined = together(["What class?", "Who led it?"], [replies[0], Reply(NOT_FOUND, "qa", sources=[INCIDENT], declined=True)])
    assert last_answer(Turn(0, "c", "assistant", declined.text, "qa", tuple(declined.sources))).declined
    alone = Turn(0, "c", "assistant", "**Economy** class [1]", "qa", (TRAVEL,))
    assert last_answer(alone) is alone
