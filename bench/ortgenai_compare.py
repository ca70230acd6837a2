"""onnxruntime-genai against the fast path and llama.cpp on the embedded model (issue 12's evaluation).

onnxruntime-genai is not a dependency of the project: run this from a separate virtual environment
that has it (see docs/onnxruntime-genai-evaluation.md for the set-up and the model builds):

    python bench/ortgenai_compare.py speed --ort DIR [--ort DIR ...] --threads 1 [--runs 3]
    python bench/ortgenai_compare.py agreement --ort DIR [--ort DIR ...]
    python bench/ortgenai_compare.py make-lora --built DIR --out DIR --adapter PEFT_DIR [--adapter ...]
    python bench/ortgenai_compare.py lora --ort DIR --adapter PEFT_DIR [--adapter ...]

- speed: every engine decodes the same token ids, greedy, end-of-sequence ignored, taking turns so a
  change in the machine's load hits them all: the bench's 45-token prompt (``--new-tokens``) and
  RAG prompts (the QA skill's prompt with 4 XQuAD passages, a fresh one per run, no prefix kept by
  anyone). Wall time to the first token, decode tokens/s, and CPU seconds (``time.process_time``, all
  the process's threads) for the prompt and per token, which a busy machine inflates less.
- agreement: teacher-forced top-1 agreement and logit error against the float32 transformers
  reference on selfcheck.PROBES, computed by selfcheck.compare (the fast path's own check).
- make-lora: from a model built with ``--extra_options adapter_path=...`` (one adapter baked in, its
  LoRA matmuls quantized), a model whose LoRA weights are graph inputs, plus one ``.onnx_adapter``
  file per peft adapter, so that one loaded model can switch adapters per request.
- lora: that model against peft in float32 per adapter (agreement), and what switching costs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402

PROJECTION_OUTPUT = re.compile(r"^/model/layers\.(\d+)/(attn|mlp)/(\w+_proj)/MatMul/output_0$")


# --- onnxruntime-genai ------------------------------------------------------------------------


def ort_model(folder: Path, threads: int, spinning: bool = True):
    import onnxruntime_genai as og

    config = og.Config(str(folder))
    options = {"intra_op_num_threads": threads, "inter_op_num_threads": 1,
               "session.intra_op.allow_spinning": "1" if spinning else "0"}
    config.overlay(json.dumps({"model": {"decoder": {"session_options": options}}}))
    return og.Model(config)


def ort_generate(model, prompt: list[int], new_tokens: int, adapters=None, adapter: str | None = None) -> Iterator[int]:
    """Greedy tokens after ``prompt``, exactly ``new_tokens`` of them (end-of-sequence suppressed)."""
    import onnxruntime_genai as og

    params = og.GeneratorParams(model)
    length = len(prompt) + new_tokens
    params.set_search_options(max_length=length, min_length=length, do_sample=False)
    generator = og.Generator(model, params)
    if adapter is not None:
        generator.set_active_adapter(adapters, adapter)
    generator.append_tokens(np.array(prompt, dtype=np.int32))  # the prompt pass runs here
    for _ in range(new_tokens):
        generator.generate_next_token()  # the first only samples; later ones run one decoding step first
        yield int(generator.get_next_tokens()[0])


class OrtForward:
    """selfcheck.compare's ``fast_forward`` over one og.Generator: a prompt pass, then one token per call
    (the logits of that token, as the one row ``every`` asks for)."""

    def __init__(self, model, adapters=None, adapter: str | None = None) -> None:
        self.model, self.adapters, self.adapter, self.generator = model, adapters, adapter, None

    def __call__(self, ids: list[int], start: int, every: bool):
        import onnxruntime_genai as og
        import torch

        if start == 0:
            params = og.GeneratorParams(self.model)
            params.set_search_options(max_length=1024, do_sample=False)
            self.generator = og.Generator(self.model, params)
            if self.adapter is not None:
                self.generator.set_active_adapter(self.adapters, self.adapter)
        self.generator.append_tokens(np.array(ids, dtype=np.int32))
        logits = self.generator.get_logits()  # [batch, vocab]: the last token's
        last = torch.from_numpy(logits.reshape(-1, logits.shape[-1])[-1].copy())
        return last[None] if every else last


# --- the engines, timed the same way ------------------------------------------------------------


def timed(tokens: Iterator[int], count: int) -> dict:
    """Wall and CPU seconds to the first token, and per token after it."""
    wall, cpu = time.perf_counter(), time.process_time()
    first_wall = first_cpu = None
    produced = 0
    for _ in tokens:
        produced += 1
        if first_wall is None:
            first_wall, first_cpu = time.perf_counter(), time.process_time()
        if produced == count:
            break
    end_wall, end_cpu = time.perf_counter(), time.process_time()
    steps = max(produced - 1, 1)
    return {"ttft_s": first_wall - wall, "ttft_cpu_s": first_cpu - cpu,
            "tokens_per_s": steps / (end_wall - first_wall), "cpu_ms_per_token": (end_cpu - first_cpu) * 1000 / steps}


def our_engine(model) -> Callable[[list[int], int], Iterator[int]]:
    def run(prompt: list[int], new_tokens: int) -> Iterator[int]:
        import torch

        model.fast.forget()  # nothing kept from the last run
        with torch.inference_mode():
            yield from model.fast.generate(prompt, new_tokens, eos=frozenset())
    return run


def llama_engine(llm) -> Callable[[list[int], int], Iterator[int]]:
    def run(prompt: list[int], new_tokens: int) -> Iterator[int]:
        llm.reset()  # no prefix reuse: llama-cpp-python otherwise keeps the matching prompt prefix
        yield from llm.generate(prompt, temp=0.0, reset=True)
    return run


def ort_engine(model) -> Callable[[list[int], int], Iterator[int]]:
    return lambda prompt, new_tokens: ort_generate(model, prompt, new_tokens)


def speed(args) -> None:
    import llm_speed
    import torch

    from assistant.llm.plan import this_cpu

    torch.set_num_threads(args.threads)
    model = llm_speed.load_model(Path(args.cache))
    model.fast.threads.most = args.threads  # decode with exactly --threads (ThreadChoice would time 1 and all)
    model.fast.threads.chosen = args.threads
    model.fast.threads.next = lambda step: args.threads
    engines = {"ours": our_engine(model)}
    try:
        from llama_cpp import Llama

        engines["llama.cpp"] = llama_engine(Llama(model.source.location, n_threads=args.threads, n_threads_batch=args.threads,
                                                  n_ctx=2048, verbose=False))
    except ImportError as error:
        print(f"llama.cpp unavailable: {error}")
    for folder in args.ort:
        engines[f"ort:{Path(folder).name}"] = ort_engine(ort_model(Path(folder), args.threads, not args.no_spin))
        if args.also_no_spin:
            engines[f"ort:{Path(folder).name} (no spinning)"] = ort_engine(ort_model(Path(folder), args.threads, False))
    short = model.encode_chat(llm_speed.bench_prompt(model))
    rag = [model.encode_chat(m) for m in llm_speed.rag_prompts(args.runs)]
    load_before = os.getloadavg()[0]
    for run in engines.values():  # warm-up
        timed(run(short, 8), 8)
    results: dict[str, dict[str, list[dict]]] = {name: {"short": [], "rag": []} for name in engines}
    for index in range(args.runs):
        for name, run in engines.items():
            results[name]["short"].append(timed(run(short, args.new_tokens), args.new_tokens))
            results[name]["rag"].append(timed(run(rag[index], args.rag_new_tokens), args.rag_new_tokens))
    load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    print(f"{this_cpu().describe()}, {os.cpu_count()} CPUs, {args.threads} thread(s), load average before/after {load}; "
          f"median of {args.runs} runs")
    print(f"short prompt: {len(short)} tokens, {args.new_tokens} new; RAG prompts: {[len(r) for r in rag]} tokens, "
          f"{args.rag_new_tokens} new")
    header = f"{'engine':<44}{'TTFT':>9}{'CPU':>8}{'tok/s':>8}{'CPU ms/tok':>11}   {'RAG TTFT':>9}{'CPU':>8}{'tok/s':>8}{'CPU ms/tok':>11}"
    print(header)
    for name, figures in results.items():
        cells = []
        for kind in ("short", "rag"):
            rows = figures[kind]
            med = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
            cells.append(f"{med['ttft_s']:8.3f}s{med['ttft_cpu_s']:7.3f}s{med['tokens_per_s']:8.1f}{med['cpu_ms_per_token']:11.1f}")
        print(f"{name:<44}{cells[0]}   {cells[1]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "load": load, "results": results}, indent=1))


# --- agreement -----------------------------------------------------------------------------------


def agreement(args) -> None:
    import llm_speed
    import torch

    from assistant.llm.selfcheck import PROBES, compare, probe_sequences

    torch.set_num_threads(args.threads)
    model = llm_speed.load_model(Path(args.cache))
    sequences = probe_sequences(model.encode_chat, lambda text: model.tokenizer(text, add_special_tokens=False)["input_ids"], len(PROBES))

    def reference(ids):
        return model.model(torch.tensor([ids])).logits[0]

    ours = compare(reference, model.fast.teacher_forced, sequences)
    print(f"ours (fast path, prompt {model.fast.plan.prefill}, tokens {model.fast.plan.decode}): {ours.describe()}", flush=True)
    model.fast.forget()
    for folder in args.ort:
        result = compare(reference, OrtForward(ort_model(Path(folder), args.threads)), sequences)
        print(f"ort:{Path(folder).name}: {result.describe()}", flush=True)


# --- the GGUF's own grid -------------------------------------------------------------------------

PROJECTION_NODE = re.compile(r"^/model/layers\.\d+/(attn/qkv_proj|attn/o_proj|mlp/gate_proj|mlp/up_proj|mlp/down_proj)/MatMul$")
BLOCK = 32


def pack_nibbles(q: np.ndarray) -> np.ndarray:
    """[..., 2m] values 0..15 -> [..., m] bytes, the first of each pair in the low nibble (MatMulNBits' layout)."""
    q = q.astype(np.uint8)
    return q[..., 0::2] | (q[..., 1::2] << 4)


def save_rewritten(model, graph, nodes: list, built: Path, out: Path) -> None:
    """Write a rewritten graph beside the built model's genai config and tokenizer, so og.Model can load it."""
    import onnx

    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(out / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="model.onnx.data", size_threshold=1024)
    for extra in ("genai_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (built / extra).exists():
            (out / extra).write_bytes((built / extra).read_bytes())


def q4_exact(args) -> None:
    """From a float32 build, a model that multiplies by the GGUF's own weights: the embedded GGUF stores
    the projections as Q4_1 (w = d*q + m per block of 32, q in 0..15) and the tied embedding/head as
    Q8_0 (w = d*q, q in -127..127). MatMulNBits has no fractional zero point on its fast path, so each
    projection becomes MatMulNBits(x; q, d, zero point 0) + blocksum(x) @ M, M the blocks' minima:
    exactly d*q*x + m*x, with no second rounding of the weights. The head becomes 8-bit blocks (Q8_0's
    grid). Only the activations are rounded, to int8, when --accuracy-level is 4 (as llama.cpp does)."""
    import onnx
    from onnx import helper, numpy_helper

    built, out = Path(args.built), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(built / "model.onnx"))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    new_nodes, new_inits, dropped = [], [], set()
    worst = 0.0
    for node in graph.node:
        is_head = node.op_type == "MatMul" and node.name == "/lm_head/MatMul"
        if not (node.op_type == "MatMul" and (PROJECTION_NODE.match(node.name) or is_head)):
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32).T  # [N, K]
        n, k = w.shape
        blocks = w.reshape(n, k // BLOCK, BLOCK)
        base = node.name.removesuffix("/MatMul")
        name = node.input[1]
        if not is_head:  # the head's float weights stay: the embedding (tied) gathers from them
            dropped.add(name)
        attrs = dict(K=k, N=n, block_size=BLOCK, accuracy_level=args.accuracy_level, domain="com.microsoft")
        if is_head:  # Q8_0: symmetric 8-bit blocks, stored offset by 128 (MatMulNBits' default zero point)
            d = np.abs(blocks).max(-1) / 127
            d[d == 0] = 1
            q = np.clip(np.round(blocks / d[..., None]), -127, 127)
            worst = max(worst, float(np.abs(q * d[..., None] - blocks).max() / np.abs(blocks).max()))
            new_inits += [numpy_helper.from_array((q + 128).astype(np.uint8), f"{name}_Q8"),
                          numpy_helper.from_array(d.astype(np.float32).reshape(-1), f"{name}_scales")]
            # 8-bit blocks have int8-activation kernels only: at accuracy level 1 MLAS would dequantize
            # the whole head for every token (300 ms here), so the head always takes int8 activations.
            new_nodes.append(helper.make_node("MatMulNBits", [node.input[0], f"{name}_Q8", f"{name}_scales"], list(node.output),
                                              name=f"{base}/MatMul_Q8", bits=8, **(attrs | {"accuracy_level": 4})))
            continue
        low = blocks.min(-1)
        d = (blocks.max(-1) - low) / 15
        d[d == 0] = 1
        q = np.clip(np.round((blocks - low[..., None]) / d[..., None]), 0, 15)
        worst = max(worst, float(np.abs(q * d[..., None] + low[..., None] - blocks).max() / np.abs(blocks).max()))
        zero = np.zeros((n, (k // BLOCK + 1) // 2), dtype=np.uint8)
        new_inits += [numpy_helper.from_array(pack_nibbles(q), f"{name}_Q4"),
                      numpy_helper.from_array(d.astype(np.float32).reshape(-1), f"{name}_scales"),
                      numpy_helper.from_array(zero.reshape(-1), f"{name}_zero_points"),
                      numpy_helper.from_array(low.T.astype(np.float32).copy(), f"{name}_minima"),  # [K/32, N]
                      numpy_helper.from_array(np.array([0, 0, k // BLOCK, BLOCK], dtype=np.int64), f"{name}_blocks"),
                      numpy_helper.from_array(np.array([-1], dtype=np.int64), f"{name}_last")]
        x = node.input[0]
        new_nodes += [
            helper.make_node("MatMulNBits", [x, f"{name}_Q4", f"{name}_scales", f"{name}_zero_points"], [f"{base}/q/output_0"],
                             name=f"{base}/MatMul_Q4", bits=4, **attrs),
            helper.make_node("Reshape", [x, f"{name}_blocks"], [f"{base}/blocks/output_0"], name=f"{base}/blocks"),
            helper.make_node("ReduceSum", [f"{base}/blocks/output_0", f"{name}_last"], [f"{base}/blocksum/output_0"],
                             name=f"{base}/blocksum", keepdims=0),
            helper.make_node("MatMul", [f"{base}/blocksum/output_0", f"{name}_minima"], [f"{base}/minima/output_0"], name=f"{base}/minima"),
            helper.make_node("Add", [f"{base}/q/output_0", f"{base}/minima/output_0"], list(node.output), name=f"{base}/add"),
        ]
    kept = [i for i in graph.initializer if i.name not in dropped] + new_inits
    del graph.initializer[:]
    graph.initializer.extend(kept)
    save_rewritten(model, graph, new_nodes, built, out)
    print(f"largest weight error against the float32 build, relative to each matrix's largest weight: {worst:.2e}")


# --- LoRA ----------------------------------------------------------------------------------------


def lora_input_name(layer: int, block: str, proj: str, side: str) -> str:
    return f"model.layers.{layer}.{block}.{proj}.lora_{side}.MatMul.weight"


def make_lora(args) -> None:
    """Give every projection of a built model a LoRA side path ``(x @ A) @ B`` whose A and B are graph
    inputs of rank "lora_r" (their default, an empty initializer, is what runs while no adapter is
    active: "no adapter" adds zeros), and write each peft adapter as an .onnx_adapter file for those inputs.
    The fused q/k/v projection gets A stacked and B block-diagonal, as the fast path does."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    built, out = Path(args.built), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(built / "model.onnx"))
    graph = model.graph
    sizes: dict[str, tuple[int, int]] = {}  # projection -> (K, N)
    nodes = []
    for node in graph.node:
        nodes.append(node)
        match = next((PROJECTION_OUTPUT.match(o) for o in node.output if PROJECTION_OUTPUT.match(o)), None)
        if not match:
            continue
        layer, block, proj = int(match[1]), match[2], match[3]
        output = match[0]
        x = next(n for n in graph.node if n.name.startswith(f"/model/layers.{layer}/{block}/{proj}/MatMul")).input[0]
        attrs = {a.name: helper.get_attribute_value(a) for n in graph.node if n.op_type == "MatMulNBits"
                 and n.name.startswith(f"/model/layers.{layer}/{block}/{proj}/MatMul") for a in n.attribute}
        a_name, b_name = (lora_input_name(layer, block, proj, side) for side in "AB")
        sizes[f"{layer}.{block}.{proj}"] = (attrs["K"], attrs["N"])
        base = f"/model/layers.{layer}/{block}/{proj}/lora"
        node.output[list(node.output).index(output)] = f"{base}/base_output"
        nodes += [helper.make_node("MatMul", [x, a_name], [f"{base}/A/output_0"], name=f"{base}/A"),
                  helper.make_node("MatMul", [f"{base}/A/output_0", b_name], [f"{base}/B/output_0"], name=f"{base}/B"),
                  helper.make_node("Add", [f"{base}/base_output", f"{base}/B/output_0"], [output], name=f"{base}/Add")]
        for name, shape in ((a_name, (attrs["K"], 0)), (b_name, (0, attrs["N"]))):
            # An input with an initializer of rank 0 as its default: no adapter adds zeros.
            graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [shape[0] or "lora_r", shape[1] or "lora_r"]))
            graph.initializer.append(numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name))
    save_rewritten(model, graph, nodes, built, out)
    print(f"LoRA side paths on {len(sizes)} projections")
    for adapter in args.adapter:
        path = write_adapter(Path(adapter), out, sizes)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def write_adapter(peft_dir: Path, out: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    """peft's lora_A (r x in) and scaling * lora_B (out x r) as the side path's MatMul weights A^T and B^T."""
    import onnxruntime as ort
    from safetensors.torch import load_file

    from assistant.llm.fast import FUSED, _block_lora

    config = json.loads((peft_dir / "adapter_config.json").read_text())
    scaling = config["lora_alpha"] / (config["r"] ** 0.5 if config.get("use_rslora") else config["r"])
    pairs: dict[tuple[int, str], list] = {}
    for key, value in load_file(str(peft_dir / "adapter_model.safetensors")).items():
        match = re.search(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+_proj)\.lora_([AB])\.weight$", key)
        if not match:
            raise SystemExit(f"{peft_dir}: {key} is not a LoRA matmul of a projection")
        pair = pairs.setdefault((int(match[1]), match[2]), [None, None])
        pair["AB".index(match[3])] = value.float() * (scaling if match[3] == "B" else 1.0)
    onnx_proj = {"qkv": ("attn", ["qkv_proj"]), "o": ("attn", ["o_proj"]), "gate_up": ("mlp", ["gate_proj", "up_proj"]),
                 "down": ("mlp", ["down_proj"])}
    parameters = {}
    layers = sorted({layer for layer, _ in pairs})
    for layer in layers:
        for fused, (_, parts) in FUSED.items():
            block, names = onnx_proj[fused]
            groups = [parts] if len(names) == 1 else [[p] for p in parts]  # ORT keeps gate and up apart
            for name, group in zip(names, groups):
                found = [tuple(pairs[(layer, p)]) if (layer, p) in pairs else None for p in group]
                if not any(found):
                    continue
                if not all(found):
                    raise SystemExit(f"{peft_dir}: layer {layer} adapts only some of {', '.join(group)}; this tool needs all or none")
                k, n = sizes[f"{layer}.{block}.{name}"]
                a, b = _block_lora(found, [len(f[1]) for f in found])
                assert a.shape[1] == k and b.shape[0] == n, (layer, name, a.shape, b.shape, k, n)
                for side, weight in (("A", a.T), ("B", b.T)):
                    parameters[lora_input_name(layer, block, name, side)] = ort.OrtValue.ortvalue_from_numpy(
                        np.ascontiguousarray(weight.numpy().astype(np.float32)))
    adapter = ort.AdapterFormat()
    adapter.set_adapter_version(1)
    adapter.set_model_version(1)
    adapter.set_parameters(parameters)
    path = out / f"{peft_dir.name}.onnx_adapter"
    adapter.export_adapter(str(path))
    return path


def lora(args) -> None:
    import llm_speed
    import onnxruntime_genai as og
    import torch

    from assistant.llm.selfcheck import PROBES, compare, probe_sequences

    torch.set_num_threads(args.threads)
    model = llm_speed.load_model(Path(args.cache))
    sequences = probe_sequences(model.encode_chat, lambda text: model.tokenizer(text, add_special_tokens=False)["input_ids"], len(PROBES))
    folder = Path(args.ort)
    started = time.perf_counter()
    ort = ort_model(folder, args.threads)
    loaded = time.perf_counter()
    adapters = og.Adapters(ort)
    names = []
    for adapter in args.adapter:
        began = time.perf_counter()
        adapters.load(str(folder / f"{Path(adapter).name}.onnx_adapter"), Path(adapter).name)
        print(f"og.Adapters.load {Path(adapter).name}: {(time.perf_counter() - began) * 1000:.0f} ms")
        names.append(model.load_adapter(adapter))
    print(f"model load {loaded - started:.2f} s")

    def reference(ids):
        return model.model(torch.tensor([ids])).logits[0]

    for name in [None] + names:
        if name is None:
            with model.model.disable_adapter():
                ours = compare(reference, model.fast.teacher_forced, sequences)
                theirs = compare(reference, OrtForward(ort), sequences)
        else:
            model.model.set_adapter(name)
            ours = compare(reference, lambda ids, start, name=name: model.fast.forward(torch.tensor(ids), start, name), sequences)
            theirs = compare(reference, OrtForward(ort, adapters, name), sequences)
        model.fast.forget()
        print(f"adapter {name or 'none'}: ours {ours.describe()}\n{'':>10}ort  {theirs.describe()}")
    # What switching costs: the same prompt, alternating adapters per request, against one adapter throughout.
    prompt = model.encode_chat(llm_speed.bench_prompt(model))
    for label, schedule in (("same adapter every request", [names[0]] * 6), ("switching every request", (names * 6)[:6]),
                            ("no adapter", [None] * 6)):
        rows = [timed(ort_generate(ort, prompt, 32, adapters, name), 32) for name in schedule]
        print(f"ort, {label:<28} TTFT {statistics.median(r['ttft_s'] for r in rows) * 1000:6.0f} ms, "
              f"decode {statistics.median(r['tokens_per_s'] for r in rows):6.1f} tok/s, "
              f"CPU {statistics.median(r['cpu_ms_per_token'] for r in rows):5.1f} ms/token")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "assistant"), help="the project's cache (converted model, plans)")
    parser.add_argument("--threads", type=int, default=1)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("speed")
    run.add_argument("--ort", action="append", default=[], help="an onnxruntime-genai model folder (repeatable)")
    run.add_argument("--runs", type=int, default=3)
    run.add_argument("--new-tokens", type=int, default=128)
    run.add_argument("--rag-new-tokens", type=int, default=64)
    run.add_argument("--no-spin", action="store_true", help="ORT threads sleep instead of spinning between ops")
    run.add_argument("--also-no-spin", action="store_true", help="time ORT both ways")
    run.add_argument("--json")
    check = commands.add_parser("agreement")
    check.add_argument("--ort", action="append", default=[])
    make = commands.add_parser("make-lora")
    make.add_argument("--built", required=True, help="a built model (the builder's, or q4-exact's)")
    make.add_argument("--out", required=True)
    make.add_argument("--adapter", action="append", default=[], help="a peft adapter folder (repeatable)")
    exact = commands.add_parser("q4-exact")
    exact.add_argument("--built", required=True, help="a float32 build (-p fp32 -e cpu)")
    exact.add_argument("--out", required=True)
    exact.add_argument("--accuracy-level", type=int, default=4, help="4: int8 activations; 1: float32")
    switch = commands.add_parser("lora")
    switch.add_argument("--ort", required=True, help="a folder made by make-lora")
    switch.add_argument("--adapter", action="append", default=[])
    args = parser.parse_args()
    try:
        import onnx  # noqa: F401
        import onnxruntime_genai  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"{error.name} is not installed here: run this from a virtual environment that has "
                         "onnxruntime-genai and onnx (docs/onnxruntime-genai-evaluation.md, Set-up).") from None
    {"speed": speed, "agreement": agreement, "q4-exact": q4_exact, "make-lora": make_lora, "lora": lora}[args.command](args)


if __name__ == "__main__":
    main()
