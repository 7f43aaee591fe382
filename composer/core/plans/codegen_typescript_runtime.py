"""The part of a generated TypeScript module that is the same for every plan: the client
interfaces, `forNode`, PlanViolation, debug mode's checker and `_send`, which every event function
calls; and the table of each event's rules that the checker reads.

The checker restates the plan checker's rules (composer.core.plans.check) in plain TypeScript,
so that a generated module needs no package besides the PostHog SDK it is given.
"""

from __future__ import annotations

from composer.core.plans.codegen_common import EventCode, string_literal
from composer.core.plans.codegen_typescript_types import property_key, ts_literal
from composer.core.plans.model import PropertySpec

RUNTIME = r"""
/** What the event functions call: posthog-js's `capture(event, properties)`. */
export interface PostHogClient {
  capture(event: string, properties?: Record<string, unknown> | null): unknown
}

/** posthog-node's client, whose `capture` takes `{ distinctId, event, properties }`. */
export interface PostHogNodeClient {
  capture(message: {
    distinctId: string
    event: string
    properties?: Record<string, unknown>
  }): void
}

/** A posthog-node client bound to one distinct ID, for the event functions. */
export function forNode(client: PostHogNodeClient, distinctId: string): PostHogClient {
  return {
    capture(event: string, properties?: Record<string, unknown> | null): void {
      client.capture({ distinctId, event, properties: properties ?? {} })
    },
  }
}

/** Debug mode refused a call: the event would break the tracking plan. */
export class PlanViolation extends Error {
  readonly event: string
  readonly problems: readonly string[]

  constructor(event: string, problems: readonly string[]) {
    super(`${event}: ${problems.join("; ")}`)
    this.name = "PlanViolation"
    this.event = event
    this.problems = problems
  }
}

let _debug = false

/** Check every call against the plan's rules (for development and tests). */
export function setDebug(on: boolean = true): void {
  _debug = on
}

interface _Rule {
  readonly required?: boolean
  readonly types?: readonly string[]
  readonly enum?: readonly unknown[]
  readonly pattern?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly min_length?: number
  readonly max_length?: number
}

interface _Event {
  readonly closed: boolean
  readonly properties: Readonly<Record<string, _Rule>>
  readonly $set: Readonly<Record<string, _Rule>>
  readonly $set_once: Readonly<Record<string, _Rule>>
}

// The date-time forms the plan accepts (RFC 3339, a space for the T, no time zone).
const _DATETIME = new RegExp(
  "^(\\d{4})-(\\d{2})-(\\d{2})[Tt ](\\d{2}):(\\d{2})(?::(\\d{2})(\\.\\d+)?)?" +
    "\\s*([Zz]|UTC|[+-]\\d{2}(?::?\\d{2})?)?$",
)
const _DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const _RESERVED = ["distinct_id", "token"]
const _patterns = new Map<string, RegExp | null>()

function _isDatetime(value: string): boolean {
  const match = _DATETIME.exec(value.trim())
  if (match === null) return false
  const part = (index: number): number => Number(match[index] ?? "0")
  const [year, month, day] = [part(1), part(2), part(3)]
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const days = month === 2 && leap ? 29 : (_DAYS[month - 1] ?? 0)
  return year >= 1 && day >= 1 && day <= days && part(4) < 24 && part(5) < 60 && part(6) < 60
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function _matches(value: unknown, kind: string): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string"
    case "number":
      return typeof value === "number"
    case "integer":
      return typeof value === "number" && Number.isInteger(value)
    case "boolean":
      return typeof value === "boolean"
    case "date-time":
      return typeof value === "string" && _isDatetime(value)
    case "object":
      return _isObject(value)
    case "array":
      return Array.isArray(value)
    default:
      return value === null
  }
}

function _same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => _same(item, b[index]))
  }
  if (_isObject(a) && _isObject(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && _same(a[k], b[k]))
  }
  return a === b
}

function _regex(pattern: string): RegExp | null {
  let found = _patterns.get(pattern)
  if (found === undefined) {
    // The plan's patterns are Python's; the few that JavaScript reads differently are not
    // checked here (`event-composer validate` checks them).
    try {
      found = new RegExp(pattern, "u")
    } catch {
      try {
        found = new RegExp(pattern)
      } catch {
        found = null
      }
    }
    _patterns.set(pattern, found)
  }
  return found
}

function _show(value: unknown): string {
  return JSON.stringify(value) ?? String(value)
}

function _valueProblems(name: string, value: unknown, rule: _Rule): string[] {
  const types = rule.types ?? []
  if (types.length > 0 && !types.some((kind) => _matches(value, kind))) {
    return [`${name} is ${_show(value)}; the plan says ${types.join(" or ")}`]
  }
  const problems: string[] = []
  if (rule.enum !== undefined && !rule.enum.some((allowed) => _same(value, allowed))) {
    problems.push(`${name} is ${_show(value)}; the plan allows only ${_show(rule.enum)}`)
  }
  if (rule.pattern !== undefined && typeof value === "string") {
    const regex = _regex(rule.pattern)
    if (regex !== null && !regex.test(value)) {
      problems.push(`${name} is ${_show(value)}, which does not match ${rule.pattern}`)
    }
  }
  if (typeof value === "number") {
    if (rule.minimum !== undefined && value < rule.minimum) {
      problems.push(`${name} is ${value}; the plan says at least ${rule.minimum}`)
    }
    if (rule.maximum !== undefined && value > rule.maximum) {
      problems.push(`${name} is ${value}; the plan says at most ${rule.maximum}`)
    }
  }
  if (typeof value === "string" || Array.isArray(value)) {
    // Python counts a string's code points, as the plan checker does.
    const length = typeof value === "string" ? [...value].length : value.length
    if (rule.min_length !== undefined && length < rule.min_length) {
      problems.push(`${name} is shorter than ${rule.min_length}`)
    }
    if (rule.max_length !== undefined && length > rule.max_length) {
      problems.push(`${name} is longer than ${rule.max_length}`)
    }
  }
  return problems
}

function _groupProblems(
  where: string,
  values: Record<string, unknown>,
  rules: Readonly<Record<string, _Rule>>,
): string[] {
  const problems: string[] = []
  for (const [name, rule] of Object.entries(rules)) {
    if (name in values) {
      problems.push(..._valueProblems(where + name, values[name], rule))
    } else if (rule.required === true) {
      problems.push(`${where}${name} is required`)
    }
  }
  return problems
}

function _problems(plan: _Event, properties: Record<string, unknown>): string[] {
  const problems = _groupProblems("", properties, plan.properties)
  for (const key of ["$set", "$set_once"] as const) {
    const person = properties[key]
    if (Object.keys(plan[key]).length > 0 || person !== undefined) {
      problems.push(..._groupProblems(`${key}.`, _isObject(person) ? person : {}, plan[key]))
    }
  }
  if (plan.closed) {
    for (const key of Object.keys(properties)) {
      if (!(key in plan.properties) && !_RESERVED.includes(key) && !key.startsWith("$")) {
        problems.push(`${key} is not a planned property`)
      }
    }
  }
  return problems
}

function _json(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value
}

function _send(
  client: PostHogClient,
  event: string,
  given: object,
  extra?: Record<string, unknown>,
): void {
  const properties: Record<string, unknown> = { ...extra }
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue
    if ((key === "$set" || key === "$set_once") && _isObject(value)) {
      const person: Record<string, unknown> = {}
      for (const [name, item] of Object.entries(value)) {
        if (item !== undefined) person[name] = _json(item)
      }
      properties[key] = person
    } else {
      properties[key] = _json(value)
    }
  }
  const plan = _PLAN[event]
  if (_debug && plan !== undefined) {
    const problems = _problems(plan, properties)
    if (problems.length > 0) throw new PlanViolation(event, problems)
  }
  client.capture(event, properties)
}
"""


