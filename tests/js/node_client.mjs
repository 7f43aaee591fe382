#!/usr/bin/env node
// Runs the real posthog-node SDK against a PostHog host (the sandbox) and reports what happened.
//
// usage: node node_client.mjs '<scenario JSON>'      or      node node_client.mjs < scenario.json
//
// Scenario:
//   {
//     "host": "http://127.0.0.1:8787",          required; only loopback hosts are accepted
//     "key": "phc_...",                          required
//     "personalApiKey": "phx_...",               optional: turns on local flag evaluation
//     "options": { ... },                        optional: more PostHog(...) options
//     "captureMode": "v0" | "v1",                optional: sets POSTHOG_CAPTURE_MODE for the SDK
//     "debug": false,                            optional: client.debug(true)
//     "actionTimeoutMs": 15000,                  optional: per action
//     "end": "shutdown" | "flush" | "none",      optional, default "shutdown"
//     "shutdownTimeoutMs": 10000,                optional
//     "actions": [
//       {"type": "capture", "distinctId": "u1", "event": "e", "properties": {}, "groups": {},
//        "uuid": "...", "sendFeatureFlags": false},
//       {"type": "identify", "distinctId": "u1", "properties": {"$set": {}}},
//       {"type": "alias", "distinctId": "u1", "alias": "anon-1"},
//       {"type": "groupIdentify", "groupType": "company", "groupKey": "acme", "properties": {}},
//       {"type": "getFeatureFlag", "key": "f", "distinctId": "u1", "options": {}},
//       {"type": "isFeatureEnabled", "key": "f", "distinctId": "u1", "options": {}},
//       {"type": "getFeatureFlagPayload", "key": "f", "distinctId": "u1", "matchValue": "v"},
//       {"type": "getAllFlags", "distinctId": "u1", "options": {}},
//       {"type": "getAllFlagsAndPayloads", "distinctId": "u1", "options": {}},
//       {"type": "evaluateFlags", "distinctId": "u1", "options": {}},
//       {"type": "reloadFeatureFlags"},
//       {"type": "flush"},
//       {"type": "wait", "ms": 100}
//     ]
//   }
//
// Prints exactly one JSON object on stdout (everything the SDK logs goes to the result, and is
// echoed on stderr), and exits 0 whatever the SDK did; exit 2 means the scenario itself was bad.
// The result: {ok, sdk, node, results[], requests[], console[], errors[], warnings[], ...}.
// `requests` comes from a recording wrapper around fetch, which the SDK is given through its
// `fetch` option: every request it made, with method, URL, status, headers and body encoding.

import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

const HERE = dirname(fileURLToPath(import.meta.url))
const started = Date.now()
const result = {
  ok: false,
  sdk: { name: 'posthog-node', version: null },
  node: process.version,
  results: [],
  requests: [],
  console: [],
  errors: [],
  warnings: [],
  sdkErrors: [],
  blocked: [],
  harnessError: null,
  durationMs: null,
}

let printed = false
const secrets = [] // the project and personal keys: never printed
function finish(code = 0) {
  if (printed) return
  printed = true
  result.durationMs = Date.now() - started
  let out = JSON.stringify(result)
  for (const secret of secrets) out = out.split(secret).join('<key>')
  process.stdout.write(out + '\n', () => process.exit(code))
}

function text(value) {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

// -- console: recorded, echoed on stderr, never on stdout (stdout carries the result only) ------
for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[level] = (...args) => {
    const line = args.map(text).join(' ')
    const entry = { level, text: line, atMs: Date.now() - started }
    result.console.push(entry)
    if (level === 'error' || level === 'trace') result.errors.push(line)
    if (level === 'warn') result.warnings.push(line)
    process.stderr.write(`[${level}] ${line}\n`)
  }
}
process.on('warning', (warning) => {
  result.warnings.push(`process warning: ${text(warning)}`)
})
process.on('unhandledRejection', (reason) => {
  result.errors.push(`unhandled rejection: ${text(reason)}`)
})
process.on('uncaughtException', (error) => {
  result.errors.push(`uncaught exception: ${text(error)}`)
})

function readScenario() {
  const raw = process.argv[2] ?? readFileSync(0, 'utf8')
  const scenario = JSON.parse(raw)
  if (!scenario || typeof scenario !== 'object') throw new Error('the scenario must be an object')
  for (const field of ['host', 'key']) {
    if (typeof scenario[field] !== 'string' || !scenario[field]) {
      throw new Error(`the scenario needs "${field}"`)
    }
  }
  if (!isLoopback(scenario.host)) {
    throw new Error(`host must be on this machine (127.0.0.1/localhost/[::1]): ${scenario.host}`)
  }
  return scenario
}

