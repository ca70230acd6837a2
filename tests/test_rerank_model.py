"""The reranker's folder format with the real embedded MiniLM: what training saves is what loading scores with."""

from __future__ import annotations

import pytest

from assistant.retrieval.base import Passage
from assistant.retrieval.rerank import (
    BATCH_PAIRS,
    MANIFEST,
    WEIGHTS,
    LazyReranker,
    RerankerInfo,
    bfloat16_attention_fails,
    cross_encoder,
    load_reranker,
    rerank,
    resolve_precision,
    resolve_reranker,
    save_reranker,
)

pytestmark = pytest.mark.real_model

QUESTION = "Who led the investigation of the buoy 17 incident?"
TEXTS = [
    "Incident report > Summary\nBuoy 17 stopped sending data on 9 April 2026. The investigation was led by Priya Raman.",
    "Travel policy > Hotels\nThe nightly hotel limit is 1,600 NOK in Norway and 180 EUR elsewhere in Europe.",
]


def test_a_saved_reranker_loads_from_its_folder_and_the_embedded_model_and_scores_as_it_did(tmp_path):
    import torch

    torch.manual_seed(0)
    model = cross_encoder("all-minilm-l6-v2", max_length=64)
    network = model.model
    for layer in network.bert.encoder.layer[:3]:
        layer.requires_grad_(False)
    network.bert.embeddings.word_embeddings.requires_grad_(False)
    shared = [name for name, parameter in network.named_parameters() if not parameter.requires_grad]
    network.eval()
    expected = model.predict([(QUESTION, text) for text in TEXTS], activation_fn=torch.nn.Sigmoid(), convert_to_numpy=True)

    folder = tmp_path / "rerankers" / "mine"
    save_reranker(model, folder, RerankerInfo(base="all-minilm-l6-v2", max_length=64, shared=shared))
    # Only what training could change is stored: far less than MiniLM's 90 MB in float32.
    assert (folder / MANIFEST).is_file() and (folder / WEIGHTS).stat().st_size < 15_000_000

    assert resolve_reranker("mine", tmp_path / "rerankers") == folder.resolve()
    reranker = load_reranker(resolve_reranker("mine", tmp_path / "rerankers"), "float32")
    assert load_reranker(folder.resolve(), "float32") is reranker  # loaded once per process
    scores = reranker.score(QUESTION, TEXTS)
    assert scores == pytest.approx([float(s) for s in expected], abs=0.01)  # float16 storage
    assert all(0.0 <= s <= 1.0 for s in scores)

    passages = [Passage(text.split("\n", 1)[1], f"doc{i}.md", text.split("\n", 1)[0]) for i, text in enumerate(TEXTS)]
    ranked = rerank(reranker, QUESTION, passages)
    assert sorted(p.relevance for p in ranked) == pytest.approx(sorted(scores), abs=1e-6)

    lazy = LazyReranker.from_setting(str(folder), tmp_path / "rerankers", "float32")
    assert lazy is not None and lazy.score(QUESTION, TEXTS) == pytest.approx(scores)


def test_a_damaged_reranker_folder_is_refused_with_a_clear_message(tmp_path):
    from assistant.errors import ModelError

    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / MANIFEST).write_text('{"base": "all-minilm-l6-v2", "max_length": 64}', encoding="utf-8")
    (folder / WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="Cannot load the reranker"):
        load_reranker(folder)


def saved_reranker(tmp_path, name: str = "mine"):
    """A reranker folder from the embedded MiniLM with a seeded classifier whose scores spread over (0, 1)."""
    import torch

    torch.manual_seed(0)
    model = cross_encoder("all-minilm-l6-v2", max_length=64)
    with torch.no_grad():
        model.model.classifier.weight.mul_(40)  # an untrained head gives scores all near 0.5: spread them apart
    model.model.eval()
    folder = tmp_path / name
    save_reranker(model, folder, RerankerInfo(base="all-minilm-l6-v2", max_length=64,
                                              shared=["bert.embeddings.word_embeddings.weight"]))
    return folder


MANY = [  # more than a batch (BATCH_PAIRS), of lengths from 3 to over 64 tokens, not in length order
    "Buoy 17 stopped sending data on 9 April 2026. " * 6,
    "Priya Raman led it.",
    "The nightly hotel limit is 1,600 NOK in Norway and 180 EUR elsewhere in Europe.",
    "Service each buoy every 12 months.",
    "The investigation of the buoy 17 incident was led by Priya Raman, head of field operations, with two engineers.",
    "Kitchen.",
    "Flights of under six hours are booked in economy class; longer flights may be booked in premium economy.",
    "A corroded antenna connector caused the loss of data. " * 3,
    "The HB-3 weighs 38 kg and is rated to 200 m.",
    "Onboarding: your laptop is ready on your first day.",
]


