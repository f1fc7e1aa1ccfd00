"""English and Simplified Chinese. Every visible string is written in English inside `_()`; ZH holds its
translation (tests fail when one is missing or no longer used). The language is per script run, so the
pure chart and format functions translate without knowing about Streamlit."""

from __future__ import annotations

import os
import threading

from dashboard.zh import ZH

LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE = os.environ.get("SCORECARD_LANGUAGE", "zh" if os.environ.get("LANG", "").startswith("zh") else "en")
_state = threading.local()


def use(language: str) -> None:
    """Set the language for the rest of this script run (Streamlit runs each session's script on its own thread)."""
    _state.language = language if language in LANGUAGES else DEFAULT_LANGUAGE


def language() -> str:
    return getattr(_state, "language", DEFAULT_LANGUAGE)


def _(text: str) -> str:
    """The text in the current language."""
    if language() == "zh":
        return ZH.get(text, text)
    return text
