"""Batches: examples padded into tensors, the loss over the reply tokens, and the order of micro-batches."""

from __future__ import annotations

from collections.abc import Iterator

from .data import IGNORE, TokenizedExample, length_buckets
from .state import TrainConfig


def collate(items: list[TokenizedExample], pad_id: int, device: str):
    import torch

    width = max(len(x.input_ids) for x in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        ids[row, :n] = torch.tensor(item.input_ids)
        labels[row, :n] = torch.tensor(item.labels)
        mask[row, :n] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def loss_sum(model, batch, logits_mask_ok: bool):
    """Summed cross-entropy over the reply tokens of a batch, and how many tokens that is.

    Only the positions that predict a reply token go through the output layer: with a 49k-token
    vocabulary and short replies, that saves about a fifth of the work of a step.
    """
    import torch.nn.functional as F

    ids, labels, mask = batch
    next_labels = labels[:, 1:]
    wanted = next_labels != IGNORE
    targets = next_labels[wanted]
    if logits_mask_ok:
        keep = F.pad(wanted, (0, 1), value=False)
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
        logits = logits.reshape(-1, logits.shape[-1])
    else:
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1][wanted]
    return F.cross_entropy(logits.float(), targets, reduction="sum"), targets.numel()


def eval_loss(model, examples: list[TokenizedExample], batch_size: int, pad_id: int, device: str, logits_mask_ok: bool) -> float:
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    ordered = sorted(examples, key=lambda x: len(x.input_ids))
    with torch.no_grad():
        for start in range(0, len(ordered), batch_size):
            loss, n = loss_sum(model, collate(ordered[start : start + batch_size], pad_id, device), logits_mask_ok)
            total, count = total + float(loss), count + n
    model.train(was_training)
    return total / max(count, 1)


def micro_batches(lengths: list[int], config: TrainConfig, epoch: int, index: int) -> Iterator[tuple[int, int, list[int]]]:
    """(epoch, index, example indices) forever, starting at a saved position; each epoch has its own order."""
    while True:
        batches = length_buckets(lengths, config.batch_size, config.seed + epoch)
        for i in range(index, len(batches)):
            yield epoch, i, batches[i]
        epoch, index = epoch + 1, 0
