"""The local backend with the real embedded model: answers, streaming, stops, cancel, usage, LoRA
adapters, the conversion caches, thread safety; and the fast decoder against transformers itself."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from conftest import SHARED_CACHE
from tiny_lm import make_tiny_model

from assistant import files
from assistant.errors import AdapterError
from assistant.llm.base import BASE, ChatModel, GenerationOptions
from assistant.llm.local import LocalChatModel
from assistant.llm.models import EMBEDDED, gguf_cache_dir, materialize, resolve_model
from assistant.retrieval.base import Passage
from assistant.skills.prompts import NO_ANSWER, qa_messages
from assistant.torch_threads import TORCH

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
STORY = [{"role": "user", "content": "Write a short story about a robot who learns to paint."}]
GREEDY = GenerationOptions(max_new_tokens=24)


def lora_adapter(folder: Path, base_folder: str, base_id: str, seed: int, targets=("q_proj", "v_proj", "down_proj")) -> Path:
    """A LoRA adapter with small random weights (B is not zero, so it is not the identity), saved by peft."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=list(targets), init_lora_weights=False))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_" in name:
                parameter.normal_(0, 0.05)
    peft_model.peft_config["default"].base_model_name_or_path = base_id
    peft_model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def converted() -> str:
    return materialize(resolve_model("smollm2-135m"), SHARED_CACHE)


@pytest.fixture(scope="module")
def own_model(tmp_path_factory) -> LocalChatModel:
    """A real model of this module's own, since loading adapters changes it."""
    adapters = tmp_path_factory.mktemp("adapters")
    return LocalChatModel(resolve_model("smollm2-135m"), cache_dir=SHARED_CACHE, adapters_dir=adapters)


# --- answers, streaming, options ---------------------------------------------------------------


@pytest.mark.real_model
def test_real_model_answers_on_the_fast_path(real_model):
    assert isinstance(real_model, ChatModel) and real_model.fast is not None
    assert "Paris" in real_model.generate(FRANCE, GREEDY)


@pytest.mark.real_model
def test_streaming_pieces_and_usage(real_model):
    stream = real_model.stream(STORY, GREEDY)
    pieces = list(stream)
    assert len(pieces) > 5 and "".join(pieces) == real_model.generate(STORY, GREEDY)
    usage = stream.usage
    assert usage.prompt_tokens == real_model.count_tokens(STORY)
    assert usage.completion_tokens == 24  # a story does not end in 24 tokens
    assert 0 < usage.time_to_first_token_s < usage.total_s and usage.decode_tokens_per_s > 0


@pytest.mark.real_model
def test_stop_strings_cut_the_reply(real_model):
    full = real_model.generate(FRANCE, GREEDY)
    cut = real_model.generate(FRANCE, GenerationOptions(max_new_tokens=24, stop=("Paris",)))
    assert "Paris" in full and cut == full[: full.index("Paris")]


@pytest.mark.real_model
def test_sampling_is_seeded_and_top_p_near_zero_is_greedy(real_model):
    sampled = GenerationOptions(max_new_tokens=16, temperature=1.0, seed=7)
    first = real_model.generate(STORY, sampled)
    assert real_model.generate(STORY, sampled) == first
    narrow = GenerationOptions(max_new_tokens=16, temperature=1.0, top_p=1e-6, seed=7)
    assert real_model.generate(STORY, narrow) == real_model.generate(STORY, GenerationOptions(max_new_tokens=16))


@pytest.mark.real_model
def test_cancel_stops_the_generation_and_frees_the_model(real_model):
    stream = real_model.stream(STORY, GenerationOptions(max_new_tokens=400), ignore_eos=True)
    received = []
    for piece in stream:
        received.append(piece)
        if len(received) == 3:
            stream.cancel.set()
    assert stream.usage.completion_tokens < 20
    assert "Paris" in real_model.generate(FRANCE, GREEDY)


@pytest.mark.real_model
def test_the_shipped_grounded_qa_adapter_answers_with_a_citation_and_declines_without_the_answer(real_model):
    shipped = str(Path(__file__).resolve().parents[1] / "adapters" / "grounded-qa")
    passages = [
        Passage("The Louvre, in Paris, is the world's most visited art museum. It opened in 1793.", "museums.md", "Louvre"),
        Passage("The Eiffel Tower is 330 metres tall. It was built for the 1889 World's Fair.", "landmarks.md", "Eiffel Tower"),
    ]
    answer = real_model.generate(qa_messages("How tall is the Eiffel Tower?", passages), GREEDY, adapter=shipped)
    assert "330" in answer and "[2]" in answer
    assert real_model.generate(qa_messages("Who is the mayor of Paris?", passages), GREEDY, adapter=shipped).strip() == NO_ANSWER
    assert "[" not in real_model.generate(qa_messages("How tall is the Eiffel Tower?", passages), GREEDY, adapter=BASE)


