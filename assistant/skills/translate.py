"""/translate: languages by any name or code, the source detected, long texts done piece by piece."""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError
from ..llm.adapters import weights_sha256
from ..llm.base import BASE, ChatModel, GenerationOptions, Message
from ..text import split_to_fit
from ..torch_threads import TORCH

if TYPE_CHECKING:
    from lingua import LanguageDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 where there is one, e.g. "fr"
    name: str  # English name, e.g. "French"


def find_language(spelling: str) -> Language:
    """'fr', 'French', 'français', '中文', 'pt-BR' ... -> Language; UsageError when unknown."""
    import langcodes

    spelling = spelling.strip().strip(":,")
    try:
        found = langcodes.get(spelling) if langcodes.tag_is_valid(spelling) else langcodes.find(spelling)
    except (LookupError, ValueError):
        found = None
    if found is None or not found.is_valid() or found.language in (None, "und") or found.display_name().startswith("Unknown"):
        raise UsageError(f"Unknown language {spelling!r}. Use a name or code, e.g. French, fr, français, Deutsch, 中文.")
    return Language(code=found.language, name=found.display_name())


@functools.lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    from lingua import LanguageDetectorBuilder

    # Low-accuracy mode loads in about 2 s instead of 25 s and is plenty for a paragraph.
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def detect_language(text: str) -> Language | None:
    detected = _detector().detect_language_of(text)
    if detected is None:
        return None
    return Language(code=detected.iso_code_639_1.name.lower(), name=detected.name.capitalize())


def _names(language: Language) -> set[str]:
    import langcodes

    found = langcodes.get(language.code)
    return {language.name.lower(), found.autonym().lower(), language.code}


def _first_words(text: str, count: int) -> tuple[str, str]:
    """The first ``count`` words, and the rest with its layout (line breaks) untouched."""
    match = re.match(rf"\s*((?:\S+\s+){{{count}}})(.*)", text, re.S)
    return (match.group(1).strip(), match.group(2)) if match else (text.strip(), "")


def parse_request(args: str) -> tuple[Language, str]:
    """'[to] <language> <text>' -> (target language, text). Multi-word names are tried longest first."""
    args = re.sub(r"^\s*to\s+", "", args, flags=re.I)
    if not args.strip():
        raise UsageError("Usage: /translate [to] <language> <text>, e.g. /translate French Good morning!")
    for size in (3, 2, 1):
        name, text = _first_words(args, size)
        if size > 1 and not text.strip():
            continue
        try:
            language = find_language(name)
        except UsageError:
            continue
        # Name lookup is forgiving ("French Good" finds French): a multi-word name must be the whole name.
        if size > 1 and name.lower() not in _names(language):
            continue
        if not text.strip():
            raise UsageError(f"Nothing to translate into {language.name}: add the text after the language.")
        return language, text.strip()
    raise UsageError(f"Unknown language {args.split()[0]!r}. Use a name or code, e.g. French, fr, français, Deutsch, 中文.")


class Translator(Protocol):
    def translate(self, text: str, source: Language | None, target: Language,
                  cancel: threading.Event | None = None) -> Iterator[str]:
        """Stream the translation of one piece of text (a paragraph or part of one)."""
        ...


def translate_messages(text: str, source: Language | None, target: Language) -> list[Message]:
    """The prompt LLMTranslator sends; the translate adapter's training data is built with it too."""
    origin = f"{source.name} " if source else ""
    # As a user message rather than a system prompt: chrF was 2-5 points higher with the small model.
    return [{"role": "user", "content": f"Translate this {origin}text into {target.name}. "
                                        f"Reply with the translation only.\n\n{text}"}]


class LLMTranslator:
    """Translation by prompting the chat model, with ``adapter`` (a name the model knows) read from ``adapter_dir``."""

    def __init__(self, model: ChatModel, adapter: str | None = None, adapter_dir: Path | None = None) -> None:
        self.model = model
        self.adapter = adapter
        self.adapter_dir = adapter_dir

    @functools.cached_property
    def adapter_sha256(self) -> str | None:
        return weights_sha256(self.adapter_dir) if self.adapter_dir else None

    def translate(self, text: str, source: Language | None, target: Language,
                  cancel: threading.Event | None = None) -> Iterator[str]:
        messages = translate_messages(text, source, target)
        budget = max(64, 2 * self.model.count_tokens(text) + 32)
        yield from self.model.stream(messages, GenerationOptions(max_new_tokens=budget, stop=("\n\n",)),
                                     adapter=self.adapter, cancel=cancel)


