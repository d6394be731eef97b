// bench/k6/keys.js: GET of BASE_URL + URL_PATH (default /) with "X-Client-Key: k<i>", i cycling over
// BENCH_KEYS distinct keys (default 10000), a different key on every iteration (rate-limit scopes).
//   k6 run -e BASE_URL=http://127.0.0.1:18084 -e HEADERS='X-Bench: keys' bench/k6/keys.js
import exec from 'k6/execution';
import { envInt, scenarioOptions, send, summary } from './lib.js';

const path = __ENV.URL_PATH || '/';
const keys = envInt('BENCH_KEYS', 10000);

export const options = scenarioOptions('keys');

export default function () {
  // iterationInTest counts the scenario's iterations over all VUs, so the cycle is global.
  send('GET', path, null, { 'X-Client-Key': `k${exec.scenario.iterationInTest % keys}` });
}

export function handleSummary(data) {
  return summary('keys', data);
}