function isLoopback(url) {
  try {
    const { hostname } = new URL(url)
    return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
  } catch {
    return false
  }
}

// -- the recording fetch -----------------------------------------------------------------------
const NOTABLE_RESPONSE_HEADERS = ['content-type', 'content-encoding', 'retry-after', 'x-posthog-sandbox']

async function bodyBytes(body) {
  if (body == null) return null
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (body instanceof Uint8Array) return Buffer.from(body)
  if (body instanceof ArrayBuffer) return Buffer.from(new Uint8Array(body))
  if (typeof Blob !== 'undefined' && body instanceof Blob) return Buffer.from(await body.arrayBuffer())
  return null
}

function summariseBody(bytes) {
  // What the body carried, for the report: its encoding and, for capture payloads, event names.
  if (!bytes) return { bodyBytes: 0, gzip: false, events: null }
  const gzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b
  let events = null
  let keys = null
  try {
    const decoded = JSON.parse((gzip ? gunzipSync(bytes) : bytes).toString('utf8'))
    if (decoded && typeof decoded === 'object' && !Array.isArray(decoded)) {
      keys = Object.keys(decoded).sort()
      const batch = Array.isArray(decoded.batch) ? decoded.batch : null
      if (batch) events = batch.map((e) => e && e.event)
    } else if (Array.isArray(decoded)) {
      events = decoded.map((e) => e && e.event)
    }
  } catch {
    // not JSON: the report keeps its size and encoding only
  }
  return { bodyBytes: bytes.length, gzip, events, bodyKeys: keys }
}

function headerObject(headers) {
  if (!headers) return {}
  if (typeof headers.entries === 'function') return Object.fromEntries(headers.entries())
  return { ...headers }
}

function redactKey(value, scenario) {
  let out = String(value)
  for (const secret of [scenario.key, scenario.personalApiKey]) {
    if (secret) out = out.split(secret).join('<key>')
  }
  return out
}

function recordingFetch(scenario) {
  return async (url, options = {}) => {
    const parsed = new URL(url)
    const method = (options.method || 'GET').toUpperCase()
    const requestHeaders = headerObject(options.headers)
    if (requestHeaders.Authorization || requestHeaders.authorization) {
      for (const name of ['Authorization', 'authorization']) {
        if (requestHeaders[name]) requestHeaders[name] = requestHeaders[name].replace(/\s.*$/, ' <redacted>')
      }
    }
    const entry = {
      method,
      url: redactKey(parsed.href, scenario),
      path: redactKey(parsed.pathname, scenario),
      query: redactKey(parsed.search.replace(/^\?/, ''), scenario),
      compressionParam: parsed.searchParams.get('compression'),
      requestHeaders,
      ...summariseBody(await bodyBytes(options.body)),
      status: null,
      responseHeaders: {},
      responseBody: null,
      error: null,
      atMs: Date.now() - started,
      ms: null,
    }
    result.requests.push(entry)
    const t0 = Date.now()
    if (!isLoopback(parsed.href)) {
      // Nothing may leave this machine: the SDK sees a network error instead.
      entry.error = 'blocked: not a loopback address'
      result.blocked.push(entry.url)
      entry.ms = 0
      throw new TypeError('fetch failed (blocked by the test harness: not loopback)')
    }
    try {
      const response = await fetch(url, options)
      entry.status = response.status
      for (const name of NOTABLE_RESPONSE_HEADERS) {
        const value = response.headers.get(name)
        if (value != null) entry.responseHeaders[name] = value
      }
      try {
        entry.responseBody = redactKey((await response.clone().text()).slice(0, 500), scenario)
      } catch (error) {
        entry.responseBody = `<unreadable: ${text(error)}>`
      }
      entry.ms = Date.now() - t0
      return response
    } catch (error) {
      entry.error = text(error)
      entry.ms = Date.now() - t0
      throw error
    }
  }
}

// -- actions -------------------------------------------------------------------------------------
function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer))
}

function serialisable(value) {
  if (value === undefined) return { undefined: true }
  if (value instanceof Map) return Object.fromEntries(value)
  if (value && typeof value === 'object' && typeof value.toJSON !== 'function') {
    // FeatureFlagEvaluations and similar objects: keep what JSON can hold.
    try {
      return JSON.parse(JSON.stringify(value))
    } catch {
      return String(value)
    }
  }
  return value
}

