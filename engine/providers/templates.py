"""The prompt templates in ``engine/providers/prompts/*.md`` (``string.Template`` syntax),
and how a long text quoted into one is shortened."""

from __future__ import annotations

from importlib import resources
from string import Template


def load_prompt(name: str) -> Template:
    """A prompt template from ``engine/providers/prompts/<name>.md``."""
    path = resources.files("engine.providers").joinpath("prompts", f"{name}.md")
    return Template(path.read_text(encoding="utf-8"))


def cut_middle(text: str, limit: int) -> str:
    """``text`` if at most ``limit`` characters, else its two ends around a marker of how
    much was cut (the start and the end of an answer or a diff say the most)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