def js_pattern(pattern: str) -> str:
    """A Python regex in JavaScript's syntax where the two differ only in spelling: named
    groups, their back-references, and the start and end of the text."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append({"A": "^", "Z": "$"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if pattern.startswith("(?P<", i):
            out.append("(?<")
            i += 4
            continue
        if pattern.startswith("(?P=", i):
            end = pattern.find(")", i)
            if end > 0:
                out.append(f"\\k<{pattern[i + 4 : end]}>")
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _rule(spec: PropertySpec) -> str:
    parts: list[str] = []
    if spec.required:
        parts.append("required: true")
    if spec.types:
        parts.append(f"types: [{', '.join(ts_literal(t.value) for t in spec.types)}]")
    if spec.enum is not None:
        parts.append(f"enum: [{', '.join(ts_literal(v) for v in spec.enum)}]")
    if spec.pattern is not None:
        parts.append(f"pattern: {ts_literal(js_pattern(spec.pattern.pattern))}")
    for key in ("minimum", "maximum", "min_length", "max_length"):
        value = getattr(spec, key)
        if value is not None:
            parts.append(f"{key}: {ts_literal(value)}")
    return "{ " + ", ".join(parts) + " }" if parts else "{}"


def rules_table(events: list[EventCode]) -> list[str]:
    """`_PLAN`, which RUNTIME's checker reads: it follows RUNTIME in the module."""
    lines = [
        "// What debug mode checks: each planned event's rules, as the plan says them.",
        "const _PLAN: Readonly<Record<string, _Event>> = {",
    ]
    for event in events:
        lines.append(f"  {string_literal(event.name, 'typescript')}: {{")
        lines.append(f"    closed: {'false' if event.allow_unknown else 'true'},")
        for field, specs in (
            ("properties", event.properties),
            ("$set", event.set),
            ("$set_once", event.set_once),
        ):
            if not specs:
                lines.append(f"    {field}: {{}},")
                continue
            lines.append(f"    {field}: {{")
            for spec in specs:
                lines.append(f"      {property_key(spec.name)}: {_rule(spec)},")
            lines.append("    },")
        lines.append("  },")
    lines.append("}")
    return lines
