// bench/k6/post.js: POST a 1 KiB body (1023 'x' + "\n", application/octet-stream) to
// BASE_URL + URL_PATH (default /), the same request as bench/wrk/post.lua.
//   k6 run -e BASE_URL=http://127.0.0.1:18084 bench/k6/post.js
import { scenarioOptions, send, summary } from './lib.js';

const path = __ENV.URL_PATH || '/';
const body = 'x'.repeat(1023) + '\n';

export const options = scenarioOptions('post');

export default function () {
  send('POST', path, body, { 'Content-Type': 'application/octet-stream' });
}

export function handleSummary(data) {
  return summary('post', data);
}
