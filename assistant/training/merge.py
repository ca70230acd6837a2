"""Merging a LoRA adapter into its base model's weights, as a standalone model folder."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from ..errors import AdapterError, UsageError
from ..files import replace_dir, staging_dir
from ..llm.adapters import check_base, read_adapter
from ..llm.models import MODEL_RECORD, ModelSource, load_pretrained

log = logging.getLogger(__name__)


def merge_adapter(
    source: ModelSource, adapter: str, adapters_dir: Path, out: Path, *, cache_dir: Path, dtype: str = "bfloat16", overwrite: bool = False
) -> Path:
    """Write base + adapter as one model that `--model OUT` loads, with no adapter needed.

    The merge is done in float32 and saved in ``dtype``. The folder records the base model's id,
    so adapters trained for the base still match the merged model.
    """
    import torch
    from peft import PeftModel
    from transformers.utils import logging as hf_logging

    info = read_adapter(adapter, adapters_dir)
    check_base(info, source)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"{out} already exists. Use --overwrite to replace it, or another --out.")
    if dtype not in ("float32", "bfloat16", "float16"):
        raise UsageError(f"Unknown dtype {dtype!r}: use float32, bfloat16 or float16.")
    hf_logging.disable_progress_bar()
    model, tokenizer = load_pretrained(source, cache_dir, "cpu", "float32")
    try:
        merged = PeftModel.from_pretrained(model, str(info.path)).merge_and_unload()
    except (RuntimeError, ValueError, KeyError) as error:
        raise AdapterError(f"Adapter {info.name!r} does not fit {source.spec}: {str(error).splitlines()[0]}") from error
    merged = merged.to(getattr(torch, dtype))
    staging = staging_dir(out)
    try:
        merged.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        record = {"base_id": source.base_id, "merged_adapter": info.name, "adapter_path": str(info.path)}
        (staging / MODEL_RECORD).write_text(json.dumps(record, indent=1))
        readme = info.path / "README.md"
        if readme.is_file():
            shutil.copyfile(readme, staging / "ADAPTER_README.md")
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("merged %s into %s: %s", info.name, source.spec, out)
    return out
