"""What the batch's rows will do to persons: predicted over the whole table, in order, on a
worker thread, shortly after the rows change (changes come in bursts: an import, a paste)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QModelIndex, QObject, QThreadPool, QTimer, Signal

from composer.core.batch.rows import predict_persons
from composer.core.persons import PersonGraph
from composer.ui import heap
from composer.ui.batch.model import BatchModel, Column
from composer.ui.tasks import TaskRunner

DELAY_MS = 300


class BatchPersons(QObject):
    """Signals: message(str, int): a status-bar text (a prediction that failed)."""

    message = Signal(str, int)

    def __init__(self, model: BatchModel, parent: QObject) -> None:
        super().__init__(parent)
        self.model = model
        # The persons the batch will meet: the sandbox's; None is an empty project.
        self.provider: Callable[[], PersonGraph | None] = lambda: None
        # True while the batch is sent: the rows and the sandbox's persons change every moment.
        self.busy: Callable[[], bool] = lambda: False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._tasks = TaskRunner(self._pool, self)
        self._running = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._timer.timeout.connect(self.predict)
        for change in (model.rowsInserted, model.rowsRemoved, model.rowsMoved, model.modelReset):
            change.connect(self.schedule)
        model.dataChanged.connect(self._on_rows_changed)

    def schedule(self, *_args: object) -> None:
        self._timer.start()

    def _on_rows_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        # A verdict or status repaint is not a change of the events.
        if top_left.column() < Column.VERDICT or bottom_right.column() < Column.VERDICT:
            self.schedule()

    def predict(self) -> None:
        if self.busy():
            # Predicted once the send is over: a pass over 100,000 rows per chunk the sandbox
            # took would compete with the GUI thread for the interpreter all through the send.
            self._timer.start()
            return
        if self._running:
            self._again = True
            return
        rows = list(self.model.rows)
        if not rows:
            return
        self._running = True
        # Quiet: a pass over 100,000 rows otherwise set off full collections of 30-170 ms.
        work = partial(heap.quiet_work(predict_persons), rows, self.provider())
        self._tasks.run(work, self._done, self._failed)

    def _done(self, _result: object) -> None:
        self._running = False
        self.model.refresh_verdicts()
        if self._again:
            self._again = False
            self.predict()

    def _failed(self, exc: Exception) -> None:
        self._running = False
        self.message.emit(f"Predicting what the batch does to persons failed: {exc}", 10000)

    @property
    def idle(self) -> bool:
        return not (self._running or self._timer.isActive())

    def shutdown(self) -> None:
        self._timer.stop()
        self._pool.waitForDone(5000)
