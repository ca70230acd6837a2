"""The engine: a plan measured per CPU and cached per CPU, a start-up self-check that falls back to
generate(), the engine setting, the kept prompt prefix, and agreement with the float32 reference
on the real model under every CPU capability (AVX-512, AVX2, and torch's plain kernels)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import REPO, SHARED_CACHE
from tiny_lm import make_tiny_model

from assistant.config import Settings, load_settings
from assistant.errors import ConfigError
from assistant.llm import busy, engine, fast, kernels, plan
from assistant.llm.base import GenerationOptions
from assistant.llm.local import GENERATE_LOOKUP_TOKENS, LocalChatModel
from assistant.llm.local_factory import create
from assistant.llm.lookup import PromptLookup
from assistant.llm.models import resolve_model
from assistant.llm.selfcheck import MAX_RELATIVE_ERROR, PROBES, compare, probe_sequences
from assistant.torch_threads import torch_threads

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


def tiny(tmp_path: Path, engine_setting: str = "auto", cache: Path | None = None) -> LocalChatModel:
    folder = tmp_path / "tiny"
    if not folder.is_dir():
        make_tiny_model(folder)
    return LocalChatModel(resolve_model(str(folder)), cache_dir=cache or tmp_path / "cache", adapters_dir=tmp_path,
                          dtype="float32", engine=engine_setting)


# --- the plan -----------------------------------------------------------------------------------


def test_candidates_group_close_formats_and_try_bf16_prompts_only_when_much_faster():
    timings = {"decode/int4": 1.0, "decode/int8": 1.05, "decode/bfloat16": 2.0, "decode/float32": 4.0,
               "prefill/float32": 10.0, "prefill/bfloat16": 9.0}
    assert plan.candidates(timings) == [[("float32", "int4"), ("float32", "int8")], [("float32", "bfloat16")], [("float32", "float32")]]
    timings["prefill/bfloat16"] = 5.0  # twice as fast: not enough to round every prompt token
    assert plan.candidates(timings)[0] == [("float32", "int4"), ("float32", "int8")]
    timings["prefill/bfloat16"] = 3.0  # over three times as fast: tried first, float32 prompts right after
    assert plan.candidates(timings)[:2] == [[("bfloat16", "int4"), ("bfloat16", "int8")], [("float32", "int4"), ("float32", "int8")]]


def test_agreement_counts_a_near_tie_broken_the_other_way_apart_from_a_wrong_token():
    """Reference logits over 3 tokens at 3 positions; the fast path picks token 1 each time. Position 0: the
    reference prefers 0 by 0.05 (a tie); position 1: by 0.5 (a miss); position 2: by 2 (a clear miss)."""
    reference = torch.tensor([[5.05, 5.0, 0.0], [5.5, 5.0, 0.0], [7.0, 5.0, 0.0], [0.0, 0.0, 0.0]])
    picks = torch.tensor([[0.0, 1.0, 0.0]])
    agreement = compare(lambda ids: reference, lambda ids, start, every: picks.repeat(len(ids), 1) if every else picks[0],
                        [([0, 1, 2, 3], 1)])
    assert agreement.positions == 3
    assert agreement.top1 == 0
    assert agreement.tied_top1 == pytest.approx(1 / 3)
    assert agreement.clear_top1 == 0  # the one clear position


def test_the_plan_is_measured_once_then_read_and_never_used_on_another_cpu(tmp_path, monkeypatch):
    first = tiny(tmp_path)
    assert first.engine == "fast" and "agrees with float32" in first.engine_reason
    plans = list((tmp_path / "cache" / "fast").glob("*.plan.json"))
    assert len(plans) == 1 and json.loads(plans[0].read_text())["capability"] == torch.backends.cpu.get_cpu_capability()

    monkeypatch.setattr(engine, "measure", lambda *a: pytest.fail("measured again"))
    again = tiny(tmp_path)
    assert again.fast.plan.decode == first.fast.plan.decode

    other = plan.CPU("Another CPU", "AVX2", torch.__version__, "")
    monkeypatch.setattr(engine, "this_cpu", lambda: other)
    with pytest.raises(pytest.fail.Exception, match="measured again"):
        tiny(tmp_path)


def test_new_tokens_formats_are_timed_with_the_weights_out_of_the_caches(monkeypatch):
    """A new token reads the whole model, so its formats are timed cold (timed hot, int8 looked as fast
    as int4 on one layer and was twice as slow through the model); a prompt reuses each weight, hot is right."""
    calls = []
    monkeypatch.setattr(plan, "time_format", lambda weights, fmt, tokens, repeats, cold=False: calls.append((fmt, tokens, cold)) or 0.001)
    plan.measure([[torch.zeros(32, 32)]], threads=1)
    assert {(fmt, cold) for fmt, tokens, cold in calls if tokens == 1} == {(fmt, True) for fmt in kernels.FORMATS}
    assert not any(cold for fmt, tokens, cold in calls if tokens > 1)

    before_calls = []
    seconds = kernels.timed_seconds(lambda: None, 3, before=lambda: before_calls.append(time.sleep(0.05)))
    assert len(before_calls) == 3 and max(seconds) < 0.05  # before() runs ahead of every timed call, untimed


def test_formats_are_timed_on_a_few_layers_as_far_as_a_byte_budget_and_given_per_layer(monkeypatch):
    weight = lambda floats: torch.zeros(1).expand(floats)  # noqa: E731  (as many floats, no memory)
    assert len(plan.timed_layers([[weight(64)] for _ in range(10)])) == plan.TIMED_LAYERS
    assert len(plan.timed_layers([[weight(plan.TIMED_BYTES // 4 // 2 + 1)] for _ in range(3)])) == 1
    assert len(plan.timed_layers([[weight(plan.TIMED_BYTES)]])) == 1  # one layer, however large
    monkeypatch.setattr(plan, "time_format", lambda weights, fmt, tokens, repeats, cold=False: 0.004)
    timings = plan.measure([[torch.zeros(32, 32)], [torch.zeros(32, 32)]], threads=1)  # 4 ms for both layers
    assert timings["decode/int4"] == pytest.approx(2.0) and timings["prefill/float32"] == pytest.approx(2.0)


def test_a_format_is_timed_by_its_fastest_run_so_a_busy_moment_does_not_decide_the_plan(monkeypatch):
    calls = []

    def matmul(x, packed):  # the second and third runs find the core taken by another process
        calls.append(1)
        if len(calls) in (3, 4):
            time.sleep(0.05)
        return x

    monkeypatch.setattr(kernels, "matmul", matmul)
    assert kernels.time_format([torch.zeros(8, 8)], "float32", tokens=1, repeats=3) < 0.05  # warm-up, then three


def test_an_older_plan_is_timed_again_and_keeps_its_packed_weights(tmp_path, monkeypatch):
    timings = {"decode/int4": 1.0, "decode/int8": 2.0, "decode/bfloat16": 3.0, "decode/float32": 4.0,
               "prefill/float32": 1.0, "prefill/bfloat16": 9.0}
    measured = []
    monkeypatch.setattr(engine, "measure", lambda *a: measured.append(1) or timings)
    assert tiny(tmp_path).fast.plan.decode == "int4" and len(measured) == 1
    plan_file = next((tmp_path / "cache" / "fast").glob("*.plan.json"))
    plan_file.write_text(json.dumps({**json.loads(plan_file.read_text()), "version": plan.PLAN_VERSION - 1}))
    real_pack = fast.pack
    monkeypatch.setattr(fast, "pack", lambda weight, fmt: pytest.fail("packed again") if fmt == "int4" else real_pack(weight, fmt))
    again = tiny(tmp_path)
    assert len(measured) == 2 and again.fast.plan.decode == "int4"
    assert json.loads(plan_file.read_text())["version"] == plan.PLAN_VERSION


class OthersTaking:
    """A stand-in for busy.OthersLoad: other processes took ``cores`` while the block ran."""

    def __init__(self, cores: float) -> None:
        self.cores = cores

    def __call__(self) -> OthersTaking:
        return self

    def __enter__(self) -> OthersTaking:
        return self

    def __exit__(self, *exc) -> None:
        pass


def test_a_plan_timed_while_other_processes_took_the_cpu_is_timed_again_at_a_start_that_finds_it_free(tmp_path, monkeypatch):
    timings = {"decode/int4": 1.0, "decode/int8": 2.0, "decode/bfloat16": 3.0, "decode/float32": 4.0,
               "prefill/float32": 1.0, "prefill/bfloat16": 9.0}
    measured = []
    monkeypatch.setattr(engine, "measure", lambda *a: measured.append(1) or timings)
    monkeypatch.setattr(engine, "OthersLoad", OthersTaking(1.5))
    first = tiny(tmp_path)
    assert first.fast.plan.timed_while_busy and "timed while other processes took 1.5 cores" in first.engine_reason
    monkeypatch.setattr(engine, "cores_taken_by_others", lambda: 1.2)  # still busy: timing again would be no better
    assert tiny(tmp_path).fast.plan.timed_while_busy and len(measured) == 1
    monkeypatch.setattr(engine, "cores_taken_by_others", lambda: 0.1)
    monkeypatch.setattr(engine, "OthersLoad", OthersTaking(0.1))
    again = tiny(tmp_path)
    assert len(measured) == 2 and not again.fast.plan.timed_while_busy and "timed while" not in again.engine_reason
    monkeypatch.setattr(engine, "cores_taken_by_others", lambda: pytest.fail("a plan timed in quiet is kept unasked"))
    tiny(tmp_path)
    assert len(measured) == 2


def test_cpu_time_that_other_processes_take_is_measured_and_this_ones_is_not(monkeypatch):
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert busy.cores_taken_by_others(1.0) >= busy.BUSY_CORES
    finally:
        spinner.kill()
        spinner.wait()
    clock = {"wall": 0.0, "own": 5.0, "busy": 100.0}  # seconds: wall clock, this process's CPU, all CPUs' busy time
    monkeypatch.setattr(busy, "time", SimpleNamespace(perf_counter=lambda: clock["wall"], process_time=lambda: clock["own"]))
    monkeypatch.setattr(busy, "busy_seconds", lambda cpus: clock["busy"])
    with busy.OthersLoad() as load:
        clock.update(wall=1.0, own=7.0, busy=102.0)  # two cores for a second, all of it this process's threads
    assert load.cores == 0.0
    with busy.OthersLoad() as load:
        clock.update(wall=2.0, own=8.0, busy=103.5)  # 1.5 CPU seconds in a second, 1.0 of them this process's
    assert load.cores == pytest.approx(0.5)


def test_packed_weights_are_cached_by_content(tmp_path, monkeypatch):
    model = tiny(tmp_path, "generate").model
    planner = engine.Planner(model, 64, tmp_path / "cache", [])
    first = planner._decode_weights("int4")
    monkeypatch.setattr(fast, "pack", lambda *a: pytest.fail("packed again"))
    second = engine.Planner(model, 64, tmp_path / "cache", [])._decode_weights("int4")
    assert all(torch.equal(first[k][0][kind], second[k][0][kind]) for k in first for kind in first[k][0])
    with torch.no_grad():
        model.model.layers[0].mlp.down_proj.weight.mul_(2)
    with pytest.raises(pytest.fail.Exception, match="packed again"):
        engine.Planner(model, 64, tmp_path / "cache", [])._decode_weights("int4")


def test_a_fast_path_that_disagrees_with_the_reference_falls_back_to_generate(tmp_path, monkeypatch):
    """A broken kernel (here: every weight packed as zeros) fails the self-check, is logged, and
    generate() answers; engine = fast keeps the fast path anyway, with a warning."""
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append  # on the module's logger: the CLI tests' log set-up may stop propagation
    monkeypatch.setattr(engine.log, "handlers", [handler])
    real_pack = fast.pack
    monkeypatch.setattr(fast, "pack", lambda weight, fmt: real_pack(torch.zeros_like(weight), fmt))
    broken = tiny(tmp_path)
    assert broken.fast is None and broken.engine == "generate" and "failed its self-check" in broken.engine_reason
    assert any("disagrees with the reference" in r.getMessage() for r in warnings)
    assert broken.stream(FRANCE, GenerationOptions(max_new_tokens=4), ignore_eos=True).text()
    forced = tiny(tmp_path, "fast")
    assert forced.fast is not None and "forced by the engine setting" in forced.engine_reason
    assert any("engine = fast although" in r.getMessage() for r in warnings)


def test_a_cached_plan_that_went_bad_is_planned_again(tmp_path, monkeypatch):
    timings = {"decode/int4": 1.0, "decode/int8": 2.0, "decode/bfloat16": 3.0, "decode/float32": 4.0,
               "prefill/float32": 1.0, "prefill/bfloat16": 9.0}
    monkeypatch.setattr(engine, "measure", lambda *a: timings)
    assert tiny(tmp_path).fast.plan.decode == "int4"
    real_pack = fast.pack
    monkeypatch.setattr(fast, "pack", lambda weight, fmt: real_pack(weight * (fmt != "int4"), fmt))
    for packed in (tmp_path / "cache" / "fast").glob("*-int4.safetensors"):
        packed.unlink()  # as if the kernel had changed under the same cache
    replanned = tiny(tmp_path)
    assert replanned.fast is not None and replanned.fast.plan.decode != "int4"


# --- the engine setting -------------------------------------------------------------------------


def test_the_engine_setting_from_file_env_and_its_check(tmp_path, monkeypatch):
    (tmp_path / "assistant.toml").write_text('engine = "generate"\n')
    assert load_settings().engine == "generate"
    monkeypatch.setenv("ASSISTANT_ENGINE", "fast")
    settings = load_settings()
    assert settings.engine == "fast" and settings.origins["engine"] == "env ASSISTANT_ENGINE"
    assert tiny(tmp_path, "generate").fast is None
    with pytest.raises(ConfigError, match="Unknown engine 'turbo'"):
        tiny(tmp_path, "turbo")


@pytest.mark.parametrize("columns", [4, 8, 24, 576])
def test_every_format_multiplies_rows_of_any_length_by_one_token_or_several(columns):
    """A LoRA side path's second matrix has as many columns as the adapter's rank: torch's int8 kernel read
    4, 8 or 24 of them as garbage on AVX-512 (and crashed with several rows), so such a matrix stays float32."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(64, columns, generator=generator)
    tolerance = {"int4": 0.2, "int8": 0.02, "bfloat16": 0.02, "float32": 1e-6}
    for fmt in kernels.FORMATS:
        packed = kernels.pack(weight, fmt)
        for rows in (1, 4):
            x = torch.randn(rows, columns, generator=generator)
            want = x @ weight.T
            assert ((kernels.matmul(x, packed) - want).norm() / want.norm()) < tolerance[fmt], (fmt, rows)


