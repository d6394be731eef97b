// bench/k6/lib.js: what the bench/k6 scenarios share: options from the environment (executor,
// rate, thresholds), one request helper with a status check, and handleSummary's output.
// Only k6 built-in modules: the scripts must run offline (no jslib.k6.io imports).
import http from 'k6/http';
import { check } from 'k6';

// BASE_URL is scheme://host:port of the target, without a trailing slash.
export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

// envInt reads a positive integer from __ENV; a typo stops k6 in the init context.
export function envInt(name, def) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return def;
  }
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`${name}=${raw}: want a positive integer`);
  }
  return v;
}

// envNumber reads a non-negative number (threshold limits) from __ENV.
function envNumber(name, def) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return def;
  }
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) {
    throw new Error(`${name}=${raw}: want a number >= 0`);
  }
  return v;
}

// envDuration reads a k6 duration ("30s", "1m30s") from __ENV; a bare number means seconds, as
// DURATION does for bench/run.sh.
function envDuration(name, def) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return def;
  }
  if (/^\d+$/.test(raw)) {
    return `${raw}s`;
  }
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(raw)) {
    throw new Error(`${name}=${raw}: want a duration like 30s or 1m30s`);
  }
  return raw;
}

// scenario builds the one scenario of a run. Arrival-rate executors start iterations at a fixed
// rate whatever the latency (an open model, like real clients), unlike wrk's closed loop.
function scenario() {
  const executor = __ENV.EXECUTOR || 'constant-arrival-rate';
  const rate = envInt('RATE', 1000);
  const duration = envDuration('DURATION', '30s');
  const preAllocatedVUs = envInt('PRE_VUS', 50);
  const maxVUs = Math.max(preAllocatedVUs, envInt('MAX_VUS', 200));
  const timeUnit = envDuration('TIME_UNIT', '1s');
  switch (executor) {
    case 'constant':
    case 'constant-arrival-rate':
      return { executor: 'constant-arrival-rate', rate, timeUnit, duration, preAllocatedVUs, maxVUs };
    case 'ramping':
    case 'ramping-arrival-rate':
      return {
        executor: 'ramping-arrival-rate',
        startRate: 0,
        timeUnit,
        preAllocatedVUs,
        maxVUs,
        stages: [
          { duration: envDuration('RAMP_UP', '10s'), target: rate }, // up
          { duration: envDuration('HOLD', duration), target: rate }, // hold
          { duration: envDuration('RAMP_DOWN', '10s'), target: 0 }, // down
        ],
      };
    default:
      throw new Error(`EXECUTOR=${executor}: want constant-arrival-rate or ramping-arrival-rate`);
  }
}

// scenarioOptions is the options object of the scenario called name.
export function scenarioOptions(name) {
  return {
    scenarios: { [name]: scenario() },
    thresholds: {
      // k6 counts a response as failed when its status is not 2xx/3xx or the request errored.
      http_req_failed: [`rate<${envNumber('MAX_ERROR_RATE', 0.01)}`],
      http_req_duration: [`p(99)<${envNumber('P99_MS', 250)}`],
    },
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)'],
    // Reading bodies into JS strings costs client CPU that would be charged to the target.
    discardResponseBodies: true,
  };
}

// Extra headers from HEADERS="Name: value; Name2: value2" (like wrk -H), e.g. "X-Bench: keys".
const extraHeaders = {};
for (const h of (__ENV.HEADERS || '').split(';')) {
  const i = h.indexOf(':');
  if (h.trim() === '') {
    continue;
  }
  if (i < 1) {
    throw new Error(`HEADERS: "${h}" is not "Name: value"`);
  }
  extraHeaders[h.slice(0, i).trim()] = h.slice(i + 1).trim();
}

// send makes one request to BASE_URL + path and checks for a 2xx status. tag names the request in
// the metrics, so paths that differ per request (routes.js) stay one series.
export function send(method, path, body, headers, tag) {
  const params = { headers: Object.assign({}, extraHeaders, headers || {}) };
  if (tag) {
    params.tags = { name: tag };
  }
  const res = http.request(method, BASE_URL + path, body === undefined ? null : body, params);
  check(res, { 'status is 2xx': (r) => r.status >= 200 && r.status < 300 });
  return res;
}

function ms(v) {
  return v === undefined ? '-' : `${v.toFixed(2)}ms`;
}

// summary is what every script's handleSummary returns: the full JSON to SUMMARY_FILE and a short
// text to stdout (k6's own end-of-test summary is replaced by it).
export function summary(name, data) {
  const m = data.metrics || {};
  const val = (metric, key) => (m[metric] && m[metric].values ? m[metric].values[key] : undefined);
  const file = __ENV.SUMMARY_FILE || 'summary.json';
  const lines = [
    `${name}: ${val('http_reqs', 'count') || 0} requests, ${(val('http_reqs', 'rate') || 0).toFixed(1)}/s, ` +
      `failed ${((val('http_req_failed', 'rate') || 0) * 100).toFixed(2)}%, ` +
      `dropped iterations ${val('dropped_iterations', 'count') || 0}`,
    `latency: p50 ${ms(val('http_req_duration', 'med'))} p90 ${ms(val('http_req_duration', 'p(90)'))} ` +
      `p99 ${ms(val('http_req_duration', 'p(99)'))} p99.9 ${ms(val('http_req_duration', 'p(99.9)'))} ` +
      `max ${ms(val('http_req_duration', 'max'))}`,
  ];
  for (const [metric, def] of Object.entries(m)) {
    for (const [expr, res] of Object.entries(def.thresholds || {})) {
      lines.push(`threshold ${metric} ${expr}: ${res.ok ? 'ok' : 'FAILED'}`);
    }
  }
  lines.push(`summary: ${file}`);
  return { [file]: JSON.stringify(data, null, 2), stdout: lines.join('\n') + '\n' };
}
