"""The active tracking plan: where it lives (beside the templates, unless chosen elsewhere),
reading it, and writing a learned one without ever replacing a plan the user wrote."""

from __future__ import annotations

from pathlib import Path

from composer.core.plans.model import FILE_NAMES, Plan, PlanProblem
from composer.core.plans.reader import parse_plan
from composer.files import free_path, write_atomic
from composer.resources import resource


def example_plan_path() -> Path:
    return resource("plans", "example-tracking-plan.yaml")


def find_plan_file(folder: Path) -> Path | None:
    """tracking-plan.yaml (or .yml, .json) in the folder, if there is one."""
    for name in FILE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_plan(path: Path) -> Plan:
    """Read a plan file; an unreadable file is a plan with one problem, never an exception."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return _broken(path, "the plan file does not exist.", "Check the path.")
    except UnicodeDecodeError:
        return _broken(path, "the plan file is not UTF-8 text.", "Save it as UTF-8.")
    except OSError as exc:
        return _broken(path, f"the plan file cannot be read ({exc.strerror}).", "")
    return parse_plan(text, str(path))


def _broken(path: Path, message: str, fix: str) -> Plan:
    plan = Plan(source=str(path))
    plan.problems.append(PlanProblem(str(path), None, message, fix))
    return plan


def write_new_plan(path: Path, text: str) -> Path:
    """Write a plan to `path`, or beside it as name-2.yaml ... when `path` is taken."""
    candidate = free_path(path)
    write_atomic(candidate, text.encode(), 0o644)
    return candidate
