"""A tiny Llama built from a config (no hub), with the embedded model's tokenizer and chat template,
for fast training, adapter and merge tests."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SHARED_CACHE


def make_tiny_model(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from assistant.llm.models import materialize, resolve_model

    tokenizer = AutoTokenizer.from_pretrained(materialize(resolve_model("smollm2-135m"), SHARED_CACHE))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_chat_data(path: Path, count: int = 16) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps({"messages": [
                {"role": "user", "content": f"What comes after {i}?"},
                {"role": "assistant", "content": f"The number {i + 1}."},
            ]}) + "\n")
    return path


def train_tiny_adapter(base: Path, out: Path, data: Path, steps: int = 3) -> Path:
    """A real (if short) training run, so the adapter has its model card and training.json."""
    from assistant.training.trainer import TrainConfig, train

    config = TrainConfig(data=str(data), base=str(base), max_steps=steps, batch_size=4, learning_rate=1e-2, eval_fraction=0.25, eval_every=steps)
    train(config, out, cache_dir=SHARED_CACHE, progress=False, threads=1)
    return out
