"""The conversation manager with a scripted model and an in-memory knowledge base."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fakes import ScriptedChatModel, manager_over

from assistant.conversation.followup import complete_ellipsis
from assistant.conversation.history import HistoryStore
from assistant.conversation.manager import Limits
from assistant.conversation.types import Reply, TextDelta
from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.prompts import NO_ANSWER, QA_SYSTEM
from assistant.skills.qa import NOT_FOUND, QASkill
from assistant.skills.qa_options import QAOptions
from assistant.skills.spans import excerpt
from assistant.skills.summarize import AbstractiveSummarizer, AutoSummarizer, ExtractiveSummarizer

EIFFEL = Passage("The Eiffel Tower is 330 metres tall and stands in Paris.", "docs/paris.md", "Landmarks", line_start=3, line_end=4, relevance=0.44)
LOUVRE = Passage("The Louvre is the world's most visited museum.", "docs/paris.md", "Museums", line_start=9, line_end=9, relevance=0.4)
# Relevant enough for QA, not enough to be quoted when the model fails (QAOptions.quote_relevance).


PARIS = {"docs/paris.md": "Paris is the capital of France. It is on the Seine."}


def paris_knowledge(passages=(EIFFEL, LOUVRE)) -> FakeKnowledgeStore:
    """The shared knowledge base fake with these passages, and docs/paris.md to summarize."""
    return FakeKnowledgeStore(passages, PARIS)


def make_manager(tmp_path, replies, knowledge=None, **kwargs):
    model = kwargs.pop("model", None) or ScriptedChatModel(replies)
    return manager_over(model, tmp_path / "history.sqlite3", knowledge, **kwargs), model


def test_help_start_and_unknown_commands_answer_without_the_model(tmp_path):
    manager, model = make_manager(tmp_path, ["unused"])
    assert manager.handle("c", "/help").skill == "help"
    assert "/translate" in manager.handle("c", "/start").text
    unknown = manager.handle("c", "/frobnicate now")
    assert unknown.skill == "help" and not unknown.error and "/frobnicate" in unknown.text
    assert model.calls == []
    assert manager.turns("c") == []


def test_free_text_without_documents_chats_and_is_remembered_across_restarts(tmp_path):
    manager, model = make_manager(tmp_path, ["Hello! How can I help?"])
    events = list(manager.stream("c", "Hi there"))
    assert any(isinstance(e, TextDelta) for e in events)
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.skill == "chat" and reply.text == "Hello! How can I help?"
    manager.history.close()
    reopened = HistoryStore(tmp_path / "history.sqlite3")
    assert [(t.role, t.content) for t in reopened.turns("c")] == [("user", "Hi there"), ("assistant", "Hello! How can I help?")]


def test_question_covered_by_documents_is_answered_with_cited_sources(tmp_path):
    manager, model = make_manager(tmp_path, ["The Eiffel Tower is 330 metres tall [1]."], paris_knowledge())
    reply = manager.handle("c", "How tall is the Eiffel Tower?")
    assert reply.skill == "qa" and reply.grounded and not reply.declined
    assert reply.sources == [EIFFEL]
    prompt = model.calls[0]["messages"]
    assert prompt[0]["content"] == QA_SYSTEM and "[1] (Landmarks) The Eiffel Tower" in prompt[-1]["content"]
    sources = manager.handle("c", "/sources")
    assert sources.skill == "sources" and "docs/paris.md › Landmarks, lines 3-4" in sources.text


def test_citation_of_a_passage_never_given_is_dropped(tmp_path):
    manager, _ = make_manager(tmp_path, ["The Louvre is the most visited museum [2][7]."], paris_knowledge())
    reply = manager.handle("c", "/ask Which museum is the most visited?")
    assert "[7]" not in reply.text and reply.sources == [LOUVRE]


def test_citations_are_numbered_as_the_sources_are_listed(tmp_path):
    manager, _ = make_manager(tmp_path, ["The Louvre is the most visited museum [2]; the tower is 330 metres tall [1]."],
                              paris_knowledge())
    reply = manager.handle("c", "/ask Which museum is the most visited?")
    assert reply.sources == [LOUVRE, EIFFEL]  # listed as [1] and [2] under the answer, in the order first cited
    assert reply.text == "The Louvre is the most visited museum [1]; the tower is 330 metres tall [2]."


def test_a_citation_of_a_passage_that_does_not_hold_the_answer_points_at_the_one_that_does(tmp_path):
    manager, _ = make_manager(tmp_path, ["It is 330 metres tall [2]."], paris_knowledge())
    reply = manager.handle("c", "/ask How tall is the Eiffel Tower?")
    assert reply.text == "It is 330 metres tall [1]." and reply.sources == [EIFFEL]
    # An answer that needs both passages it cites keeps both.
    both = "The Eiffel Tower is 330 metres tall and the Louvre is the most visited museum [1][2]."
    manager, _ = make_manager(tmp_path / "both", [both], paris_knowledge())
    reply = manager.handle("c", "/ask What are Paris's landmarks?")
    assert reply.text == both and reply.sources == [EIFFEL, LOUVRE]


def test_model_saying_it_does_not_know_declines_and_shows_closest_passages(tmp_path):
    manager, _ = make_manager(tmp_path, [NO_ANSWER], paris_knowledge())
    reply = manager.handle("c", "/ask Who designed the Louvre pyramid?")
    assert reply.declined and reply.text == NO_ANSWER and reply.sources[:2] == [EIFFEL, LOUVRE]


def test_answer_not_supported_by_the_passages_is_not_shown(tmp_path):
    invented = "The Eiffel Tower was painted green by Napoleon in 1999 [1]."
    manager, _ = make_manager(tmp_path, [invented], paris_knowledge())
    events = list(manager.stream("c", "/ask What colour is the Eiffel Tower?"))
    reply = events[-1]
    assert reply.declined and reply.grounded is False and "Napoleon" not in reply.text
    assert any("Napoleon" in e.text for e in events if isinstance(e, TextDelta))  # streamed, then withdrawn


HOW_TO_ADD = Passage(
    "Add a file or a folder to the knowledge base with `assistant index add`:\n\n"
    ".venv/bin/assistant index add ~/notes\n\nFolders are read recursively. Text, Markdown and PDF are\n"
    "understood; other files are skipped with a reason.",
    "docs/getting-started.md", "Getting started > How do I add my documents?", line_start=17, line_end=29, relevance=0.48,
)


@pytest.mark.parametrize("model_reply", [NO_ANSWER, "Run the sudo add-item tool with the -x flag [1]."])
def test_failed_answer_on_a_highly_relevant_passage_quotes_it_with_its_source(tmp_path, model_reply):
    manager, _ = make_manager(tmp_path, [model_reply], paris_knowledge([HOW_TO_ADD, LOUVRE]))
    reply = manager.handle("c", "How do I add my documents?")
    assert reply.skill == "qa" and reply.quoted and not reply.declined and reply.sources == [HOW_TO_ADD]
    assert reply.text.startswith("The closest passage in your documents says [1]:")
    assert "> Add a file or a folder to the knowledge base with `assistant index add`:" in reply.text
    assert "sudo" not in reply.text
    assert manager.turns("c")[-1].content == reply.text  # what the user saw is what is remembered


def test_no_quote_below_the_quote_threshold_or_when_turned_off(tmp_path):
    manager, _ = make_manager(tmp_path, [NO_ANSWER], paris_knowledge([HOW_TO_ADD]), qa_options=QAOptions(quote_relevance=1.0))
    reply = manager.handle("c", "How do I add my documents?")
    assert reply.declined and not reply.quoted and reply.text == NO_ANSWER


def test_quote_starts_at_the_sentence_matching_the_question_and_marks_cuts():
    text = ("The tower opened in 1889. " + "It was built for a fair. " * 3 + "\n\nVisitors climb 674 steps to the second floor. "
            + "Lifts run every day. " * 20)
    quoted = excerpt("How many steps do visitors climb?", text, words=12)
    assert quoted == ["Visitors climb 674 steps to the second floor. Lifts run every day. …"]
    assert excerpt("When did it open?", "It opened in 1889.") == ["It opened in 1889."]
    keys = "Keys:\n\n| Key | What it does |\n| --- | --- |\n| Enter | Send the message |\n| Escape | Stop the answer |"
    assert excerpt("Which key stops the answer?", keys, words=30) == [
        "| Key | What it does |\n| --- | --- |\n| Enter | Send the message |\n| Escape | Stop the answer |"]
    assert excerpt("What does Escape do?", keys, words=30) == ["| Key | What it does |\n| --- | --- |\n| Escape | Stop the answer |"]


def test_an_answer_caught_in_a_loop_is_stopped_and_kept_up_to_the_loop(tmp_path):
    looping = "The Eiffel Tower is 330 metres tall [1]" + " [1]" * 12 + " and then it goes on"
    manager, _ = make_manager(tmp_path, [looping], paris_knowledge())
    events = list(manager.stream("c", "/ask How tall is the Eiffel Tower?"))
    assert events[-1].text == "The Eiffel Tower is 330 metres tall [1]" and events[-1].grounded
    assert not any("goes" in e.text for e in events if isinstance(e, TextDelta))  # generation stopped


def test_a_chat_reply_caught_in_a_loop_is_stopped_too(tmp_path):
    looping = "Le Grand Paris, le Grand-Bien-Étoile" + ", la Belle Étoile" * 40
    manager, _ = make_manager(tmp_path, [looping])
    events = list(manager.stream("c", "What is the capital of France?"))
    reply = events[-1]
    # Kept up to the first round of the repeated piece (found while streaming: "Étoile, la Belle").
    assert reply.skill == "chat" and reply.text.startswith("Le Grand Paris, le Grand-Bien-Étoile, la Belle") and len(reply.text) < 60
    assert sum(len(e.text) for e in events if isinstance(e, TextDelta)) < len(looping) / 3  # generation stopped
    assert manager.turns("c")[-1].content == reply.text


def test_qa_reply_is_one_call_from_search_to_checked_answer():
    model = ScriptedChatModel(["It is 330 metres tall [1]."])
    knowledge = paris_knowledge()
    events = list(QASkill(model, knowledge, adapter=None).reply("How tall is it?", query="How tall is the Eiffel Tower?"))
    assert knowledge.queries == ["How tall is the Eiffel Tower?"]  # searched for the standalone question
    assert "How tall is it?" in model.calls[-1]["messages"][-1]["content"]  # the reader is asked it as given
    assert all(isinstance(e, TextDelta) for e in events[:-1]) and "".join(e.text for e in events[:-1]) == "It is 330 metres tall [1]."
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.grounded and reply.sources == [EIFFEL]
    assert {"retrieve_s", "generate_s"} <= set(reply.timings)


def test_qa_reply_with_nothing_relevant_lists_the_closest_passages_or_hands_over():
    weak = Passage("Unrelated text about gardening.", "docs/garden.md", relevance=0.05)
    model = ScriptedChatModel(["unused"])
    qa = QASkill(model, paris_knowledge([weak]), adapter=None)
    (reply,) = qa.reply("Write me a poem")
    assert reply.declined and reply.text == NOT_FOUND and reply.sources == [weak]
    (handed_over,) = qa.reply("Write me a poem", otherwise=lambda: iter([Reply("A poem.", "chat")]))
    assert handed_over.text == "A poem." and model.calls == []


def test_irrelevant_passages_route_free_text_to_chat_and_say_so(tmp_path):
    weak = Passage("Unrelated text about gardening.", "docs/garden.md", relevance=0.05)
    manager, model = make_manager(tmp_path, ["Sure, here is a poem."], paris_knowledge([weak]))
    reply = manager.handle("c", "Write me a poem")
    assert reply.skill == "chat" and "general answer" in reply.notice
    assert model.calls[-1]["messages"][0]["content"] != QA_SYSTEM


def test_ask_with_an_empty_knowledge_base_says_how_to_add_documents(tmp_path):
    manager, model = make_manager(tmp_path, ["unused"], paris_knowledge([]))
    reply = manager.handle("c", "/ask What is this?")
    assert reply.declined and "index add" in reply.text and model.calls == []


def test_follow_up_is_rewritten_before_retrieval(tmp_path):
    def script(messages):
        if "Rewrite the last question" in messages[-1]["content"]:
            return "How tall is the Eiffel Tower?"
        return "It is 330 metres tall [1]."

    knowledge = paris_knowledge()
    manager, _ = make_manager(tmp_path, script, knowledge)
    manager.handle("c", "Tell me about the Eiffel Tower.")
    reply = manager.handle("c", "How tall is it?")
    assert knowledge.queries[-1] == "How tall is the Eiffel Tower?"
    assert reply.skill == "qa" and reply.sources == [EIFFEL]


def rewrite_comes_back_empty(messages):
    """A model whose follow-up rewrite is unusable (empty) and whose answers are fine."""
    if "Rewrite the last question" in messages[-1]["content"]:
        return ""
    return "It is 330 metres tall [1]."


def test_unusable_rewrite_falls_back_to_the_previous_question(tmp_path):
    knowledge = paris_knowledge()
    manager, _ = make_manager(tmp_path, rewrite_comes_back_empty, knowledge)
    manager.handle("c", "Tell me about the Eiffel Tower.")
    manager.handle("c", "How tall is it?")
    assert "Eiffel Tower" in knowledge.queries[-1] and "How tall is it?" in knowledge.queries[-1]


def test_a_model_whose_rewrites_are_no_use_is_not_asked_to_rewrite(tmp_path):
    knowledge = paris_knowledge()
    model = ScriptedChatModel(rewrite_comes_back_empty, name="smollm2-135m")
    manager, _ = make_manager(tmp_path, None, knowledge, model=model)
    manager.handle("c", "Tell me about the Eiffel Tower.")
    reply = manager.handle("c", "How tall is it?")
    assert "Eiffel Tower" in knowledge.queries[-1] and "How tall is it?" in knowledge.queries[-1]
    assert reply.skill == "qa" and reply.text == "It is 330 metres tall [1]."
    assert not any("Rewrite the last question" in call["messages"][-1]["content"] for call in model.calls)


def test_a_new_question_after_another_is_searched_and_read_as_asked(tmp_path):
    """In a group chat questions about different things follow each other: one that says itself what its "it" is
    is neither searched with the question before it nor rewritten with that question's topic."""
    knowledge = paris_knowledge()
    model = ScriptedChatModel(rewrite_comes_back_empty, name="smollm2-135m")
    manager, _ = make_manager(tmp_path, None, knowledge, model=model)
    manager.handle("c", "Tell me about the Eiffel Tower.")
    manager.handle("c", "I lost my ticket for the Louvre. Can I still get it refunded?")
    assert knowledge.queries[-1] == "I lost my ticket for the Louvre. Can I still get it refunded?"
    assert "I lost my ticket for the Louvre. Can I still get it refunded?" in model.calls[-1]["messages"][-1]["content"]


