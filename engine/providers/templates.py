"""The prompt templates in ``engine/providers/prompts/*.md`` (``string.Template`` syntax)."""

from __future__ import annotations

from importlib import resources
from string import Template


def load_prompt(name: str) -> Template:
    """A prompt template from ``engine/providers/prompts/<name>.md``."""
    path = resources.files("engine.providers").joinpath("prompts", f"{name}.md")
    return Template(path.read_text(encoding="utf-8"))
