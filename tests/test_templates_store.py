"""Template documents, the templates folder, drafts and settings: real files in a temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from composer import settings
from composer.core.templates import document as tpl
from composer.core.templates.document import Template, TemplateError, TemplateType
from composer.services.drafts import DraftRow, DraftStore
from composer.services.templates import (
    EXAMPLES,
    ConflictError,
    ReadOnlyError,
    TemplateStore,
    starters_dir,
)

KEY = "phc_test_template_secret_key_0123456789"


def event_template(name: str = "Plan upgraded") -> Template:
    return Template(
        name,
        events=[
            {
                "event": "plan_upgraded",
                "distinct_id": "{{user}}",
                "properties": {"plan": "team", "seats": "{{seats}}"},
            }
        ],
    )


def test_a_template_file_is_stable_readable_json_without_the_key(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    template = event_template()
    template.events[0]["api_key"] = KEY  # as pasted from the tutorial
    entry = store.save_new(template, "onboarding", secrets=(KEY,))
    assert entry.path == tmp_path / "onboarding" / "plan-upgraded.json"
    text = entry.path.read_text()
    assert KEY not in text
    assert text == (
        "{\n"
        '  "schema_version": 1,\n'
        '  "name": "Plan upgraded",\n'
        '  "description": "",\n'
        '  "type": "payload",\n'
        '  "endpoint": "/i/v0/e/",\n'
        '  "event": {\n'
        '    "event": "plan_upgraded",\n'
        '    "distinct_id": "{{user}}",\n'
        '    "properties": {\n'
        '      "plan": "team",\n'
        '      "seats": "{{seats}}"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )
    # Saving the same template again changes no byte: diffs stay empty.
    loaded, fresh = store.load(entry)
    again = store.save_over(fresh, loaded)
    assert entry.path.read_text() == text
    assert again.fingerprint == fresh.fingerprint


def test_a_key_anywhere_in_a_template_is_refused(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    template = event_template()
    template.events[0]["properties"]["note"] = f"sent with {KEY}"
    with pytest.raises(tpl.SecretInTemplateError, match=r"properties\.note"):
        store.save_new(template, secrets=(KEY,))
    # Shaped like a key, even when it is not the current one.
    other = event_template()
    other.events[0]["properties"]["k"] = "phc_" + "x" * 40
    with pytest.raises(tpl.SecretInTemplateError):
        store.save_new(other)
    assert list(tmp_path.rglob("*.json")) == []


def test_a_second_store_on_the_same_folder_loads_what_the_first_saved(tmp_path: Path) -> None:
    first = TemplateStore(tmp_path, with_starters=False)
    saved = first.save_new(
        Template("Signup batch", TemplateType.BATCH, [{"event": "a"}, {"event": "b"}], "/batch/")
    )
    second = TemplateStore(tmp_path, with_starters=False)
    [entry] = second.entries()
    assert (entry.name, entry.type, entry.events, entry.path) == (
        "Signup batch",
        TemplateType.BATCH,
        2,
        saved.path,
    )
    template, _ = second.load(entry)
    assert template.events == [{"event": "a"}, {"event": "b"}]
    assert template.endpoint == "/batch/"


def test_names_never_collide_and_rename_duplicate_delete(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    one = store.save_new(event_template("Same"))
    two = store.save_new(event_template("Same"))
    assert (one.path.name, two.path.name) == ("same.json", "same-2.json")
    renamed = store.rename(two, "Checkout started")
    assert renamed.path.name == "checkout-started.json"
    assert not two.path.exists()
    assert store.load(renamed)[0].name == "Checkout started"
    copy = store.duplicate(renamed)
    assert copy.name == "Checkout started copy"
    store.delete(copy)
    assert sorted(e.name for e in store.entries()) == ["Checkout started", "Same"]
    with pytest.raises(TemplateError, match="cannot contain"):
        store.rename(one, "a/b")


def test_an_overwrite_of_a_changed_file_is_a_conflict(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    entry = store.save_new(event_template())
    _, mine = store.load(entry)
    _, theirs = store.load(entry)
    changed = event_template()
    changed.description = "theirs"
    store.save_over(theirs, changed)
    with pytest.raises(ConflictError, match="changed on disk"):
        store.save_over(mine, event_template())
    assert store.load(entry)[0].description == "theirs"  # nothing of theirs was lost


def test_corrupt_and_newer_files_are_listed_and_never_written(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"schema_version": 1, "name": ')
    newer = tmp_path / "newer.json"
    newer_bytes = b'{"schema_version": 7, "name": "From the future", "shiny": true}\n'
    newer.write_bytes(newer_bytes)
    entries = {e.path.name: e for e in store.entries()}
    assert "Not valid JSON" in entries["broken.json"].error
    assert "newer composer" in entries["newer.json"].error
    with pytest.raises(TemplateError):
        store.rename(entries["newer.json"], "x")
    with pytest.raises(TemplateError):
        store.load(entries["broken.json"])
    assert newer.read_bytes() == newer_bytes
    assert broken.read_bytes() == b'{"schema_version": 1, "name": '


def test_a_plain_posthog_body_migrates_from_version_0(tmp_path: Path) -> None:
    body = {"api_key": KEY, "batch": [{"event": "x", "distinct_id": "u"}]}
    (tmp_path / "legacy.json").write_bytes(orjson.dumps(body))
    store = TemplateStore(tmp_path, with_starters=False)
    [entry] = store.entries()
    template, _ = store.load(entry)
    assert (template.name, template.type, template.endpoint) == (
        "legacy",
        TemplateType.BATCH,
        "/batch/",
    )
    assert template.events == [{"event": "x", "distinct_id": "u"}]  # the key is gone


def test_starters_ship_with_the_tutorial_examples(tmp_path: Path) -> None:
    assert starters_dir() is not None
    store = TemplateStore(tmp_path)
    starters = {e.name: e for e in store.entries() if e.builtin}
    assert {
        "Basic event",
        "Event with properties and timestamp",
        "Batch of two events",
        "Identify",
        "Alias",
    } <= set(starters)
    assert all(e.folder == EXAMPLES and not e.error for e in starters.values())
    identify, _ = store.load(starters["Identify"])
    assert identify.event["$set"] == {"email": "ian@posthog.com", "is_cool": True}
    with pytest.raises(ReadOnlyError):
        store.delete(starters["Alias"])
    copy = store.duplicate(starters["Alias"])
    assert copy.path.parent == tmp_path
    assert not copy.builtin


def test_find_by_name_path_or_file(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    entry = store.save_new(event_template("Plan upgraded"), "billing")
    assert store.find("plan upgraded").path == entry.path
    assert store.find("billing/plan-upgraded").path == entry.path
    assert store.find(str(entry.path)).path == entry.path
    with pytest.raises(TemplateError, match="No template named"):
        store.find("nothing")


def test_variables_merge_and_refuse_keys(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path, with_starters=False)
    other_window = TemplateStore(tmp_path, with_starters=False)
    store.update_variables({"user": "u-1"})
    other_window.update_variables({"seats": 5})
    assert store.variables() == {"user": "u-1", "seats": 5}
    store.update_variables({}, removed=("user",))
    assert other_window.variables() == {"seats": 5}
    with pytest.raises(TemplateError, match="holds a PostHog key"):
        store.update_variables({"key": "phc_" + "A1" * 20})  # shaped like a key
    with pytest.raises(TemplateError, match=r"nested\.k holds a PostHog key"):
        store.update_variables(
            {"nested": {"k": "plain-looking-secret"}}, secrets=("plain-looking-secret",)
        )
    assert KEY not in store.variables_path.read_text()
    # The variables file, and a tracking plan written as JSON, are not templates.
    (tmp_path / "tracking-plan.json").write_text('{"version": 1, "events": {}}')
    assert store.entries() == []


_WRITER = """
import sys
from pathlib import Path
from composer.core.templates.document import Template
from composer.services.templates import TemplateStore
store = TemplateStore(Path(sys.argv[1]), with_starters=False)
who = sys.argv[2]
for i in range(25):
    store.save_new(Template("Shared name", events=[{"event": f"{who}-{i}"}]))
    store.update_variables({f"{who}_{i}": i})
