"""Generate code…: the plan's typed tracking functions, previewed before they are saved.

A language picker, the generated module in a read-only view, what it holds (or, when an event
cannot become code, which and why: then there is nothing to save), and Save…. The code is the
same as `event-composer plan codegen` writes, so a file saved here passes `--check` in CI.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.core.plans.codegen import LANGUAGES, CodegenError, generate_code
from composer.core.plans.model import Plan


class CodegenDialog(QDialog):
    def __init__(self, plan: Plan, plan_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.plan_path = plan_path
        self.code = ""  # what Save… writes; empty when the plan cannot become code
        self.saved_to: Path | None = None
        self.setWindowTitle("Generate code from the tracking plan")
        self.setObjectName("codegen_dialog")
        self.setAccessibleName("Generate code")
        self.resize(860, 640)

        self.language = QComboBox(self)
        self.language.setAccessibleName("Code language")
        self.language.setToolTip("The SDK the generated functions call")
        for key, language in LANGUAGES.items():
            self.language.addItem(language.label, key)
        language_label = QLabel("&Language", self)
        language_label.setBuddy(self.language)

        self.preview = QPlainTextEdit(self)
        self.preview.setAccessibleName("Generated code")
        self.preview.setObjectName("codegen_preview")
        self.preview.setReadOnly(True)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        self.status = QLabel(self)
        self.status.setAccessibleName("Code generation status")
        self.status.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        assert close is not None
        close.setAccessibleName("Close code generation")
        self.save_button = QPushButton("&Save…", self)
        self.save_button.setAccessibleName("Save generated code")
        self.save_button.setToolTip("Write the code to a file (keep it in git beside the plan)")
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self.save)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(language_label)
        top.addWidget(self.language, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

        self.language.currentIndexChanged.connect(self.regenerate)
        self.regenerate()

    @property
    def language_key(self) -> str:
        return str(self.language.currentData())

    def regenerate(self) -> None:
        source = self.plan_path.name if self.plan_path is not None else "the tracking plan"
        try:
            self.code = generate_code(self.plan, self.language_key, source)
        except CodegenError as exc:
            self.code = ""
            self.preview.setPlainText("")
            self.status.setText(
                "No code can be generated until the plan is fixed (every event must be in it):\n"
                + "\n".join(exc.problems)
            )
            self.save_button.setEnabled(False)
            return
        self.preview.setPlainText(self.code)
        if self.plan.problems:
            # What the reader could not use is missing from the preview: nothing to save until
            # it is fixed (the command line refuses such a plan too).
            shown = "\n".join(str(p) for p in self.plan.problems[:5])
            self.status.setText(
                "The plan has problems, so parts of it are missing here; fix them to save:\n"
                + shown
            )
            self.code = ""
            self.save_button.setEnabled(False)
            return
        count = len(self.plan.events)
        self.status.setText(
            f"{count} planned event{'s' * (count != 1)}, one function each. The same as"
            f" `event-composer plan codegen --lang {self.language_key}` writes; run it with"
            " --check in CI."
        )
        self.save_button.setEnabled(True)

    def suggested_path(self) -> Path:
        folder = self.plan_path.parent if self.plan_path is not None else Path.home()
        return folder / f"tracking{LANGUAGES[self.language_key].suffix}"

    def choose_path(self) -> Path | None:
        """Where to save (a file dialog; tests replace this)."""
        suffix = LANGUAGES[self.language_key].suffix
        path, _ = QFileDialog.getSaveFileName(
            self, "Save generated code", str(self.suggested_path()), f"Code (*{suffix})"
        )
        return Path(path) if path else None

    def save(self) -> None:
        if not self.code:
            return
        path = self.choose_path()
        if path is None:
            return
        from composer.services.plan_files import write_text

        try:
            write_text(path, self.code)
        except OSError as exc:
            self.status.setText(f"{path} could not be written: {exc.strerror or exc}.")
            return
        self.saved_to = path
        self.status.setText(f"Saved to {path}.")