class Seq2SeqTranslator:
    """A dedicated translation model (Marian or NLLB) through `transformers`, for users who have one.

    Marian models translate one fixed pair (e.g. Helsinki-NLP/opus-mt-en-fr); NLLB models take
    FLORES codes, given in ``codes`` as {"fr": "fra_Latn", ...} when the defaults do not cover a language.
    """

    NLLB_CODES = {"en": "eng_Latn", "fr": "fra_Latn", "de": "deu_Latn", "es": "spa_Latn", "it": "ita_Latn",
                  "pt": "por_Latn", "ru": "rus_Cyrl", "zh": "zho_Hans", "ja": "jpn_Jpan", "ar": "arb_Arab",
                  "nl": "nld_Latn", "uk": "ukr_Cyrl", "pl": "pol_Latn", "ko": "kor_Hang", "tr": "tur_Latn"}

    def __init__(self, model_name: str, device: str = "cpu", codes: dict[str, str] | None = None) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_name)
        self.model = TORCH.run(lambda: AutoModelForSeq2SeqLM.from_pretrained(model_name).to(device).eval())
        self.device = device
        self.is_nllb = "nllb" in model_name.lower()
        self.codes = {**self.NLLB_CODES, **(codes or {})}

    def translate(self, text: str, source: Language | None, target: Language,
                  cancel: threading.Event | None = None) -> Iterator[str]:
        yield TORCH.run(self._translate, text, source, target)

    def _translate(self, text: str, source: Language | None, target: Language) -> str:
        import torch

        kwargs = {}
        if self.is_nllb:
            if target.code not in self.codes or (source and source.code not in self.codes):
                raise UsageError(f"The translation model has no code for {target.name}; add it under [translate] codes.")
            self.tokenizer.src_lang = self.codes[source.code] if source else self.codes["en"]
            kwargs["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(self.codes[target.code])
        with torch.inference_mode():
            inputs = self.tokenizer(text, return_tensors="pt", truncation=True).to(self.device)
            output = self.model.generate(**inputs, max_new_tokens=512, **kwargs)
        # batch_decode: one string per sequence (decode is typed as maybe returning a list).
        return self.tokenizer.batch_decode(output, skip_special_tokens=True)[0]


@functools.lru_cache(maxsize=1)
def measured_chrf() -> dict[str, Any]:
    """translate_quality.json: chrF per pair measured for a model and translate adapter (bench/translate_chrf.py)."""
    return json.loads(Path(__file__).with_name("translate_quality.json").read_text(encoding="utf-8"))


def quality_note(translator: Translator, source: Language | None, target: Language) -> str:
    """One line when this pair is known to come out poorly with the translator's model and adapter, naming the fixes."""
    if not isinstance(translator, LLMTranslator) or source is None:
        return ""
    table = measured_chrf()
    measured = table["models"].get(translator.model.name, {}).get(translator.adapter or BASE, {})
    # Figures measured on other weights (say, an adapter retrained under the same name) say nothing about these.
    if "weights_sha256" in measured and measured["weights_sha256"] != translator.adapter_sha256:
        return ""
    score = measured.get(f"{source.code}-{target.code}")
    if score is None or score >= table["poor_below"]:
        return ""
    return (f"{source.name} to {target.name} is known to be poor with {translator.model.name} (chrF {score:.0f} of 100 "
            f"on Tatoeba): for usable translations set a translation model under [translate] model, use a larger "
            f"--model, or a serving engine.")


def translate_text(translator: Translator, text: str, source: Language | None, target: Language,
                   count_tokens: Callable[[str], int], piece_tokens: int, cancel: threading.Event | None = None) -> Iterator[str]:
    """Stream the translation paragraph by paragraph (sentence groups within long ones), keeping the layout."""
    for number, pieces in enumerate(split_to_fit(text, piece_tokens, count_tokens)):
        for i, piece in enumerate(pieces):
            if cancel is not None and cancel.is_set():
                return
            if number or i:
                yield "\n\n" if i == 0 else " "
            yield from translator.translate(piece, source, target, cancel)