def test_an_unusable_rewrite_after_another_command_searches_the_question_alone(tmp_path):
    knowledge = paris_knowledge()
    manager, _ = make_manager(tmp_path, rewrite_comes_back_empty, knowledge)
    manager.handle("c", "/translate French Good morning")
    manager.handle("c", "How tall is it?")
    assert knowledge.queries[-1] == "How tall is it?"  # neither the /translate text nor an empty "()"


@pytest.mark.parametrize(("previous", "follow_up", "standalone"), [
    ("How long is the warranty on the HB-3 buoy?", "And on the TideLink gateway?", "How long is the warranty on the TideLink gateway?"),
    ("What is the hotel limit per night in Norway?", "What about Sweden?", "What is the hotel limit per night in Sweden?"),
    ("How much does the Basic plan cost?", "And the Pro plan?", "How much does the Pro plan cost?"),
    ("How many days of leave do I get?", "And for part-time staff?", "How many days of leave do I get for part-time staff?"),
    ("How long is the warranty on the buoy?", "And the price?", None),  # another question, not another buoy
    ("Who led the investigation?", "And how long did it last?", None),  # a question of its own
])
def test_an_elided_follow_up_is_completed_from_the_previous_question(previous, follow_up, standalone):
    assert complete_ellipsis(follow_up, previous) == standalone


