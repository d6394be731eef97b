// bench/k6/routes.js: GET BASE_URL/svc<i>/items/<i>, i cycling over 0..BENCH_ROUTES-1 (default 100),
// a different route on every iteration (the 100-route config, as bench/wrk/routes.lua).
//   k6 run -e BASE_URL=http://127.0.0.1:18084 bench/k6/routes.js
import exec from 'k6/execution';
import { envInt, scenarioOptions, send, summary } from './lib.js';

const routes = envInt('BENCH_ROUTES', 100);

export const options = scenarioOptions('routes');

export default function () {
  const i = exec.scenario.iterationInTest % routes;
  // One metrics series for all routes, not one per URL.
  send('GET', `/svc${i}/items/${i}`, null, null, '/svc{i}/items/{id}');
}

export function handleSummary(data) {
  return summary('routes', data);
}
