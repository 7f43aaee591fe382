#!/usr/bin/env node
// Runs the real posthog-js SDK in Debian's Chromium (through playwright-core) against a PostHog
// host (the sandbox) and reports every request the page made and every console message.
//
// usage: node browser_client.mjs '<scenario JSON>'      or      node browser_client.mjs < scenario.json
//
// Scenario:
//   {
//     "host": "http://127.0.0.1:8787",       required: posthog.init's api_host; loopback only
//     "key": "phc_...",                       required
//     "config": { ... },                      optional: more posthog.init options (JSON only)
//     "bundle": "array.full.js",              optional: which posthog-js dist file the page loads
//     "pageUrl": "http://127.0.0.1:9/x.html", optional: a page served by someone else (loopback;
//                                             it must load posthog-js itself); default: the
//                                             script serves its own page on a free port
//     "flushWaitMs": 4000,                    optional: time after the last action for the SDK's
//                                             batch timer (3 s by default in posthog-js) to fire
//     "quietMs": 750,                         optional: then wait until no request ran for this long
//     "settleTimeoutMs": 15000,               optional: ...but no longer than this
//     "leavePage": false,                     optional: navigate away at the end ($pageleave)
//     "init": true,                           optional: false leaves posthog.init to an "eval"
//                                             action (code that initialises posthog itself)
//     "chromium": "/usr/bin/chromium",        optional (or COMPOSER_CHROMIUM in the environment)
//     "actions": [
//       {"type": "capture", "event": "e", "properties": {}},
//       {"type": "identify", "distinctId": "u1", "properties": {}, "propertiesOnce": {}},
//       {"type": "alias", "alias": "a1"},
//       {"type": "group", "groupType": "company", "groupKey": "acme", "properties": {}},
//       {"type": "click", "selector": "#buy"},          a real mouse click (autocapture)
//       {"type": "getFeatureFlag", "key": "f"},
//       {"type": "isFeatureEnabled", "key": "f"},
//       {"type": "getFeatureFlagPayload", "key": "f"},
//       {"type": "featureFlags"},                        the flags and variants the SDK holds
//       {"type": "onFeatureFlags"},                      register a callback; calls are reported
//       {"type": "reloadFeatureFlags"},
//       {"type": "reset"},
//       {"type": "wait", "ms": 500},
//       {"type": "eval", "js": "posthog.get_distinct_id()"}
//     ]
//   }
//
// posthog-js batches events and sends them on a timer (request_queue_config.flush_interval_ms,
// 3000 ms by default); the harness keeps the SDK's default batching and waits for that timer
// (flushWaitMs) and then for the network to go quiet, rather than turning batching off.
//
// Prints one JSON object on stdout and exits 0 whatever the SDK did (2: a bad scenario).
// The result: {ok, sdk, browser, init, results[], flagCallbacks[], requests[], console[],
// pageErrors[], blocked[], ...}. Every request any page of the browser made is in `requests`,
// with method, URL, status, request headers, and the body's compression (`compression` in the
// query, and whether the bytes are gzip). Requests to anything but 127.0.0.1/localhost are
// aborted and listed in `blocked`: no traffic leaves the machine.
// Requests sent while a document unloads (the $pageleave beacon of `leavePage`) reach the server
// but are not reported to Playwright: read those from the server's side.

import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

const HERE = dirname(fileURLToPath(import.meta.url))
const POSTHOG_DIST = join(HERE, 'node_modules', 'posthog-js', 'dist')
const started = Date.now()

// Chromium as root in a container with no network: these flags keep it from phoning anywhere.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-default-browser-check',
  '--metrics-recording-only',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  // Name resolution for anything but localhost fails inside the browser itself.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
]

const result = {
  ok: false,
  sdk: { name: 'posthog-js', version: null, bundle: null },
  browser: null,
  pageUrl: null,
  init: null,
  results: [],
  flagCallbacks: [],
  requests: [],
  console: [],
  errors: [],
  warnings: [],
  pageErrors: [],
  blocked: [],
  harnessLog: [],
  harnessError: null,
  durationMs: null,
}

