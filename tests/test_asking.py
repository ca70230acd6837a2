"""What people put around a question in a chat (a greeting, "could you tell me", thanks) is not what it asks."""

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.answer_kind import asks_for
from assistant.skills.asking import plain_question


@pytest.mark.parametrize(("message", "question"), [
    ("Hi! What's the speed limit for lorries out in the yard?", "What's the speed limit for lorries out in the yard?"),
    ("Hey , what's the wifi password?", "What's the wifi password?"),  # "Hey @bot, ..." with the bot's mention cut
    ("hi what's the wifi password", "What's the wifi password?"),  # typed in lower case: written as a question is
    ("how many car tyres am i allowed to keep in my unit", "How many car tyres am I allowed to keep in my unit?"),
    ("i lost my laptop. until what time can i report it", "I lost my laptop. Until what time can I report it?"),
    ("excess on premier cover?", "Excess on premier cover?"),
    ("what is the surcharge for a sunday delivery", "What is the surcharge for a Sunday delivery?"),  # a day is a name
    ("hi, may i park here on mondays", "May I park here on Mondays?"),
    ("🙂 Hi! When is the next ops meeting?", "When is the next ops meeting?"),
    ("Hi Anna, who approves overtime?", "Who approves overtime?"),
    ("Dear HR, how many days of leave do I get?", "How many days of leave do I get?"),
    ("Could you tell me how long is a CS-01 permit good for?", "How long is a CS-01 permit good for?"),
    ("Quick question: how many car tyres am I allowed to keep?", "How many car tyres am I allowed to keep?"),
    ("Hey team, quick question: who signs off brew sheets?", "Who signs off brew sheets?"),
    ("Sorry to bother you, but where do I park?", "Where do I park?"),
    ("Good morning all - does anyone know when the next ops meeting is?", "When the next ops meeting is?"),
    ("Anyone know where the first aid kit is?", "Where the first aid kit is?"),
    ("How fast can I drive? Thanks!", "How fast can I drive?"),
    ("How much is it? Cheers :)", "How much is it?"),
    ("How do I book leave? 🙏", "How do I book leave?"),
    ("What time do you open, please?", "What time do you open?"),
    ("How do I reset my password please", "How do I reset my password?"),
    # sent without its question mark, or without the capital of its question word
    ("What's the wifi password", "What's the wifi password?"),
    ("what pH range for the pool", "What pH range for the pool?"),
    ("Is the gym open today.", "Is the gym open today?"),
    ("A pallet arrived smashed. Under CMR, what's the most you pay per kilo",
     "A pallet arrived smashed. Under CMR, what's the most you pay per kilo?"),
    # typed in capitals: read as written (as one typed in lower case is)
    ("HOW MUCH IS A BREWERY TOUR", "How much is a brewery tour?"),
    ("WHAT’S THE RATE LIMIT FOR THE GRAPHQL API", "What's the rate limit for the Graphql API?"),  # a name, an acronym
    ("HI! WHAT DOES ERROR CL-403 MEAN", "What does error CL-403 mean?"),  # a code
    ("HI! I LOST MY LAPTOP ON MONDAY. HOW LONG DO I HAVE TO REPORT IT", "I lost my laptop on Monday. How long do I have to report it?"),
    # quotes and apostrophes as phones and Macs type them
    ("What’s the wifi password", "What's the wifi password?"),
    ("Hi! Could you tell me what’s the charge for a no-show?", "What's the charge for a no-show?"),
    ("The scanner says ‘ASN not found’. What should I do?", "The scanner says 'ASN not found'. What should I do?"),
    ("Is the “Gold” plan monthly?", 'Is the "Gold" plan monthly?'),
    # a question mark after a space, or with more
    ("How much is a keg deposit ??", "How much is a keg deposit?"),
    ("When is the next ops meeting?!", "When is the next ops meeting?"),
    # contractions typed without their apostrophe; not a word of its own ("its")
    ("whats the wifi password", "What's the wifi password?"),
    ("Im locked out and its late. Whos got a key?", "I'm locked out and its late. Who's got a key?"),
    ("i lost my badge. how long do i have if im away", "I lost my badge. How long do I have if I'm away?"),
    ("Hi, I lost my laptop on the train. How long do I have to report it?",
     "I lost my laptop on the train. How long do I have to report it?"),
    ("Thanks! And what about Saturdays?", "And what about Saturdays?"),
    ("Can you tell me the wifi password?", "What is the wifi password?"),
    ("Can you tell me if the gym is open on Sundays?", "Is the gym open on Sundays?"),
    ("Does anyone know whether we can bring dogs?", "Can we bring dogs?"),
])
def test_a_question_is_asked_without_the_greeting_request_and_thanks_around_it(message, question):
    assert plain_question(message) == question