def test_a_completed_follow_up_is_searched_without_asking_the_model_to_rewrite_it(tmp_path):
    knowledge = paris_knowledge()
    manager, model = make_manager(tmp_path, rewrite_comes_back_empty, knowledge)
    manager.handle("c", "/ask How tall is the tower in Paris?")
    reply = manager.handle("c", "And in Lyon?")
    assert knowledge.queries[-1] == "How tall is the tower in Lyon?" and reply.skill == "qa"
    assert not any("Rewrite the last question" in call["messages"][-1]["content"] for call in model.calls)


def test_history_is_trimmed_to_the_context_window_newest_first(tmp_path):
    model = ScriptedChatModel(["ok"], context_window=120)
    manager, _ = make_manager(tmp_path, None, model=model, answer_tokens=40)
    for i in range(30):
        manager.history.append_exchange("c", f"question number {i} " + "word " * 5, f"answer number {i}")
    manager.handle("c", "latest question")
    sent = model.calls[-1]["messages"]
    assert model.count_tokens(sent) <= 120 - 40
    assert sent[0]["role"] == "system" and sent[-1]["content"] == "latest question"
    assert "answer number 29" in sent[-2]["content"] and sent[1]["role"] == "user"
    assert not any("number 0 " in m["content"] for m in sent)


