"""Prefect flows, caching, file I/O and the `mmskin` CLI. The only part of mmskin that touches files."""
