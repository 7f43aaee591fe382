"""Before sending, the window says what a payload will do to persons: against the sandbox's
persons for the form, and in order over the whole batch, computed off the GUI thread."""

from __future__ import annotations

import threading

import httpx
import pytest

from composer.app import create_main_window
from composer.core.compose.payloads import PayloadKind
from composer.ui.main_window import MainWindow
from tests.test_window_sandbox import wait_for_sandbox

KEY = "phc_window_persons_prediction_000000000"


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    yield w
    w.close()


def identify(distinct_id: str, anon: str) -> dict:
    return {
        "event": "$identify",
        "distinct_id": distinct_id,
        "properties": {"$anon_distinct_id": anon},
    }


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_the_form_predicts_a_refused_merge_against_the_sandboxs_persons(
    qtbot, window: MainWindow
) -> None:
    url = wait_for_sandbox(qtbot, window)
    httpx.post(
        url + "/batch/",
        json={"api_key": KEY, "batch": [identify("a@x", "anon-a"), identify("b@x", "anon-b")]},
    )
    ws = window.workspace
    qtbot.waitUntil(lambda: len(ws.sandbox.persons.persons) == 2, timeout=10000)
    qtbot.waitUntil(lambda: ws.compose.persons is ws.sandbox.persons, timeout=5000)
    form = ws.form
    form.set_kind(PayloadKind.ALIAS)
    form.distinct_id.setText("b@x")
    form.alias.setText("a@x")
    ws.compose.update_preview()
    refused = [f for f in ws.compose.last_findings if f.code.startswith("persons.")]
    assert codes(refused) == ["persons.cannot_merge_already_identified"]
    assert "will be refused: both persons are already identified" in refused[0].message
    # Merging dangerously would go through: said as a prediction, and the send is allowed.
    form.merge.setChecked(True)
    ws.compose.update_preview()
    said = [f for f in ws.compose.last_findings if f.code.startswith("persons.")]
    assert codes(said) == ["persons.prediction"]
    assert said[0].message.startswith("Will merge the person of `a@x` into `b@x`")
    # Against another target, the prediction starts from an empty project.
    ws._on_target_changed(False)
    form.merge.setChecked(False)
    ws.compose.update_preview()
    assert "persons.cannot_merge_already_identified" not in codes(ws.compose.last_findings)


def test_a_batch_is_predicted_in_order_off_the_gui_thread(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_for_sandbox(qtbot, window)
    import composer.ui.batch.persons as batch_persons

    threads: list[threading.Thread] = []
    real = batch_persons.predict_persons

    def recording(*args, **kwargs) -> None:
        threads.append(threading.current_thread())
        real(*args, **kwargs)

    monkeypatch.setattr(batch_persons, "predict_persons", recording)
    batch = window.workspace.batch
    filler = [{"event": "page", "distinct_id": f"u{i}"} for i in range(30)]
    for event in [
        identify("a@x", "anon-a"),
        *filler[:10],
        {"event": "$create_alias", "distinct_id": "b@x", "properties": {"alias": "anon-b"}},
        *filler[10:],
        identify("b@x", "a@x"),  # a@x's person is identified by row 1: refused
    ]:
        batch.add_event(event)
    qtbot.waitUntil(lambda: batch.persons.idle and bool(threads), timeout=10000)
    rows = batch.model.rows
    assert codes(rows[-1].persons) == ["persons.cannot_merge_already_identified"]
    assert codes(rows[11].persons) == ["persons.prediction"]  # the alias links b@x and anon-b
    assert all(not row.persons for row in rows[1:11])  # plain events say nothing
    assert not rows[-1].blocked  # PostHog accepts it: never held back
    assert all(t is not threading.main_thread() for t in threads)