def test_reset_clears_only_that_conversation(tmp_path):
    manager, _ = make_manager(tmp_path, ["a", "b"])
    manager.handle("one", "hello")
    manager.handle("two", "hello")
    assert manager.handle("one", "/reset").skill == "reset"
    assert manager.turns("one") == [] and len(manager.turns("two")) == 2


@pytest.mark.parametrize("text, expected", [
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 100_000, "too long"),
    ("/ask", "Usage: /ask"),
    ("/translate", "Usage: /translate"),
    ("/translate French", "Nothing to translate"),
    ("/translate Elvish hello", "Unknown language"),
    ("/summarize", "Usage: /summarize"),
    ("/summarize missing-report.pdf", "missing-report.pdf"),
])
def test_bad_input_gets_one_clear_line_and_nothing_is_stored(tmp_path, text, expected):
    manager, model = make_manager(tmp_path, ["should not be used"], paris_knowledge(),
                                  summarizer=ExtractiveSummarizer(paris_knowledge().embed))
    reply = manager.handle("c", text)
    assert reply.error and expected in reply.text and "\n" not in reply.text
    assert manager.turns("c") == [] and model.calls == []
    assert manager.handle("c", "/help").skill == "help"  # the next turn works


def test_unexpected_failure_becomes_an_apology_and_a_log_entry(tmp_path, caplog):
    class Broken(ScriptedChatModel):
        def stream(self, *args, **kwargs):
            raise RuntimeError("CUDA exploded")

    manager, _ = make_manager(tmp_path, None, model=Broken())
    reply = manager.handle("c", "hello")
    assert reply.error and "Sorry" in reply.text and "CUDA" not in reply.text
    assert "CUDA exploded" in caplog.text
    assert manager.turns("c") == []


