"""forensics: evidence handling for verifiers of attacks on civilians."""

from __future__ import annotations

__version__ = "0.1.0"

__all__: list[str] = []