let printed = false
let secret = null // the project key: never printed, in case a caller's key is a real one
function finish(code = 0) {
  if (printed) return
  printed = true
  result.durationMs = Date.now() - started
  let out = JSON.stringify(result)
  if (secret) out = out.split(secret).join('<key>')
  process.stdout.write(out + '\n', () => process.exit(code))
}

function text(value) {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function note(message) {
  result.harnessLog.push({ atMs: Date.now() - started, message })
  process.stderr.write(`[harness] ${message}\n`)
}

function isLoopback(url) {
  try {
    const { hostname } = new URL(url)
    return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
  } catch {
    return false
  }
}

function readScenario() {
  const raw = process.argv[2] ?? readFileSync(0, 'utf8')
  const scenario = JSON.parse(raw)
  if (!scenario || typeof scenario !== 'object') throw new Error('the scenario must be an object')
  for (const field of ['host', 'key']) {
    if (typeof scenario[field] !== 'string' || !scenario[field]) {
      throw new Error(`the scenario needs "${field}"`)
    }
  }
  for (const field of ['host', 'pageUrl']) {
    if (scenario[field] && !isLoopback(scenario[field])) {
      throw new Error(`${field} must be on this machine (127.0.0.1/localhost/[::1]): ${scenario[field]}`)
    }
  }
  return scenario
}

// -- the test page, served from 127.0.0.1 -----------------------------------------------------
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Event Composer JS SDK harness</title>
<script src="/posthog-js/BUNDLE"></script>
</head>
<body>
<h1>Sandbox test page</h1>
<p>posthog-js is loaded from the project's node_modules and pointed at the local sandbox.</p>
<button id="buy" class="cta primary" data-attr="buy-button" type="button">Buy now</button>
<a id="docs" href="#docs">Read the docs</a>
</body>
</html>
`

function startPageServer(bundle) {
  const bundlePath = join(POSTHOG_DIST, bundle)
  if (!existsSync(bundlePath)) throw new Error(`no posthog-js bundle at ${bundlePath}`)
  const served = []
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname
    served.push(`${req.method} ${path}`)
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(PAGE.replace('BUNDLE', bundle))
    } else if (path.startsWith('/posthog-js/') && !path.includes('..')) {
      const file = join(POSTHOG_DIST, path.slice('/posthog-js/'.length))
      if (!existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' })
      createReadStream(file).pipe(res)
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end()
    } else {
      res.writeHead(404).end()
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({ server, url: `http://127.0.0.1:${port}/`, served })
    })
  })
}

// -- recording the network --------------------------------------------------------------------
const NOTABLE_RESPONSE_HEADERS = [
  'content-type',
  'content-encoding',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'retry-after',
  'x-posthog-sandbox',
]

function redactKey(value, scenario) {
  return scenario.key ? String(value).split(scenario.key).join('<key>') : String(value)
}

function summariseBody(buffer) {
  if (!buffer || buffer.length === 0) return { bodyBytes: 0, gzip: false, events: null, bodyKind: null }
  const gzip = buffer.length > 2 && buffer[0] === 0x1f && buffer[1] === 0x8b
  let raw = buffer
  let kind = gzip ? 'gzip' : 'raw'
  try {
    if (gzip) raw = gunzipSync(buffer)
  } catch {
    return { bodyBytes: buffer.length, gzip, events: null, bodyKind: 'gzip (undecodable)' }
  }
  let textBody = raw.toString('utf8')
  if (/^data=/.test(textBody)) {
    kind += '+form'
    const form = new URLSearchParams(textBody)
    textBody = Buffer.from(form.get('data') || '', 'base64').toString('utf8')
  }
  let events = null
  let keys = null
  try {
    const decoded = JSON.parse(textBody)
    kind += '+json'
    const list = Array.isArray(decoded)
      ? decoded
      : decoded && Array.isArray(decoded.batch)
        ? decoded.batch
        : decoded && typeof decoded.event === 'string'
          ? [decoded]
          : null
    if (list) events = list.map((e) => e && e.event)
    if (decoded && !Array.isArray(decoded) && typeof decoded === 'object') keys = Object.keys(decoded).sort()
  } catch {
    // not JSON
  }
  return { bodyBytes: buffer.length, gzip, events, bodyKind: kind, bodyKeys: keys }
}