def test_scores_come_back_in_the_order_of_the_texts_as_each_pair_alone_would_score(tmp_path):
    folder = saved_reranker(tmp_path)
    reranker = load_reranker(folder, "float32")
    assert len(MANY) > BATCH_PAIRS
    alone = [reranker.score(QUESTION, [text])[0] for text in MANY]
    assert min(abs(a - b) for i, a in enumerate(alone) for b in alone[i + 1:]) > 5e-4  # a mix-up would show
    # Shortest first in batches padded to their own longest, then put back in the texts' order.
    assert reranker.score(QUESTION, MANY) == pytest.approx(alone, abs=1e-4)
    assert reranker.score(QUESTION, MANY[::-1]) == pytest.approx(alone[::-1], abs=1e-4)


def test_bfloat16_runs_the_forward_pass_in_bfloat16_and_ranks_as_float32(tmp_path):
    import torch

    if bfloat16_attention_fails():
        pytest.skip("torch held below AVX-512 on a bfloat16 CPU: the reranker runs in float32 (test_the_precision_setting)")
    folder = saved_reranker(tmp_path)
    full, half = load_reranker(folder, "float32"), load_reranker(folder, "bfloat16")
    assert half is not full and half.precision == "bfloat16"  # loaded once per folder and precision
    seen = []
    hook = half.model.model.register_forward_hook(lambda module, args, output: seen.append(output.logits.dtype))
    try:
        low = half.score(QUESTION, MANY)
    finally:
        hook.remove()
    assert seen and set(seen) == {torch.bfloat16}
    high = full.score(QUESTION, MANY)
    assert low == pytest.approx(high, abs=0.03)
    # The same order wherever float32 puts two texts clearly apart.
    clear = [(i, j) for i in range(len(MANY)) for j in range(len(MANY)) if high[i] > high[j] + 0.1]
    assert clear and all(low[i] > low[j] for i, j in clear)


def test_the_precision_setting(tmp_path, monkeypatch):
    from assistant.errors import ModelError
    from assistant.retrieval import rerank as module

    monkeypatch.setattr(module, "bfloat16_hardware", lambda: True)
    monkeypatch.setattr(module, "avx512_kernels", lambda: True)
    assert resolve_precision("auto") == "bfloat16" and resolve_precision(" Float32 ") == "float32"
    monkeypatch.setattr(module, "bfloat16_hardware", lambda: False)  # emulated: slow, but it runs
    assert resolve_precision("auto") == "float32" and resolve_precision("bfloat16") == "bfloat16"
    # A bfloat16 CPU held to torch's AVX2 kernels (ATEN_CPU_CAPABILITY=avx2), where bfloat16 attention fails.
    monkeypatch.setattr(module, "bfloat16_hardware", lambda: True)
    monkeypatch.setattr(module, "avx512_kernels", lambda: False)
    assert resolve_precision("auto") == "float32" and resolve_precision("bfloat16") == "float32"
    with pytest.raises(ModelError, match="reranker_precision to one of auto, float32, bfloat16"):
        resolve_precision("int4")
    folder = saved_reranker(tmp_path)
    with pytest.raises(ModelError, match="Unknown reranker precision 'fp8'"):  # when the settings are read
        LazyReranker.from_setting(str(folder), tmp_path, "fp8")


def test_the_shipped_reranker_reads_a_long_passage_to_its_end():
    from pathlib import Path

    reranker = load_reranker(Path(__file__).resolve().parents[1] / "rerankers" / "answer-ce", "float32")
    opening = ("Harbor Console was unavailable for customers on 14 March 2026 from 13:05 to 14:47. The status page "
               "was updated every twenty minutes. Buoys kept measuring and storing data, and no measurement was "
               "lost. Support answered 212 tickets that afternoon. The release that day added a new map view and "
               "a faster export of measurements to spreadsheet files for every customer on the Standard plan. ")
    answer = "The incident commander was Lars Dahl."
    question = "Who was the incident commander?"
    long_passage = f"Post-mortem: Harbor Console outage\n{opening * 2}{answer}"  # the answer past the first 128 tokens
    short_passage = f"Post-mortem: Harbor Console outage\n{answer}"
    no_answer = f"Post-mortem: Harbor Console outage\n{opening * 2}"
    long_score, short_score, none_score = reranker.score(question, [long_passage, short_passage, no_answer])
    assert long_score > 0.5 and short_score > 0.5 and none_score < 0.3
    assert long_score == pytest.approx(reranker.score(question, [long_passage])[0], abs=1e-4)  # alone or batched
