"""The reranker's folder format with the real embedded MiniLM: what training saves is what loading scores with."""

from __future__ import annotations

import pytest

from assistant.retrieval.base import Passage
from assistant.retrieval.rerank import (
    MANIFEST,
    WEIGHTS,
    LazyReranker,
    RerankerInfo,
    cross_encoder,
    load_reranker,
    rerank,
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
    reranker = load_reranker(resolve_reranker("mine", tmp_path / "rerankers"))
    assert load_reranker(folder.resolve()) is reranker  # loaded once per process
    scores = reranker.score(QUESTION, TEXTS)
    assert scores == pytest.approx([float(s) for s in expected], abs=0.01)  # float16 storage
    assert all(0.0 <= s <= 1.0 for s in scores)

    passages = [Passage(text.split("\n", 1)[1], f"doc{i}.md", text.split("\n", 1)[0]) for i, text in enumerate(TEXTS)]
    ranked = rerank(reranker, QUESTION, passages)
    assert sorted(p.relevance for p in ranked) == pytest.approx(sorted(scores), abs=1e-6)

    lazy = LazyReranker.from_setting(str(folder), tmp_path / "rerankers")
    assert lazy is not None and lazy.score(QUESTION, TEXTS) == pytest.approx(scores)


def test_a_damaged_reranker_folder_is_refused_with_a_clear_message(tmp_path):
    from assistant.errors import ModelError

    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / MANIFEST).write_text('{"base": "all-minilm-l6-v2", "max_length": 64}', encoding="utf-8")
    (folder / WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="Cannot load the reranker"):
        load_reranker(folder)
