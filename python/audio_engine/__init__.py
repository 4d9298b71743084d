"""Shared internals of the ``realtime_backend`` and ``rust_audio_engine`` packages.

``audio_engine._native`` is the one compiled extension; ``audio_engine.errors`` holds the
exception classes both packages raise.
"""

from . import errors  # noqa: F401