# --- the kept prompt prefix ---------------------------------------------------------------------


def test_a_prompt_that_starts_like_the_last_one_computes_only_its_new_tokens(tmp_path, monkeypatch):
    model = tiny(tmp_path)
    decoder = model.fast
    history = model.encode_chat(FRANCE + [{"role": "assistant", "content": "Paris."}])
    follow_up = model.encode_chat(FRANCE + [{"role": "assistant", "content": "Paris."}, {"role": "user", "content": "And Italy?"}])
    with torch.inference_mode():
        decoder.prefill(history, None)
        starts: list[tuple[int, int]] = []
        prompt_pass = decoder._prompt_pass
        monkeypatch.setattr(decoder, "_prompt_pass", lambda tokens, start, adapter: starts.append((start, len(tokens))) or prompt_pass(tokens, start, adapter))
        kept = decoder.prefill(follow_up, None)
        shared = next(i for i, (a, b) in enumerate(zip(history, follow_up)) if a != b)
        assert shared > len(history) - 5  # all but the generation prompt of the last turn
        last = len(follow_up) - 1
        assert starts == [(shared, last - shared), (last, 1)]  # the last token in a pass of its own
        decoder.forget()
        fresh = decoder.prefill(follow_up, None)
    assert torch.allclose(kept, fresh, atol=1e-4)
    assert decoder.cached == follow_up and decoder.cached_adapter is None


