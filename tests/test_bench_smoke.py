"""The quality benches' data loading and scoring on 2-3 real items, with a scripted model (no real model).

Skipped when the evaluation data (../shared/data or /work/shared/data) is not on this machine.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.conversation.manager import ConversationManager
from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.asking import plain_question, questions_in
from assistant.skills.prompts import NO_ANSWER
from assistant.skills.qa import QASkill

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import common  # noqa: E402
import phrasings  # noqa: E402
import qa_company  # noqa: E402
import qa_compare  # noqa: E402
import qa_xquad  # noqa: E402
import summarize_rouge  # noqa: E402
import translate_chrf  # noqa: E402


@pytest.fixture(scope="module")
def data() -> Path:
    try:
        return common.data_dir()
    except common.DataMissing as missing:
        pytest.skip(str(missing))


def manager_for(tmp_path: Path, model, knowledge=None) -> ConversationManager:
    return manager_over(model, tmp_path / "history.sqlite3", knowledge)


def test_sample_is_fixed_by_the_seed_and_keeps_the_data_order():
    items = list(range(100))
    assert common.sample(items, 5, seed=1) == common.sample(items, 5, seed=1)
    assert common.sample(items, 5, seed=1) == sorted(common.sample(items, 5, seed=1))
    assert common.sample(items, 5, seed=1) != common.sample(items, 5, seed=2)
    assert common.sample(items, None) == items


def test_data_dir_names_where_it_looked(tmp_path):
    with pytest.raises(common.DataMissing, match="pass --data"):
        common.data_dir(tmp_path / "nowhere")


def test_squad_scoring_follows_the_official_normalisation():
    assert qa_xquad.normalize_answer("The Denver  Broncos!") == "denver broncos"
    assert qa_xquad.exact_match("the Denver Broncos.", "Denver Broncos") == 1.0
    assert qa_xquad.token_f1("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    assert qa_xquad.contains("They had 136 sacks [1].", "136") == 1.0
    assert qa_xquad.contains("They had 136 sacks.", "13") == 0.0
    assert qa_xquad.best(qa_xquad.exact_match, "308", ["three hundred", "308"]) == 1.0


def test_company_scoring_finds_a_time_in_a_range_written_with_a_dash():
    question = qa_company.Question("q", "hr/shifts.md", "date", "When does the night shift start?", ("22:00", "10 pm"))
    assert qa_company.has_fact("22:00–06:00", question)
    assert qa_company.has_fact("Monday—Friday, from 22:00", question)
    assert not qa_company.has_fact("12:00–16:00", question)
    hours = qa_company.Question("q", "shop.md", "time", "What are the Sunday opening hours?", ("12:30 – 21:00",))
    assert qa_company.has_fact("12:30 – 21:00 [1]", hours) and qa_company.has_fact("12:30–21:00", hours)
    assert qa_company.has_fact("12:30-21:00 [1]", hours)  # a hyphen for the dash
    assert not qa_company.has_fact("12:30-22:00", hours)


def test_company_scoring_reads_a_month_written_short_as_the_same_date():
    release = qa_company.Question("q", "minutes.txt", "date", "When is version 4.0 due?", ("18 November 2024",))
    assert qa_company.has_fact("18 Nov 2024 [1]", release) and qa_company.has_fact("18 Nov. 2024", release)
    assert not qa_company.has_fact("18 Oct 2024", release) and not qa_company.has_fact("8 Nov 2024", release)
    assert qa_company.has_fact("Sept 3", qa_company.Question("q", "a.md", "date", "When?", ("September 3",)))
    # Not a month: "Mar" and "Dec" inside words, or with no day beside them.
    assert not qa_company.has_fact("the Dec team", qa_company.Question("q", "a.md", "fact", "Who?", ("the December team",)))


def test_company_questions_may_name_other_files_that_state_the_fact(tmp_path):
    row = {"id": "q", "source": "product/spec.html", "kind": "number", "question": "How many sensors per gateway?",
           "answers": ["150"], "split": "dev", "also": ["sales/prices.md"]}
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert qa_company.load_questions(path)[0].sources == {"product/spec.html", "sales/prices.md"}
    # The halves are split by document: a file the other half asks about is no source of this one's facts.
    other = {**row, "id": "r", "source": "sales/prices.md", "also": [], "split": "heldout"}
    path.write_text(json.dumps(row) + "\n" + json.dumps(other) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="sales/prices.md"):
        qa_company.load_questions(path)


def word_overlap_knowledge(paragraphs) -> FakeKnowledgeStore:
    """The shared knowledge base fake over XQuAD paragraphs, ranking them by words shared with the query."""
    passages = [Passage(p.text, f"/tmp/paragraphs/{p.id}.md", p.title, line_start=3, line_end=3, relevance=0.9)
                for p in paragraphs]
    return FakeKnowledgeStore(passages, rank_by_words=True)


def test_the_recording_model_keeps_the_readers_answer_apart_from_its_second_reading():
    recorder = qa_xquad.RecordingModel(ScriptedChatModel(lambda messages: "reply to " + messages[-1]["content"]))
    recorder.forget()
    recorder.generate([{"role": "user", "content": "the follow-up's rewrite"}])
    assert recorder.reread == ""  # before the reader: not a second reading
    assert recorder.stream([{"role": "user", "content": "the question"}]).text() == "reply to the question"
    recorder.generate([{"role": "user", "content": "the best sentence"}])
    assert (recorder.last, recorder.reread) == ("reply to the question", "reply to the best sentence")
    recorder.forget()
    assert (recorder.last, recorder.reread, recorder.read) == ("", "", False)


def company_item(id: str, kind: str, why: str, reply: str, right: bool = False, answers: tuple[str, ...] = ("14 days",)) -> dict:
    return {"id": id, "kind": kind, "question": f"question {id}?", "answers": list(answers), "why": why, "reply": reply,
            "has_fact": right, "cites_source": right}


def test_company_runs_compare_by_verdict_and_list_what_changed(tmp_path):
    before = [company_item("a-1", "number", "answered", "14 days [1]", right=True),
              company_item("a-2", "number", "model_declined", "I don't know"),
              company_item("a-3", "unanswerable", "model_declined", "I don't know", answers=()),
              company_item("a-4", "followup", "quoted", "> 14 days", right=True)]
    after = [before[0], company_item("a-2", "number", "answered", "30 days [1]"),
             company_item("a-3", "unanswerable", "answered", "30 days [1]", answers=()), before[3]]
    for name, items in (("before-x.json", before[:2]), ("before-y.json", before[2:]), ("after.json", after)):
        (tmp_path / name).write_text(json.dumps({"items": items}))
    runs = {name: qa_compare.load(str(tmp_path / name)) for name in ("before-*.json", "after.json")}
    first, second = (qa_compare.counts(name, items) for name, items in runs.items())
    assert (first["right"], first["declined"], first["no fact: declined"], first["follow-up quoted right"]) == (1, 1, 1, 1)
    assert (second["right"], second["wrong"], second["no fact: answered"]) == (1, 1, 1)
    changed = qa_compare.changes(*runs.values())
    assert [entry.split()[0] for entry in changed] == ["a-2", "a-3"]
    assert "declined" in changed[0] and "wrong" in changed[0] and "u-answered" in changed[1]
    (tmp_path / "twice.json").write_text(json.dumps({"items": before[:1]}))
    with pytest.raises(SystemExit, match="a-1 is in two"):
        qa_compare.load(str(tmp_path / "*.json"))


def test_qa_bench_scores_a_scripted_model_end_to_end(data, tmp_path):
    paragraphs, questions = qa_xquad.load_xquad(data)
    assert len(paragraphs) == 240 and len(questions) == 1190
    answerable, unanswerable = qa_xquad.split_samples(questions, 3, 2, seed=5)
    assert not {q.id for q in answerable} & {q.id for q in unanswerable}
    by_id = {p.id: p for p in paragraphs}
    used = {q.paragraph for q in answerable + unanswerable}
    # Distractors from other articles, so hiding a gold paragraph leaves passages to retrieve.
    distractors = [p for p in paragraphs if p.id.split("_")[0] not in {u.split("_")[0] for u in used}][:6]
    knowledge = qa_xquad.BenchKnowledge(word_overlap_knowledge([by_id[u] for u in used] + distractors))
    gold = {q.text.strip(): q for q in answerable + unanswerable}

    def reply(messages):
        """Answer with the gold answer and a citation when the gold paragraph is among the passages."""
        prompt = messages[-1]["content"]
        question = gold[prompt.rsplit("Question: ", 1)[1].strip()]
        blocks = re.findall(r"^\[(\d+)\][^\n]*", prompt, re.M)
        for number in blocks:
            block = re.search(rf"^\[{number}\][^\n]*", prompt, re.M).group(0)
            if by_id[question.paragraph].text.strip() in block:
                return f"{question.answers[0]} [{number}]"
        return NO_ANSWER

    manager = manager_for(tmp_path, qa_xquad.RecordingModel(ScriptedChatModel(reply)), knowledge)
    answered, hidden = qa_xquad.run(manager, knowledge, answerable, unanswerable)
    figures = qa_xquad.answerable_figures(answered)
    assert figures["questions"] == 3
    assert figures["hit@k"] == 1.0 and figures["exact match"] == 1.0 and figures["contains"] == 1.0
    assert figures["citation correct"] == 1.0 and figures["cites [n]"] == 1.0 and figures["raw contains"] == 1.0
    assert all(o.gold not in o.retrieved for o in hidden)
    unanswered = qa_xquad.unanswerable_figures(hidden)
    # The double rates every passage 0.9, above the quoting threshold: the model's decline becomes a quote.
    assert unanswered["I don't know"] == 0.0 and unanswered["passage quoted"] == 1.0
    assert hidden[0].raw == NO_ANSWER


def test_qa_bench_keeps_only_held_out_articles_of_a_split(data, tmp_path):
    paragraphs, questions = qa_xquad.load_xquad(data)
    split = tmp_path / "split.json"
    split.write_text('{"train_articles": ["Normans"], "eval_articles": ["Super Bowl 50", "Oxygen"]}')
    kept = qa_xquad.held_out(questions, paragraphs, split)
    titles = {p.id: p.title for p in paragraphs}
    assert kept and {titles[q.paragraph] for q in kept} == {"Super Bowl 50", "Oxygen"}
    split.write_text('{"eval_articles": ["No such article"]}')
    with pytest.raises(SystemExit, match="No such article"):
        qa_xquad.held_out(questions, paragraphs, split)


def test_qa_bench_relevance_gate_without_a_model(data):
    paragraphs, questions = qa_xquad.load_xquad(data)
    sample = common.sample(questions, 3, seed=2)
    knowledge = qa_xquad.BenchKnowledge(word_overlap_knowledge(paragraphs[:40] + [p for p in paragraphs if p.id in {q.paragraph for q in sample}]))
    summary, gate = qa_xquad.relevance_gate(knowledge, sample, k=4, thresholds=(0.5, 0.95))
    assert summary["questions"] == 3 and summary["hit@4"] >= summary["hit@1"]
    # The double rates every passage 0.9: a gate at 0.5 keeps everything, one at 0.95 turns everything away.
    assert gate == [{"min_relevance": 0.5, "answerable kept": 1.0, "hidden turned away": 0.0},
                    {"min_relevance": 0.95, "answerable kept": 0.0, "hidden turned away": 1.0}]
    assert knowledge.hidden == set()


def test_qa_bench_writes_one_markdown_file_per_paragraph(data, tmp_path):
    paragraphs, _ = qa_xquad.load_xquad(data)
    paths = qa_xquad.write_paragraphs(paragraphs[:2], tmp_path)
    assert [p.name for p in paths] == [f"{paragraphs[0].id}.md", f"{paragraphs[1].id}.md"]
    assert paths[0].read_text(encoding="utf-8").startswith(f"# {paragraphs[0].title}\n\n")
    assert qa_xquad.paragraph_id(Passage("x", str(paths[1]))) == paragraphs[1].id


def test_translate_bench_pairs_directions_and_scores_chrf(data, tmp_path):
    plan = translate_chrf.directions(data, ["fr", "zh"])
    names = [(d.dataset, d.name) if isinstance(d, translate_chrf.Direction) else (d[0], f"{d[1]}-{d[2]}") for d in plan]
    assert ("tatoeba", "en-fr") in names and ("tatoeba", "zh-en") in names and ("wmt22", "en-zh") in names
    assert ("wmt22", "en", "fr") in plan  # WMT22 has no en-fr pair: an n/a row
    wmt_zh = next(d for d in plan if isinstance(d, translate_chrf.Direction) and (d.dataset, d.name) == ("wmt22", "en-zh"))
    assert len(wmt_zh.references) == 2  # references A and B
    tatoeba_fr = next(d for d in plan if isinstance(d, translate_chrf.Direction) and (d.dataset, d.name) == ("tatoeba", "fr-en"))
    small = translate_chrf.sampled(tatoeba_fr, 2, seed=3)
    assert len(small.sources) == 2 and len(small.references[0]) == 2
    reference = dict(zip(small.sources, small.references[0]))

    model = ScriptedChatModel(lambda messages: reference[messages[-1]["content"].split("\n\n", 1)[1]])
    results = translate_chrf.translate(manager_for(tmp_path, model), small)
    assert "into English" in model.calls[0]["messages"][-1]["content"]
    assert [r.output for r in results] == list(small.references[0])
    assert translate_chrf.row("tatoeba", "fr-en", results)["chrF"] == pytest.approx(100.0)
    assert translate_chrf.row("wmt22", "en-fr", None)["chrF"] is None


def test_summarize_bench_scores_every_method_against_the_best_of_dialogsums_references(data):
    news = common.sample(summarize_rouge.load_articles(data, "xsum"), 2, seed=4)
    assert len(news) == 2 and all(a.document and len(a.references) == 1 for a in news)
    articles = common.sample(summarize_rouge.load_articles(data, "dialogsum"), 2, seed=4)
    assert all(a.document.startswith("#Person1#") and len(a.references) == 3 for a in articles)
    second_reference = {a.document[:200]: a.references[1] for a in articles}

    def embed(texts):
        vectors = np.random.default_rng(len(texts)).normal(size=(len(texts), 8)).astype("float32")
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    model = ScriptedChatModel(lambda messages: next(s for d, s in second_reference.items() if d in messages[-1]["content"]),
                              context_window=100_000)
    results = summarize_rouge.summarize(summarize_rouge.methods_for(model, embed, "short", None), articles)
    table = {(r["dataset"], r["method"]): r for r in summarize_rouge.rows(results)}
    assert set(table) == {("dialogsum", m) for m in ("lead", "extractive", "abstractive", "auto")}
    assert table["dialogsum", "abstractive"]["ROUGE-L F"] == pytest.approx(1.0)
    assert table["dialogsum", "auto"]["ROUGE-L F"] == pytest.approx(1.0)  # a short dialogue: abstractive
    assert 0.0 < table["dialogsum", "lead"]["ROUGE-L F"] < 1.0
    assert table["dialogsum", "extractive"]["articles"] == 2


def test_span_choice_counts_the_best_spans_that_hold_the_fact_of_best_passages_that_do():
    claims = Passage("Hidden damage must be reported within 7 days. Claims are handled by the claims desk.", "claims.md",
                     "Claims", relevance=0.6)
    reranker = ScriptedReranker({"Claims": 0.8, "claims desk": 0.9, "7 days": 0.5})
    qa = QASkill(ScriptedChatModel([]), FakeKnowledgeStore([claims]), adapter=None, reranker=reranker)
    asked = [qa_company.Question("q1", "claims.md", "number", "How long do I have to report damage?", ("7 days",)),
             qa_company.Question("q2", "claims.md", "name", "Who handles claims?", ("claims desk",)),
             qa_company.Question("q3", "claims.md", "number", "How much is the excess on claims?", ("€100",)),
             qa_company.Question("q4", "claims.md", "unanswerable", "Is there an excess?", ())]
    # The passage passes the gate for every question; it holds the fact of two, and its best span (the claims desk's
    # sentence, 0.9) holds only the second's.
    assert qa_company.span_choice(qa, asked) == {"answerable": 3, "past the gate": 3, "best passage holds the fact": 2,
                                                 "its best span holds it": 1, "share": 0.5}


def test_the_assistant_asks_the_question_people_wrap_as_it_was_written():
    for question in ("How long do I have to log a near miss after it happens?", "Who teaches the practical forklift course?",
                     "I lost my work laptop on the train. How long do I have to report it?"):
        for name in ("greeting", "thanks", "quick-question", "could-you"):
            asked = phrasings.PHRASINGS[name](question)
            assert plain_question(asked) == question, (name, asked)
    assert phrasings.slip("How fast can I drive inside the warehouse?") == "How fast can I drive inside the warheouse?"
    assert plain_question(phrasings.PHRASINGS["lower-case"]("How long do I have to log it?")) == "How long do I have to log it?"
    # typed in haste: the question as written, once read
    told = "I lost my work laptop on the train. What's the number I ring?"
    for name in ("upper-case", "smart-punctuation", "no-apostrophes", "context-after"):
        asked = phrasings.PHRASINGS[name](told)
        assert asked != told and questions_in(plain_question(asked)) == [told], (name, asked)
    assert phrasings.name_slip("Where do we gather at Barendrecht?") == "Where do we gather at Barednrecht?"


def test_two_in_one_pairs_questions_of_a_kind_and_scores_each_on_its_own_answer(tmp_path):
    from assistant.reply import Reply

    Q = qa_company.Question
    asked = [Q("a1", "a.md", "number", "How long is probation?", ("6 months",)),
             Q("u1", "a.md", "unanswerable", "What is the parking fee?", ()),
             Q("a2", "b.md", "name", "Who signs expenses?", ("Dana",)),
             Q("a3", "b.md", "name", "Who runs payroll?", ("Ola",)),
             Q("f1", "a.md", "followup", "And after that?", ("yearly",), conversation="c1", turn=2)]
    paired = {q.id: q.message for q in qa_company.two_in_one(asked)}
    # answerable with answerable in order, a lone last one with the first of its kind; no follow-up is paired
    assert paired == {"a1": "How long is probation? Who signs expenses?", "a2": "How long is probation? Who signs expenses?",
                      "a3": "Who runs payroll? How long is probation?", "u1": "", "f1": ""}
    first, second = (Reply(text, "qa", sources=[Passage(text, source)]) for text, source in
                     (("6 months [1]", "a.md"), ("I don't know.", "b.md")))
    sent = qa_company.Sent(Reply("both", "qa", parts=(first, replace(second, declined=True))), "", "", (), 1.0, 0.5)
    root = tmp_path.resolve()
    pair = [q for q in qa_company.two_in_one(asked) if q.id in ("a1", "a2")]
    outcomes = [qa_company.scored(root, q, sent) for q in pair]
    assert [(o.id, o.why, o.has_fact, o.cites_source) for o in outcomes] == [("a1", "answered", True, True),
                                                                              ("a2", "model_declined", False, False)]