function attachRecorder(context, scenario) {
  const entries = new Map()
  let inFlight = 0
  let lastActivity = Date.now()
  const touch = () => {
    lastActivity = Date.now()
  }

  context.on('request', async (request) => {
    touch()
    inFlight += 1
    const url = new URL(request.url())
    const entry = {
      method: request.method(),
      url: redactKey(request.url(), scenario),
      origin: url.origin,
      path: redactKey(url.pathname, scenario),
      query: redactKey(url.search.replace(/^\?/, ''), scenario),
      compressionParam: url.searchParams.get('compression'),
      resourceType: request.resourceType(),
      isSandbox: scenario.host ? url.origin === new URL(scenario.host).origin : false,
      requestHeaders: {},
      ...summariseBody(request.postDataBuffer()),
      status: null,
      responseHeaders: {},
      responseBody: null,
      failure: null,
      atMs: Date.now() - started,
      ms: null,
    }
    entries.set(request, entry)
    result.requests.push(entry)
    try {
      const headers = await request.allHeaders()
      entry.requestHeaders = Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [k, redactKey(v, scenario)]),
      )
    } catch (error) {
      entry.requestHeaders = { error: text(error) }
    }
  })
  context.on('response', async (response) => {
    touch()
    const entry = entries.get(response.request())
    if (!entry) return
    entry.status = response.status()
    let headers = {}
    try {
      headers = await response.allHeaders()
    } catch {
      headers = response.headers()
    }
    for (const name of NOTABLE_RESPONSE_HEADERS) {
      if (headers[name] != null) entry.responseHeaders[name] = headers[name]
    }
    if (entry.isSandbox) {
      try {
        entry.responseBody = redactKey((await response.text()).slice(0, 500), scenario)
      } catch {
        // a beacon or a redirect has no body to read
      }
    }
  })
  const done = (failed) => (request) => {
    touch()
    inFlight = Math.max(0, inFlight - 1)
    const entry = entries.get(request)
    if (!entry) return
    entry.ms = Date.now() - started - entry.atMs
    if (failed) entry.failure = request.failure()?.errorText ?? 'failed'
  }
  context.on('requestfinished', done(false))
  context.on('requestfailed', done(true))
  return {
    inFlight: () => inFlight,
    quietFor: () => Date.now() - lastActivity,
  }
}

// -- the page side ------------------------------------------------------------------------------
async function initPostHog(page, scenario) {
  return page.evaluate(
    ({ key, config }) =>
      new Promise((resolve) => {
        const h = (window.__harness = { flagCallbacks: [], loadedAt: null })
        if (!window.posthog || typeof window.posthog.init !== 'function') {
          resolve({ error: 'window.posthog is missing: the bundle did not initialise it' })
          return
        }
        const t0 = performance.now()
        let settled = false
        const timer = setTimeout(() => {
          if (!settled) {
            settled = true
            resolve({ error: 'posthog.init did not call `loaded` within 10 s' })
          }
        }, 10000)
        try {
          window.posthog.init(key, {
            ...config,
            loaded: (ph) => {
              h.loadedAt = performance.now() - t0
              if (!settled) {
                settled = true
                clearTimeout(timer)
                resolve({
                  error: null,
                  loadedMs: h.loadedAt,
                  version: ph.version ?? (ph.LIB_VERSION || null),
                  distinctId: ph.get_distinct_id(),
                  config: {
                    api_host: ph.config.api_host,
                    request_batching: ph.config.request_batching,
                    autocapture: ph.config.autocapture,
                    capture_pageview: ph.config.capture_pageview,
                    disable_compression: ph.config.disable_compression,
                  },
                })
              }
            },
          })
        } catch (error) {
          settled = true
          clearTimeout(timer)
          resolve({ error: `posthog.init threw: ${error && error.message}` })
        }
      }),
    {
      key: scenario.key,
      config: {
        api_host: scenario.host,
        // posthog-js drops every event from a user agent that looks like a bot, and headless
        // Chromium's does ("HeadlessChrome", navigator.webdriver); this is the SDK's own
        // switch for end-to-end tests. A scenario may set it back to false.
        opt_out_useragent_filter: true,
        ...(scenario.config || {}),
      },
    },
  )
}