def test_the_same_request_again_gives_the_same_logits_and_another_adapter_starts_afresh(tmp_path):
    """Only prompt tokens are kept (a reply's keys and values came from the decoding format), and a
    prompt whose one new token follows the kept prefix still runs in the prompt format."""
    model = tiny(tmp_path)
    decoder = model.fast
    prompt = model.encode_chat(FRANCE)
    with torch.inference_mode():
        fresh = decoder.prefill(prompt, None)
        tokens = list(decoder.generate(prompt, 6))
        assert decoder.cached == prompt
        again = decoder.prefill(prompt, None)  # all but the last token kept
    assert torch.allclose(again, fresh, atol=1e-4)
    decoder.cached_adapter = "someone-else"
    assert list(decoder.generate(prompt, 6)) == tokens  # recomputed from position 0, same tokens


# --- prompt lookup: drafts checked in one pass ---------------------------------------------------


def test_prompt_lookup_drafts_what_followed_the_latest_earlier_occurrence():
    lookup = PromptLookup([1, 2, 3, 4, 9, 2, 3, 5])
    assert lookup.draft(2) == []  # "3 5" never came before
    lookup.append(1)
    lookup.append(2)
    assert lookup.draft(2) == [3, 4]
    lookup.append(3)
    assert lookup.draft(2) == [4, 9]  # "1 2 3" came before: the longer match wins over the latest "2 3"
    assert PromptLookup([7, 8, 1, 7, 8, 2, 0, 7, 8]).draft(1) == [2]  # the latest "7 8"
    assert PromptLookup([7, 8, 1, 7, 8]).draft(5) == [1, 7, 8]  # never past what is known


