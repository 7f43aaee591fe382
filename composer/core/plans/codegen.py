"""Typed tracking code from a plan, in the languages there are generators for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from composer.core.plans.codegen_common import CodegenError
from composer.core.plans.codegen_python import generate_python
from composer.core.plans.codegen_typescript import generate_typescript
from composer.core.plans.model import Plan

__all__ = ["LANGUAGES", "CodegenError", "Language", "generate_code"]


@dataclass(frozen=True)
class Language:
    key: str  # as `--lang` takes it
    label: str
    suffix: str  # the usual file name ending
    generate: Callable[[Plan, str], str]


LANGUAGES = {
    "python": Language("python", "Python (posthog-python)", ".py", generate_python),
    "typescript": Language(
        "typescript", "TypeScript (posthog-js, posthog-node)", ".ts", generate_typescript
    ),
}


def generate_code(plan: Plan, language: str, source: str) -> str:
    """The module's text for `language`; `source` names the plan in its header (a file name,
    not a path, so that the output is the same on every machine). Raises CodegenError."""
    return LANGUAGES[language].generate(plan, source)
