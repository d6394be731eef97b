// bench/k6/get.js: plain GET of BASE_URL + URL_PATH (default /).
//   k6 run -e BASE_URL=http://127.0.0.1:18084 bench/k6/get.js
// Executor, rate, thresholds and the summary file come from env: see README.md.
import { scenarioOptions, send, summary } from './lib.js';

const path = __ENV.URL_PATH || '/';

export const options = scenarioOptions('get');

export default function () {
  send('GET', path);
}

export function handleSummary(data) {
  return summary('get', data);
}