def test_checking_a_draft_in_one_pass_gives_what_single_steps_give(tmp_path):
    """Rows of one decoding pass over several tokens (as a draft is checked) see the cache and each other as
    single steps would: a wrong mask or position would move their logits."""
    decoder = tiny(tmp_path).fast
    prompt = tiny(tmp_path).encode_chat(FRANCE)
    reply = [11, 12, 13, 14, 15, 16, 17]
    with torch.inference_mode():
        decoder.prefill(prompt, None)
        singles = torch.stack([decoder.forward(torch.tensor([t]), len(prompt) + i, None) for i, t in enumerate(reply)])
        decoder.forget()
        decoder.prefill(prompt, None)
        first = decoder.forward(torch.tensor(reply[:3]), len(prompt), None, prompt=False, every=True)
        rest = decoder.forward(torch.tensor(reply[3:]), len(prompt) + 3, None, prompt=False, every=True)
    assert torch.allclose(torch.cat([first, rest]), singles, atol=1e-4)


def test_greedy_decoding_with_drafts_yields_what_one_token_a_step_yields_in_fewer_passes(tmp_path, monkeypatch):
    """A scripted forward (the next token follows from the last token and its position, with a twist every 7th
    position so some drafts fail) stands in for the model: drafts accepted, rejected, cut by the end-of-sequence
    token and by the length limit must leave the token stream as plain greedy decoding gives it."""
    decoder = tiny(tmp_path).fast
    vocab = decoder.embed.shape[0]

    def next_token(token: int, position: int) -> int:
        return 40 if position % 7 == 0 else 30 + (token + 1) % 5

    passes: list[tuple[int, int]] = []

    def scripted(tokens, start, adapter, prompt=None, every=False):
        passes.append((start, len(tokens)))
        rows = torch.zeros(len(tokens), vocab)
        for row, token in enumerate(tokens.tolist()):
            rows[row, next_token(token, start + row + 1)] = 1.0
        return rows if every else rows[-1]

    monkeypatch.setattr(decoder, "forward", scripted)
    prompt = [30, 31, 32, 33, 34, 30, 31, 32]
    for eos, limit in ((frozenset(), 40), (frozenset({40}), 40), (frozenset(), 9)):
        decoder.draft_tokens = 0
        plain = list(decoder.generate(prompt, limit, eos=eos))
        plain_passes, passes[:] = len(passes), []
        decoder.draft_tokens = 3
        assert list(decoder.generate(prompt, limit, eos=eos)) == plain
        # each pass starts after the last token the one before it kept: its first token, and the draft that held
        assert all(start < next_start <= start + count for (start, count), (next_start, _) in zip(passes, passes[1:]))
        assert len(passes) <= plain_passes
        if limit == 40 and not eos:
            assert len(passes) < plain_passes / 2  # the stream repeats: most drafts hold
        passes[:] = []


