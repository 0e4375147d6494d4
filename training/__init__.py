"""SkinVL training (LoRA with transformers + peft): see issue 7."""