@pytest.mark.parametrize("message", [
    "What is the Hi-Vis rule?", "Is there a thank-you bonus?", "Who do I thank for the party?", "What does TIA stand for?",
    "Morning shift: when does it start?", "Morning-after pill: how much is it?", "Hi-vis vests: who hands them out?", "Tell me about the pension scheme", "Show me the holiday policy",
    "Could you tell me if I need to book?",  # no verb to put first
    "thanks!", "Hi!", "Hello there",  # greetings alone are small talk
    "What a week!", 'Why was the student group called "the Methodists?"', "What's the door code? I'm locked out.", "iPhone battery?", "Wifi password",
    "DLP-07?", "WIFI PASSWORD?",  # a code, or two words in capitals: not a question typed in capitals
    # German's "im" and French's "dont" are words, not contractions; a question in German in capitals stays so
    "Wann ist das Meeting im Juni?", "Quel est le document dont il a parlé?", "WANN IST DAS MEETING IM JUNI?",
])
def test_a_question_with_nothing_around_it_is_left_as_asked(message):
    assert plain_question(message) == message


@pytest.mark.parametrize(("message", "kind"), [
    ("What’s the cut-off for submitting timesheets?", "time"),  # "what's ... cut-off" asks for a time
    ("WHAT’S THE CUT-OFF FOR SUBMITTING TIMESHEETS", "time"),
    ("Who’s the private lessons coordinator?", "person"),
    ("Whens the next ops meeting?", "time"),
])
def test_a_question_typed_in_haste_asks_for_what_it_asks_as_written(message, kind):
    written = message.replace("’", "'").replace("Whens", "When's").capitalize()
    assert asks_for(plain_question(message)) == kind == asks_for(written)


INCIDENT = Passage("Buoy 17 stopped sending data on 9 April. The investigation was led by Priya Raman. The loss of data was "
                   "caused by a corroded antenna connector.", "incidents/buoy-17.md", "Incident report", relevance=0.5)
TRAVEL = Passage("Flights of under six hours are booked in economy class.", "handbook/travel.md", "Travel policy",
                 relevance=0.4)


def test_the_reader_and_the_follow_up_rules_get_the_plain_question(tmp_path):
    model = ScriptedChatModel(["Priya Raman [1]", "a corroded antenna connector [1]"])
    model.name = "smollm2-135m"  # not asked to rewrite follow-ups: each message is one call
    reranker = ScriptedReranker({"Priya Raman": 0.95, "corroded": 0.95, "economy": 0.1}, asked={"Priya Raman": "led", "corroded": "caused"})
    manager = manager_over(model, tmp_path / "h.sqlite3", FakeKnowledgeStore((TRAVEL, INCIDENT)), reranker=reranker)
    reply = manager.handle("c", "Hi! Could you tell me who led the investigation of the buoy 17 incident? Thanks!")
    assert reply.text == "Priya Raman [1]" and [p.source for p in reply.sources] == [INCIDENT.source]
    prompt = model.calls[-1]["messages"][-1]["content"]
    assert "Who led the investigation of the buoy 17 incident?" in prompt and "Hi!" not in prompt and "Thanks" not in prompt
    # The next question's "it" stands for the plain question's topic, not for one that opens with a greeting.
    reply = manager.handle("c", "Thanks! And what caused it?")
    assert reply.text == "a corroded antenna connector [1]"
    assert "And what caused the investigation of the buoy 17 incident?" in model.calls[-1]["messages"][-1]["content"]


def test_a_long_message_is_read_once():
    # A pasted message with a long run of spaces: the thanks after a question are looked for where a run starts.
    message = "What is the deposit?" + " " * 40_000 + "Thanks!"
    assert plain_question(message) == "What is the deposit?"