async function runAction(client, action) {
  const a = action
  switch (a.type) {
    case 'capture':
      return client.capture({
        distinctId: a.distinctId,
        event: a.event,
        properties: a.properties,
        groups: a.groups,
        uuid: a.uuid,
        sendFeatureFlags: a.sendFeatureFlags,
        timestamp: a.timestamp ? new Date(a.timestamp) : undefined,
      })
    case 'captureImmediate':
      return client.captureImmediate({
        distinctId: a.distinctId,
        event: a.event,
        properties: a.properties,
        groups: a.groups,
        uuid: a.uuid,
      })
    case 'identify':
      return client.identify({ distinctId: a.distinctId, properties: a.properties })
    case 'alias':
      return client.alias({ distinctId: a.distinctId, alias: a.alias })
    case 'groupIdentify':
      return client.groupIdentify({
        groupType: a.groupType,
        groupKey: a.groupKey,
        properties: a.properties,
        distinctId: a.distinctId,
      })
    case 'getFeatureFlag':
      return client.getFeatureFlag(a.key, a.distinctId, a.options)
    case 'isFeatureEnabled':
      return client.isFeatureEnabled(a.key, a.distinctId, a.options)
    case 'getFeatureFlagPayload':
      return client.getFeatureFlagPayload(a.key, a.distinctId, a.matchValue, a.options)
    case 'getAllFlags':
      return client.getAllFlags(a.distinctId, a.options)
    case 'getAllFlagsAndPayloads':
      return client.getAllFlagsAndPayloads(a.distinctId, a.options)
    case 'evaluateFlags':
      return client.evaluateFlags(a.distinctId, a.options)
    case 'reloadFeatureFlags':
      return client.reloadFeatureFlags()
    case 'flush':
      return client.flush()
    case 'wait':
      return new Promise((resolve) => setTimeout(resolve, a.ms ?? 100))
    default:
      throw new Error(`unknown action type ${JSON.stringify(a.type)}`)
  }
}

async function main() {
  let scenario
  try {
    scenario = readScenario()
  } catch (error) {
    result.harnessError = `bad scenario: ${text(error)}`
    finish(2)
    return
  }
  secrets.push(...[scenario.key, scenario.personalApiKey].filter(Boolean))
  const hardLimit = scenario.timeoutMs ?? 60000
  setTimeout(() => {
    result.harnessError = `the scenario did not finish within ${hardLimit} ms`
    finish(0)
  }, hardLimit).unref()

  if (scenario.captureMode) process.env.POSTHOG_CAPTURE_MODE = scenario.captureMode
  const pkg = JSON.parse(readFileSync(join(HERE, 'node_modules/posthog-node/package.json'), 'utf8'))
  result.sdk.version = pkg.version
  const { PostHog } = await import('posthog-node')

  const options = {
    host: scenario.host,
    fetch: recordingFetch(scenario),
    ...(scenario.personalApiKey ? { personalApiKey: scenario.personalApiKey } : {}),
    ...(scenario.options || {}),
  }
  let client
  try {
    client = new PostHog(scenario.key, options)
  } catch (error) {
    result.harnessError = `new PostHog(...) threw: ${text(error)}`
    finish(0)
    return
  }
  client.on('error', (error) => {
    result.sdkErrors.push(text(error))
  })
  if (scenario.debug) client.debug(true)

  const actionTimeout = scenario.actionTimeoutMs ?? 15000
  for (const [index, action] of (scenario.actions || []).entries()) {
    const t0 = Date.now()
    const entry = { index, type: action.type, key: action.key ?? null, value: null, error: null }
    try {
      entry.value = serialisable(await withTimeout(runAction(client, action), actionTimeout, action.type))
    } catch (error) {
      entry.error = text(error)
    }
    entry.ms = Date.now() - t0
    result.results.push(entry)
  }

  const end = scenario.end ?? 'shutdown'
  const endTimeout = scenario.shutdownTimeoutMs ?? 10000
  const t0 = Date.now()
  try {
    if (end === 'shutdown') await withTimeout(client.shutdown(endTimeout), endTimeout + 2000, 'shutdown')
    else if (end === 'flush') await withTimeout(client.flush(), endTimeout, 'flush')
    result.end = { type: end, ms: Date.now() - t0, error: null }
  } catch (error) {
    result.end = { type: end, ms: Date.now() - t0, error: text(error) }
  }
  result.ok = result.harnessError === null
  finish(0)
}

main().catch((error) => {
  result.harnessError = `harness failure: ${text(error)}`
  finish(0)
})
