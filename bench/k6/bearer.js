// bench/k6/bearer.js: GET of BASE_URL + URL_PATH (default /) with "Authorization: Bearer <BENCH_TOKEN>".
//   k6 run -e BASE_URL=http://127.0.0.1:18084 -e BENCH_TOKEN="$(go run -C bench ./token ...)" \
//     -e HEADERS='X-Bench: edge' bench/k6/bearer.js
import { scenarioOptions, send, summary } from './lib.js';

const path = __ENV.URL_PATH || '/';
const token = __ENV.BENCH_TOKEN;
if (!token) {
  // Stop in the init context rather than measure a run of 401s.
  throw new Error('bearer.js: set BENCH_TOKEN (-e BENCH_TOKEN=...)');
}
const auth = { Authorization: `Bearer ${token}` };

export const options = scenarioOptions('bearer');

export default function () {
  send('GET', path, null, auth);
}

export function handleSummary(data) {
  return summary('bearer', data);
}
