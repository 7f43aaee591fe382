"""Copy as code: a capture body written as curl, Python, Node, browser, Go or Ruby code that sends
the same event, and paste from code: curl commands and Python snippets read back into a body.

No I/O and no Qt: the window, the command line and the tests all call `generate` and `paste`.
"""

from composer.core.snippets.model import KEY_ENV, Snippet, SnippetRequest
from composer.core.snippets.registry import IDS, LANGUAGES, Language, generate, language

__all__ = [
    "IDS",
    "KEY_ENV",
    "LANGUAGES",
    "Language",
    "Snippet",
    "SnippetRequest",
    "generate",
    "language",
]