def test_translate_keeps_paragraphs_and_names_the_target_language(tmp_path):
    model = ScriptedChatModel(lambda messages: "traduit")
    manager, _ = make_manager(tmp_path, None, model=model)
    reply = manager.handle("c", "/translate to français Good morning.\n\nSee you tomorrow.")
    assert reply.skill == "translate" and reply.text == "traduit\n\ntraduit"
    assert len(model.calls) == 2 and "English text into French" in model.calls[0]["messages"][-1]["content"]
    assert model.calls[1]["messages"][-1]["content"].endswith("See you tomorrow.")


def test_summarize_an_indexed_document_by_name(tmp_path):
    model = ScriptedChatModel(["Paris is France's capital."])
    summarizer = AbstractiveSummarizer(model)
    manager, _ = make_manager(tmp_path, None, paris_knowledge(), model=model, summarizer=summarizer)
    reply = manager.handle("c", "/summarize paris.md")
    assert reply.skill == "summarize" and "docs/paris.md" in reply.notice
    assert "Paris is the capital of France" in model.calls[0]["messages"][-1]["content"]


def test_answer_lead_in_is_dropped_before_the_grounding_check(tmp_path):
    manager, _ = make_manager(tmp_path, ["The answer to the question is: 330 metres [1]."], paris_knowledge())
    reply = manager.handle("c", "/ask How tall is the Eiffel Tower?")
    assert reply.grounded and reply.text == "330 metres [1]."


def test_invented_commentary_after_a_supported_answer_is_dropped(tmp_path):
    rambling = "It is 330 metres tall [1].\n\nIt was painted green by Napoleon in 1999 for a festival."
    manager, _ = make_manager(tmp_path, [rambling], paris_knowledge())
    reply = manager.handle("c", "/ask How tall is the Eiffel Tower?")
    assert reply.grounded and reply.text == "It is 330 metres tall [1]."


def test_summary_cut_by_the_token_budget_ends_at_a_whole_sentence(tmp_path):
    model = ScriptedChatModel(["Paris is the capital. It lies on the Seine and has many"])
    manager, _ = make_manager(tmp_path, None, model=model, summarizer=AbstractiveSummarizer(model))
    assert manager.handle("c", "/summarize Some text about Paris.").text == "Paris is the capital."


def test_cut_off_last_line_of_a_longer_summary_is_dropped():
    from assistant.skills.summarize import end_at_sentence

    assert end_at_sentence("- First point.\n- Second point is cut") == "- First point."
    assert end_at_sentence("One para.\n\nTwo. And three is cut") == "One para.\n\nTwo."
    assert end_at_sentence("No ending at all") == "No ending at all"


