"""The one sentence splitter (assistant/text.py), which chunking, the skills and the front-ends share."""

from __future__ import annotations

from assistant.text import sentence_spans, sentences, split_to_fit


def test_spans_leave_out_the_space_between_sentences():
    text = 'Dr. Smith arrived. It rained! Did it? Yes: 3.5 cm fell, said J. Doe. He said "Stop." Then 「日本語です。」次の文。'
    parts = [text[a:b] for a, b in sentence_spans(text)]
    assert parts == ["Dr. Smith arrived.", "It rained!", "Did it?", "Yes: 3.5 cm fell, said J. Doe.", 'He said "Stop."',
                     "Then 「日本語です。」", "次の文。"]


def test_abbreviations_and_initials_do_not_end_a_sentence():
    assert sentences("Ask Prof. Lee or Mrs. Hall, e.g. by mail. Fig. 3 shows it. Reports by J. R. Smith et al. are cited.") == [
        "Ask Prof. Lee or Mrs. Hall, e.g. by mail.", "Fig. 3 shows it.", "Reports by J. R. Smith et al. are cited."]


def test_a_stop_followed_by_a_lower_case_word_does_not_end_a_sentence():
    assert sentences("The shop opens at 9 a.m. on weekdays. It closes at 5 p.m. sharp.") == [
        "The shop opens at 9 a.m. on weekdays.", "It closes at 5 p.m. sharp."]


def test_cjk_sentences_end_at_their_full_stops_without_a_space():
    assert sentences("今天下雨了。我们不去公园！你呢？") == ["今天下雨了。", "我们不去公园！", "你呢？"]


def test_other_scripts_split_where_a_capital_or_an_uncased_letter_follows():
    assert sentences("Привет. Как дела? Всё хорошо.") == ["Привет.", "Как дела?", "Всё хорошо."]
    assert sentences("Γεια σου. Τι κάνεις;") == ["Γεια σου.", "Τι κάνεις;"]
    assert sentences("مرحبا. كيف حالك?") == ["مرحبا.", "كيف حالك?"]


def test_quotes_and_brackets_stay_with_their_sentence():
    assert sentences('He said "Go." (Then he left.) "Why?" she asked.') == ['He said "Go."', "(Then he left.)",
                                                                           '"Why?" she asked.']


def test_white_space_only_and_empty_text_have_no_sentences():
    assert sentences("") == [] and sentences("  \n ") == [] and sentence_spans("") == []


def test_split_to_fit_splits_a_long_paragraph_by_sentence_only():
    count = lambda text: len(text.split())  # noqa: E731
    text = "Short one.\n\nDr. Who came. He left at 5 p.m. today. Then it rained."
    assert split_to_fit(text, 5, count) == [["Short one."], ["Dr. Who came.", "He left at 5 p.m. today.", "Then it rained."]]


def test_a_stop_followed_by_punctuation_does_not_end_a_sentence():
    assert sentences("Install it. - Then restart. Done.") == ["Install it. - Then restart.", "Done."]