def test_the_generate_path_looks_up_the_prompt_for_greedy_replies_only(tmp_path, monkeypatch):
    model = tiny(tmp_path, "generate")
    asked: list[int | None] = []
    generate = model.model.generate
    monkeypatch.setattr(model.model, "generate", lambda **kw: asked.append(kw["prompt_lookup_num_tokens"]) or generate(**kw))
    model.generate(FRANCE, GenerationOptions(max_new_tokens=4))
    model.generate(FRANCE, GenerationOptions(max_new_tokens=4, temperature=0.8, seed=1))
    monkeypatch.setattr(model.model, "_is_stateful", True, raising=False)  # as Mamba: no guess can be taken back
    model.generate(FRANCE, GenerationOptions(max_new_tokens=4))
    assert asked == [GENERATE_LOOKUP_TOKENS, None, None]


# --- the real model against the float32 reference -----------------------------------------------


AGREEMENT_SCRIPT = """
import json, sys, torch
from pathlib import Path
from assistant.config import Settings
from assistant.llm.local_factory import create
from assistant.llm.selfcheck import compare, probe_sequences
model = create(Settings(cache_dir=Path(sys.argv[1]), adapter="none"))
tokenize = lambda text: model.tokenizer(text, add_special_tokens=False)["input_ids"]
sequences = probe_sequences(model.encode_chat, tokenize, int(sys.argv[2]))
torch.set_num_threads(1)  # one thread: a second one stalls every small op on a busy machine
reference = lambda ids: model.model(torch.tensor([ids])).logits[0]
agreement = compare(reference, model.fast.teacher_forced, sequences)
drafts = compare(reference, model.fast.teacher_forced, sequences, step=model.fast.draft_tokens + 1)
answer = model.generate([{"role": "user", "content": "What is the capital of France?"}])
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(), "plan": model.fast.plan.describe(),
                  "agreement": agreement.as_dict(), "drafts": drafts.as_dict(), "answer": answer}))
"""

