"""The TinyDB backend (``tinydb:///path/db.json``); see :mod:`.backend` for how it works."""

from .backend import TinyDBBackend, TinyDBRepository
from .storage import AtomicJSONStorage

__all__ = ["AtomicJSONStorage", "TinyDBBackend", "TinyDBRepository"]