def test_summarize_the_message_replied_to(tmp_path):
    model = ScriptedChatModel(["A short summary."])
    manager, _ = make_manager(tmp_path, None, model=model, summarizer=AbstractiveSummarizer(model))
    reply = manager.handle("c", "/summarize bullets", attachment="A long message about many things.")
    assert reply.text == "A short summary." and "bullet" in model.calls[0]["messages"][-1]["content"]


def test_long_text_is_summarised_in_parts_then_combined(tmp_path):
    model = ScriptedChatModel(lambda messages: "part summary.", context_window=300)
    summarizer = AbstractiveSummarizer(model)
    text = "\n\n".join(f"Paragraph {i} says something quite specific about topic {i}." for i in range(60))
    assert not summarizer.fits(text, "short")
    out = "".join(summarizer.summarize(text, "short"))
    assert out == "part summary." and len(model.calls) > 2


def test_extractive_summary_keeps_the_most_central_sentences_in_order():
    def embed(texts):
        # Sentences about cats point one way, the odd one out another.
        return np.array([[1.0, 0.0] if "cat" in t.lower() else [0.0, 1.0] for t in texts], dtype="float32")

    text = "Cats purr. A cat sleeps a lot. Stocks fell today. Cats like boxes. The cat hunts mice. Rain is wet."
    out = "".join(ExtractiveSummarizer(embed).summarize(text, "short"))
    chosen = out.split(". ")
    assert len(chosen) == 2 and "Stocks" not in out and "Rain" not in out
    assert text.index(chosen[0]) < text.index(chosen[1])


def test_auto_summarizer_picks_extractive_for_very_long_texts():
    model = ScriptedChatModel(["x"], context_window=300)
    auto = AutoSummarizer(AbstractiveSummarizer(model), ExtractiveSummarizer(lambda t: np.ones((len(t), 2))))
    assert auto.choose("short text.", "short") is auto.abstractive
    assert auto.choose("word " * 5000, "short") is auto.extractive


def test_cancel_stops_the_answer_and_stores_nothing(tmp_path):
    model = ScriptedChatModel(["word " * 200])
    manager, _ = make_manager(tmp_path, None, model=model)
    cancel = threading.Event()
    events = []
    for event in manager.stream("c", "Tell me a long story", cancel=cancel):
        events.append(event)
        if len(events) == 3:
            cancel.set()
    reply = events[-1]
    assert reply.notice == "Cancelled." and len(events) < 50
    assert manager.turns("c") == []


def test_input_limit_is_configurable(tmp_path):
    manager, _ = make_manager(tmp_path, ["ok"], limits=Limits(max_input_chars=10))
    assert "too long" in manager.handle("c", "this is longer than ten").text


def test_history_keeps_whether_an_answer_declined_or_quoted(tmp_path):
    manager, _ = make_manager(tmp_path, [NO_ANSWER, "The Eiffel Tower is 330 metres tall [1]."], paris_knowledge())
    manager.handle("c", "/ask Who built the Louvre?")
    manager.handle("c", "/ask How tall is the Eiffel Tower?")
    answers = [t for t in manager.turns("c") if t.role == "assistant"]
    assert [(t.declined, t.quoted) for t in answers] == [(True, False), (False, False)]


def test_a_history_written_before_the_flags_gets_them_from_its_texts(tmp_path):
    import sqlite3

    from assistant.skills.qa import NOT_FOUND

    old = sqlite3.connect(tmp_path / "history.sqlite3")
    old.executescript("""
        CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
                                    updated_at REAL NOT NULL);
        CREATE TABLE turns (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, role TEXT NOT NULL,
                            content TEXT NOT NULL, skill TEXT NOT NULL DEFAULT '', sources TEXT NOT NULL DEFAULT '[]',
                            user TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
        INSERT INTO conversations VALUES ('c', 'old', 1, 1);
    """)
    rows = [("user", "q", "qa"), ("assistant", NOT_FOUND, "qa"), ("assistant", "Paris [1].", "qa"),
            ("assistant", "I don't know, let's chat", "chat")]
    old.executemany("INSERT INTO turns(conversation_id, role, content, skill, created_at) VALUES ('c', ?, ?, ?, 1)", rows)
    old.commit()
    old.close()
    turns = HistoryStore(tmp_path / "history.sqlite3").turns("c")
    assert [t.declined for t in turns] == [False, True, False, False]
    assert HistoryStore(tmp_path / "history.sqlite3").turns("c") == turns  # migrated once, then kept