def test_two_threads_streaming_at_once_get_their_own_replies_computed_on_the_torch_thread(real_model, monkeypatch):
    alone = {name: real_model.generate(messages, GREEDY) for name, messages in (("france", FRANCE), ("story", STORY))}
    callers: list[int] = []
    starts: list[int] = []  # the position each forward pass starts at
    forward = real_model.fast.forward

    def recorded(tokens, start, *args, **kwargs):
        callers.append(threading.get_ident())
        starts.append(start)
        return forward(tokens, start, *args, **kwargs)

    monkeypatch.setattr(real_model.fast, "forward", recorded)
    together: dict[str, str] = {}
    threads = [
        threading.Thread(target=lambda n=name, m=messages: together.__setitem__(n, "".join(real_model.stream(m, GREEDY))))
        for name, messages in (("france", FRANCE), ("story", STORY))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert together == alone
    restarts = sum(1 for a, b in zip(starts, starts[1:]) if b <= a)
    assert restarts == 1  # one whole generation, then the other
    # Every step on one thread (the torch thread, never the callers'): a second thread computing
    # would make both slower (torch_threads.py).
    assert len(callers) > 20 and set(callers) == {TORCH.run(threading.get_ident)}
    assert not {thread.ident for thread in threads} & set(callers)


# --- LoRA adapters -------------------------------------------------------------------------------


@pytest.mark.real_model
def test_lora_adapter_changes_the_output_and_none_restores_the_base_exactly(own_model, converted, tmp_path):
    base = own_model.generate(STORY, GREEDY, adapter=BASE)
    lora_adapter(own_model.adapters_dir / "painter", converted, own_model.source.base_id, seed=1)
    adapted = own_model.generate(STORY, GREEDY, adapter="painter")
    assert "painter" in own_model.adapters() and "painter" in own_model.fast.adapters
    assert adapted != base
    assert own_model.generate(STORY, GREEDY, adapter=BASE) == base
    assert own_model.generate(STORY, GREEDY, adapter="painter") == adapted


@pytest.mark.real_model
def test_adapter_save_and_load_round_trip(own_model, converted, tmp_path):
    import torch
    from safetensors.torch import load_file

    first = lora_adapter(tmp_path / "first", converted, own_model.source.base_id, seed=2)
    name = own_model.load_adapter(str(first))
    reply = own_model.generate(STORY, GREEDY, adapter=name)
    own_model.model.save_pretrained(tmp_path / "saved", selected_adapters=[name])
    again = tmp_path / "again"
    shutil.move(tmp_path / "saved" / name, again)
    saved, original = load_file(again / "adapter_model.safetensors"), load_file(first / "adapter_model.safetensors")
    assert saved.keys() == original.keys() and all(torch.equal(saved[k], original[k]) for k in saved)
    assert own_model.generate(STORY, GREEDY, adapter=own_model.load_adapter(str(again))) == reply


@pytest.mark.real_model
def test_adapter_for_another_base_is_refused_naming_both(own_model, converted, tmp_path):
    folder = lora_adapter(tmp_path / "alien", converted, "someone/other-model", seed=3)
    with pytest.raises(AdapterError) as error:
        own_model.load_adapter(str(folder))
    assert "someone/other-model" in str(error.value) and "smollm2-135m" in str(error.value)


@pytest.mark.real_model
def test_corrupt_adapter_is_an_adapter_error(own_model, converted, tmp_path):
    broken_json = lora_adapter(tmp_path / "broken-json", converted, own_model.source.base_id, seed=4)
    (broken_json / "adapter_config.json").write_text("{not json")
    broken_weights = lora_adapter(tmp_path / "broken-weights", converted, own_model.source.base_id, seed=4)
    (broken_weights / "adapter_model.safetensors").write_bytes(b"\x00garbage" * 10)
    for folder in (broken_json, broken_weights):
        with pytest.raises(AdapterError):
            own_model.stream(FRANCE, GREEDY, adapter=str(folder)).text()
    assert "Paris" in own_model.generate(FRANCE, GREEDY, adapter=BASE)


# --- caches --------------------------------------------------------------------------------------


@pytest.mark.real_model
def test_gguf_conversion_is_cached_and_a_changed_file_invalidates_it(tmp_path, monkeypatch):
    import os

    from transformers import AutoModelForCausalLM

    gguf = tmp_path / EMBEDDED["smollm2-135m"].filename
    shutil.copy(resolve_model("smollm2-135m").location, gguf)
    source = resolve_model(str(gguf))
    dequantized: list[str] = []
    real_from_pretrained = AutoModelForCausalLM.from_pretrained

    def counting(*args, **kwargs):
        if kwargs.get("gguf_file"):
            dequantized.append(kwargs["gguf_file"])
            if len(dequantized) > 1:
                raise RuntimeError("dequantizing again")
        return real_from_pretrained(*args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", counting)
    first = materialize(source, tmp_path / "cache")
    assert materialize(source, tmp_path / "cache") == first and len(dequantized) == 1
    stat = gguf.stat()
    os.utime(gguf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert materialize(source, tmp_path / "cache") == first  # touched, not changed: the same conversion
    with gguf.open("r+b") as data:  # a changed weight in the last tensor
        data.seek(-1, os.SEEK_END)
        last = data.read(1)
        data.seek(-1, os.SEEK_END)
        data.write(bytes([last[0] ^ 1]))
    assert gguf_cache_dir(source, tmp_path / "cache") != Path(first)
    with pytest.raises(Exception, match="dequantizing again"):
        materialize(source, tmp_path / "cache")


def gguf_file(path: Path, data: bytes = b"GGUF weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def gguf_source(path: Path):
    from assistant.llm.models import ModelSource

    return ModelSource(spec=str(path), kind="gguf", location=str(path), base_id="org/model")


def conversion_folder(cache: Path, name: str, gguf: Path) -> Path:
    """A folder as materialize leaves a conversion of ``gguf``."""
    folder = cache / "models" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "assistant_model.json").write_text(json.dumps({"base_id": "org/model", "gguf": str(gguf)}))
    return folder


def test_copies_of_one_file_share_the_conversion_and_conversions_no_file_needs_are_removed(tmp_path, monkeypatch):
    from assistant.llm import models

    cache = tmp_path / "cache"
    hashed: list[Path] = []
    monkeypatch.setattr(models, "sha256_file", lambda path: hashed.append(path) or files.sha256_file(path))
    venv = gguf_file(tmp_path / "venv" / "model.gguf")
    (tmp_path / "linked-venv").symlink_to(venv.parent)
    second_venv = gguf_file(tmp_path / "second-venv" / "model.gguf")
    current = conversion_folder(cache, gguf_cache_dir(gguf_source(venv), cache).name, venv)
    # The same bytes, wherever they are, share one conversion; each path is read once.
    for path in (tmp_path / "linked-venv" / "model.gguf", second_venv, second_venv):
        assert gguf_cache_dir(gguf_source(path), cache) == current
    assert hashed == [venv, second_venv]

    other = gguf_file(tmp_path / "other-checkout" / "model.gguf", b"GGUF other weights")
    kept = conversion_folder(cache, gguf_cache_dir(gguf_source(other), cache).name, other)
    gone_venv = gguf_file(tmp_path / "deleted-venv" / "model.gguf", b"GGUF old weights")
    gone = conversion_folder(cache, gguf_cache_dir(gguf_source(gone_venv), cache).name, gone_venv)
    shutil.rmtree(gone_venv.parent)
    keyed_by_path = conversion_folder(cache, "model-0000000000000003", second_venv)  # named by path as before, of an older version
    not_ours = cache / "models" / "model-notes"  # no record of a conversion: not touched
    not_ours.mkdir()

    assert materialize(gguf_source(second_venv), cache) == str(current)
    assert kept.is_dir() and not_ours.is_dir() and not gone.exists() and not keyed_by_path.exists()
    # The venv that converted it is gone: the conversion stays while a copy of the file still needs it.
    shutil.rmtree(venv.parent)
    assert materialize(gguf_source(second_venv), cache) == str(current) and current.is_dir()
    # A newer version of the file replaces its conversion.
    gguf_file(second_venv, b"GGUF new weights")
    newer = conversion_folder(cache, gguf_cache_dir(gguf_source(second_venv), cache).name, second_venv)
    assert materialize(gguf_source(second_venv), cache) == str(newer) and not current.exists() and kept.is_dir()


def test_a_conversion_keyed_by_path_as_before_is_renamed_not_converted_again(tmp_path):
    import hashlib

    cache = tmp_path / "cache"
    gguf = gguf_file(tmp_path / "venv" / "model.gguf")  # no real GGUF: converting it would fail
    stat = gguf.stat()
    before = conversion_folder(cache, f"model-{hashlib.sha256(f'{gguf}|{stat.st_size}|{stat.st_mtime_ns}'.encode()).hexdigest()[:16]}", gguf)
    target = gguf_cache_dir(gguf_source(gguf), cache)
    assert materialize(gguf_source(gguf), cache) == str(target)
    assert (target / "config.json").is_file() and not before.exists()


# --- the fast decoder against transformers -------------------------------------------------------


def tiny_model(kind: str, folder: Path):
    """A small random model of a given architecture, in float32, saved with the embedded tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(materialize(resolve_model("smollm2-135m"), SHARED_CACHE))
    sizes = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    if kind == "gpt2":
        sizes = dict(vocab_size=len(tokenizer), n_embd=64, n_layer=2, n_head=4, n_positions=256)
    config = AutoConfig.for_model(kind, **sizes, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "assistant_model.json").write_text(json.dumps({"base_id": f"tiny-{kind}"}))
    return LocalChatModel(resolve_model(str(folder)), cache_dir=folder.parent / "cache", adapters_dir=folder.parent, dtype="float32")


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_fast_decoder_matches_transformers_with_and_without_lora(kind, tmp_path):
    """The prompt pass uses the exact weights (when the plan keeps prompts in float32): its best logits equal
    transformers' own forward; a decoding step (int4 weights) stays close to it; LoRA's fused side path equals peft's."""
    import torch

    model = tiny_model(kind, tmp_path / kind)
    # A tiny model's matmuls take microseconds: under load the plan's timing may find bfloat16 prompts 3x faster.
    exact = model.fast.plan.prefill == "float32"
    lora_adapter(tmp_path / "lora", str(tmp_path / kind), f"tiny-{kind}", seed=5,
                 targets=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))
    ids = model.encode_chat(FRANCE)
    for adapter in (None, model.load_adapter(str(tmp_path / "lora"))):
        with torch.inference_mode():
            if adapter:
                model.model.set_adapter(adapter)
                expected = model.model(torch.tensor([ids])).logits[0, -1]
            else:
                with model.model.disable_adapter():
                    expected = model.model(torch.tensor([ids])).logits[0, -1]
            prompt_pass = model.fast.forward(torch.tensor(ids), 0, adapter)
            model.fast.forward(torch.tensor(ids[:-1]), 0, adapter)
            step = model.fast.forward(torch.tensor(ids[-1:]), len(ids) - 1, adapter)
        best = prompt_pass.topk(5).indices  # a quantized output head recomputes its own best rows exactly
        if exact:
            assert torch.allclose(prompt_pass[best], expected[best], atol=1e-4)
        assert torch.cosine_similarity(prompt_pass, expected, 0) > 0.99
        assert torch.cosine_similarity(step, expected, 0) > 0.99


def test_an_unsupported_architecture_or_engine_uses_generate(tmp_path):
    gpt2 = tiny_model("gpt2", tmp_path / "gpt2")
    assert gpt2.fast is None
    stream = gpt2.stream(FRANCE, GenerationOptions(max_new_tokens=8), ignore_eos=True)
    assert isinstance(stream.text(), str) and stream.usage.completion_tokens == 8
    plain = LocalChatModel(resolve_model(str(make_tiny_model(tmp_path / "plain"))), cache_dir=SHARED_CACHE,
                           adapters_dir=tmp_path, dtype="float32", engine="generate")
    assert plain.fast is None and plain.stream(FRANCE, GenerationOptions(max_new_tokens=8), ignore_eos=True).text()


def test_an_adapter_beyond_the_fast_path_runs_with_generate(tmp_path):
    model = tiny_model("llama", tmp_path / "llama")
    base = model.generate(FRANCE, GenerationOptions(max_new_tokens=8))
    lora_adapter(tmp_path / "head", str(tmp_path / "llama"), "tiny-llama", seed=6, targets=("q_proj", "lm_head"))
    adapted = model.generate(FRANCE, GenerationOptions(max_new_tokens=8), adapter=str(tmp_path / "head"))
    assert "head" in model.adapters() and "head" not in model.fast.adapters
    assert adapted != base and model.generate(FRANCE, GenerationOptions(max_new_tokens=8), adapter=BASE) == base
