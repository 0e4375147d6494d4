"""Evaluation: extraction, VQA metrics, classification."""