"""


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    env = dict(os.environ)
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), who], env=env)
        for who in ("a", "b")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    store = TemplateStore(tmp_path, with_starters=False)
    entries = store.entries()
    assert len(entries) == 50
    names = {store.load(e)[0].event["event"] for e in entries}
    assert names == {f"{who}-{i}" for who in "ab" for i in range(25)}
    assert len(store.variables()) == 50


def test_drafts_round_trip_mask_keys_and_keep_damaged_files(tmp_path: Path) -> None:
    drafts = DraftStore(tmp_path / "drafts")
    drafts.save_composition({"event": {"event": "e", "note": KEY}}, secrets=(KEY,))
    drafts.save_batch(
        [DraftRow({"event": "a"}, "sent", "200"), DraftRow({"event": "b"})], secrets=(KEY,)
    )
    restored = drafts.load()
    assert restored.composition is not None
    assert restored.composition["event"]["event"] == "e"
    assert KEY not in drafts.composition_path.read_text()
    assert [r.event["event"] for r in restored.rows] == ["a", "b"]
    assert restored.rows[0].status == "sent"
    # A batch cut short (a kill between writes cannot do this, a full disk can) is kept aside.
    drafts.batch_path.write_bytes(drafts.batch_path.read_bytes()[:-20])
    again = drafts.load()
    assert again.rows == []
    assert "damaged" in again.notes[0]
    assert list((tmp_path / "drafts").glob("batch.jsonl.corrupt-*"))


def test_settings_pick_the_templates_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPOSER_TEMPLATES_DIR", raising=False)
    assert settings.templates_dir() == settings.default_templates_dir()
    settings.save(settings.Settings(templates_dir=str(tmp_path / "repo"), history_days=7))
    assert settings.templates_dir() == tmp_path / "repo"
    assert settings.load().settings.history_days == 7
    # One window changing one setting keeps what another window set.
    settings.update(plan_file="plan.yaml")
    both = settings.load().settings
    assert (both.plan_file, both.history_days) == ("plan.yaml", 7)
    monkeypatch.setenv("COMPOSER_TEMPLATES_DIR", str(tmp_path / "ci"))
    assert settings.templates_dir() == tmp_path / "ci"
    settings.settings_path().write_text("{nope")
    loaded = settings.load()
    assert loaded.settings == settings.Settings()
    assert "damaged" in loaded.note