# ATEN_CPU_CAPABILITY picks torch's own kernels, ONEDNN_MAX_CPU_ISA oneDNN's, MKL_ENABLE_INSTRUCTIONS
# MKL's and NUMBA_CPU_NAME the CPU numba compiles the fused kernels for, so a machine with AVX-512 also
# runs what an AVX2 machine (Haswell's instructions), or one with no vector kernels at all, would run.
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
CAPABILITIES = {
    "avx2": ({"ATEN_CPU_CAPABILITY": "avx2", "NUMBA_CPU_NAME": "haswell", **AVX2}, len(PROBES)),
    "default": ({"ATEN_CPU_CAPABILITY": "default", "NUMBA_CPU_NAME": "x86-64", **AVX2}, 6),  # plain kernels are slow
}


def assert_agrees(figures: dict) -> None:
    """Where the reference's best token wins clearly, the fast path must pick it too; where two tokens are
    within a logit of each other, rounding may flip a few (one flip in the 80 positions of the DEFAULT run
    is 98.75%), so the overall rate only has to stay near the 99% that bench/ and the plan aim for. The
    same holds for decoding passes that check a prompt lookup draft (several tokens a pass)."""
    for agreement in (figures["agreement"], figures["drafts"]):
        assert agreement["clear_top1"] >= 0.99, figures
        assert agreement["top1"] >= 0.97, figures
        assert agreement["relative_error"] < MAX_RELATIVE_ERROR, figures
    assert "Paris" in figures["answer"], figures


@pytest.mark.real_model
def test_the_fast_path_agrees_with_the_float32_reference_on_the_real_model():
    model = create(Settings(cache_dir=SHARED_CACHE, adapter="none"))
    sequences = probe_sequences(model.encode_chat, lambda t: model.tokenizer(t, add_special_tokens=False)["input_ids"], len(PROBES))

    def reference(ids):
        return model.model(torch.tensor([ids])).logits[0]

    with torch_threads(1), torch.inference_mode():  # one thread: a second one stalls every small op on a busy machine
        agreement = compare(reference, model.fast.teacher_forced, sequences)
        drafts = compare(reference, model.fast.teacher_forced, sequences, step=model.fast.draft_tokens + 1)
    model.fast.forget()
    assert_agrees({"agreement": agreement.as_dict(), "drafts": drafts.as_dict(), "answer": model.generate(FRANCE),
                   "plan": model.fast.plan.describe()})


