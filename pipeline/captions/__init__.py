"""Caption detection: which text blocks are figure captions, and their full text."""

from pipeline.captions.detector import find_captions

VERSION = "7"
__all__ = ["VERSION", "find_captions"]
