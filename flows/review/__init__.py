"""`mmskin review DIR`: the curation web page over a built dataset (see app.py)."""

from flows.review.app import DatasetError, create_app
from flows.review.server import is_loopback, serve

__all__ = ["DatasetError", "create_app", "is_loopback", "serve"]