@pytest.mark.real_model
@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_the_fast_path_agrees_on_other_cpu_capabilities(capability):
    overrides, probes = CAPABILITIES[capability]
    env = {**os.environ, **overrides, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", AGREEMENT_SCRIPT, str(SHARED_CACHE), str(probes)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["capability"] == capability.upper()
    assert_agrees(figures)


def test_assistant_models_shows_the_engine_setting_and_the_plan_for_this_cpu(tmp_path, monkeypatch, capsys):
    from cli_helpers import run_main

    cache = tmp_path / "cache"
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(cache))
    monkeypatch.setenv("ASSISTANT_ENGINE", "generate")
    code, out, _ = run_main(monkeypatch, capsys, "models")
    assert code == 0 and "Engine: generate (env ASSISTANT_ENGINE)" in out and "no plan measured on this CPU yet" in out
    model = tiny(tmp_path, cache=cache)
    code, out, _ = run_main(monkeypatch, capsys, "models")
    assert f"tiny: fast path, prompt in {model.fast.plan.prefill}, tokens in {model.fast.plan.decode}" in out
    assert torch.backends.cpu.get_cpu_capability() in out


def test_an_mkl_instruction_limit_is_another_cpu_and_no_limit_keeps_the_old_key(monkeypatch):
    monkeypatch.delenv("MKL_ENABLE_INSTRUCTIONS", raising=False)
    unlimited = plan.this_cpu()
    old_key = hashlib.sha256("|".join(dataclasses.astuple(unlimited)[:4]).encode()).hexdigest()[:12]
    assert unlimited.key == old_key
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX2")
    limited = plan.this_cpu()
    assert limited.key != unlimited.key and "MKL ISA AVX2" in limited.describe()


def test_decoding_threads_are_chosen_on_settled_steps_and_timed_again_later(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(fast.time, "monotonic", lambda: clock[0])
    choice = fast.ThreadChoice()
    choice.most = 2
    assert choice.next(0) == 1  # step 0 follows the prompt: never a trial

    def trial(one_thread: list[float], two_threads: list[float]) -> None:
        for threads, seconds in [*((1, s) for s in one_thread), *((2, s) for s in two_threads)]:
            assert choice.next(1) == threads
            choice.timed(seconds)

    # the first step of each count pays for waking threads: 2 threads win on the settled steps
    trial([0.017, 0.017, 0.018, 0.017], [0.040, 0.012, 0.013, 0.012])
    assert choice.chosen == 2 and choice.next(5) == 2
    clock[0] += fast.ThreadChoice.RETIME_S + 1  # the machine got busy: one thread wins the next trial
    trial([0.017, 0.017, 0.018, 0.017], [0.020, 0.150, 0.090, 0.120])
    assert choice.chosen == 1 and choice.next(5) == 1
    choice.fix(2)  # a benchmark's forced count: no more trials, however long it runs
    clock[0] += 10 * fast.ThreadChoice.RETIME_S
    assert [choice.next(step) for step in range(1, 12)] == [2] * 11


def test_lora_side_paths_decode_in_the_fastest_per_row_format_never_int4():
    plan_timed = lambda **ms: plan.EnginePlan("float32", "int4", "cpu", "AVX2", timings_ms={f"decode/{k}": v for k, v in ms.items()})  # noqa: E731
    assert fast.side_path_format(plan_timed(int4=0.1, int8=0.2, bfloat16=0.5, float32=1.2)) == "int8"
    assert fast.side_path_format(plan_timed(int4=0.1, int8=2.0, bfloat16=0.5, float32=1.2)) == "bfloat16"
    assert fast.side_path_format(plan_timed(int4=0.1, int8=2.0, bfloat16=3.0, float32=1.2)) == "float32"
    assert fast.side_path_format(plan_timed()) == "float32"  # nothing timed: the reference
