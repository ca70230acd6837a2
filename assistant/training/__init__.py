"""Fine-tuning LoRA adapters (`assistant train`), merging them, and evaluating them (`assistant eval`)."""