async function pageAction(page, action) {
  return page.evaluate(async (a) => {
    const ph = window.posthog
    const plain = (value) => (value === undefined ? { undefined: true } : JSON.parse(JSON.stringify(value)))
    switch (a.type) {
      case 'capture': {
        const sent = ph.capture(a.event, a.properties || {})
        return plain(sent ? { uuid: sent.uuid, event: sent.event } : sent)
      }
      case 'identify':
        return plain(ph.identify(a.distinctId, a.properties, a.propertiesOnce))
      case 'alias':
        return plain(ph.alias(a.alias, a.original))
      case 'group':
        return plain(ph.group(a.groupType, a.groupKey, a.properties))
      case 'getFeatureFlag':
        return plain(ph.getFeatureFlag(a.key))
      case 'isFeatureEnabled':
        return plain(ph.isFeatureEnabled(a.key))
      case 'getFeatureFlagPayload':
        return plain(ph.getFeatureFlagPayload(a.key))
      case 'featureFlags':
        return plain({
          flags: ph.featureFlags.getFlags(),
          variants: ph.featureFlags.getFlagVariants(),
          payloads: ph.featureFlags.getFlagPayloads ? ph.featureFlags.getFlagPayloads() : null,
        })
      case 'onFeatureFlags':
        ph.onFeatureFlags((flags, variants, context) => {
          window.__harness.flagCallbacks.push(
            plain({ atMs: performance.now(), flags, variants, context: context ?? null }),
          )
        })
        return plain(undefined)
      case 'reloadFeatureFlags':
        return plain(ph.reloadFeatureFlags())
      case 'reset':
        return plain(ph.reset())
      case 'eval':
        // eslint-disable-next-line no-eval
        return plain(await (0, eval)(a.js))
      default:
        throw new Error(`unknown action type ${JSON.stringify(a.type)}`)
    }
  }, action)
}

async function runAction(page, action) {
  if (action.type === 'click') {
    await page.click(action.selector || '#buy', { timeout: 5000 })
    return { undefined: true }
  }
  if (action.type === 'wait') {
    await page.waitForTimeout(action.ms ?? 500)
    return { undefined: true }
  }
  return pageAction(page, action)
}

async function settle(page, recorder, scenario) {
  const flushWait = scenario.flushWaitMs ?? 4000
  const quiet = scenario.quietMs ?? 750
  const limit = Date.now() + (scenario.settleTimeoutMs ?? 15000)
  await page.waitForTimeout(flushWait)
  while (Date.now() < limit) {
    if (recorder.inFlight() === 0 && recorder.quietFor() >= quiet) return true
    await page.waitForTimeout(100)
  }
  note(`the network was still busy after settleTimeoutMs (${recorder.inFlight()} in flight)`)
  return false
}

// -- main -----------------------------------------------------------------------------------
async function main() {
  let scenario
  try {
    scenario = readScenario()
  } catch (error) {
    result.harnessError = `bad scenario: ${text(error)}`
    finish(2)
    return
  }
  secret = scenario.key
  const hardLimit = scenario.timeoutMs ?? 90000
  setTimeout(() => {
    result.harnessError = `the scenario did not finish within ${hardLimit} ms`
    finish(0)
  }, hardLimit).unref()

  const bundle = scenario.bundle || 'array.full.js'
  const pkg = JSON.parse(readFileSync(join(HERE, 'node_modules/posthog-js/package.json'), 'utf8'))
  result.sdk.version = pkg.version
  result.sdk.bundle = bundle
  const executablePath = scenario.chromium || process.env.COMPOSER_CHROMIUM || '/usr/bin/chromium'
  if (!existsSync(executablePath)) {
    result.harnessError = `no Chromium at ${executablePath} (apt-get install chromium)`
    finish(0)
    return
  }

  const { chromium } = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'composer-chromium-'))
  let pageServer = null
  let browserContext = null
  try {
    if (!scenario.pageUrl) pageServer = await startPageServer(bundle)
    result.pageUrl = scenario.pageUrl || pageServer.url
    // A persistent context is the way to give Chromium a fresh --user-data-dir of our own.
    browserContext = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      ignoreDefaultArgs: ['--enable-automation'],
      timeout: 20000,
      viewport: { width: 1024, height: 700 },
    })
    result.browser = browserContext.browser()?.version() ?? null
    const recorder = attachRecorder(browserContext, scenario)
    await browserContext.route('**/*', (route) => {
      const url = route.request().url()
      if (isLoopback(url) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue()
      result.blocked.push(url)
      return route.abort('blockedbyclient')
    })
    const page = browserContext.pages()[0] ?? (await browserContext.newPage())
    if (!result.browser) result.browser = await page.evaluate(() => navigator.userAgent)
    page.on('console', (message) => {
      const entry = {
        level: message.type(),
        text: redactKey(message.text(), scenario),
        location: message.location()?.url ? `${message.location().url}:${message.location().lineNumber}` : null,
        atMs: Date.now() - started,
      }
      result.console.push(entry)
      if (entry.level === 'error') result.errors.push(entry.text)
      if (entry.level === 'warning') result.warnings.push(entry.text)
    })
    page.on('pageerror', (error) => {
      result.pageErrors.push(text(error))
      result.errors.push(`page error: ${text(error)}`)
    })

    await page.goto(result.pageUrl, { waitUntil: 'load', timeout: 15000 })
    // "init": false leaves posthog.init to the actions (a snippet that initialises it itself).
    result.init = scenario.init === false ? { error: null, skipped: true } : await initPostHog(page, scenario)
    if (result.init.error) note(result.init.error)

    for (const [index, action] of (scenario.actions || []).entries()) {
      const t0 = Date.now()
      const entry = { index, type: action.type, key: action.key ?? null, value: null, error: null }
      if (!result.init.error || action.type === 'wait' || action.type === 'click') {
        try {
          entry.value = await runAction(page, action)
        } catch (error) {
          entry.error = text(error)
        }
      } else {
        entry.error = 'skipped: posthog did not initialise'
      }
      entry.ms = Date.now() - t0
      result.results.push(entry)
    }

    result.settled = await settle(page, recorder, scenario)
    try {
      result.flagCallbacks = await page.evaluate(() => window.__harness?.flagCallbacks ?? [])
      result.finalState = await page.evaluate(() => ({
        distinctId: window.posthog?.get_distinct_id?.() ?? null,
        sessionId: window.posthog?.get_session_id?.() ?? null,
        flags: window.posthog?.featureFlags?.getFlags?.() ?? null,
      }))
    } catch (error) {
      note(`could not read the page's state: ${text(error)}`)
    }
    if (scenario.leavePage) {
      // Navigating away (rather than closing the page) keeps the page's network in view, so
      // the $pageleave beacon the SDK sends on pagehide is recorded too.
      await page.goto('about:blank', { waitUntil: 'load', timeout: 10000 })
      await settle(page, recorder, { ...scenario, flushWaitMs: 250 })
    }
    if (pageServer) result.pageServed = pageServer.served
    result.ok = result.harnessError === null
  } catch (error) {
    result.harnessError = `harness failure: ${text(error)}`
  } finally {
    try {
      if (browserContext) await browserContext.close()
    } catch (error) {
      note(`closing the browser failed: ${text(error)}`)
    }
    if (pageServer) pageServer.server.close()
    rmSync(profile, { recursive: true, force: true })
  }
  finish(0)
}

main().catch((error) => {
  result.harnessError = `harness failure: ${text(error)}`
  finish(0)
})
