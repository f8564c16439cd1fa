/**
 * `npm run bench:http-layer`: what the HTTP layer alone costs. The same JSON POST, answered by a
 * bare Express route and by a bare node:http handler (no validation, no Redis), each in its own
 * process under wrk with 64 connections. This is why the producer answers its hot route on
 * node:http (src/producer/fast-submit.ts) and leaves the other routes to Express.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/shared/local/free-port.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { spawnBenchChild } from '../support/processes.js';
import { checkRequest } from '../system/requests.js';

const run = promisify(execFile);
const script = join(tmpdir(), 'eq-bench-http-layer.lua');
writeFileSync(
  script,
  `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n` +
    `wrk.body = '${JSON.stringify({ request: checkRequest('HTTP1') })}'\n`,
);
console.log('bare JSON POST under wrk, 64 connections, 5 s (after 2 s of warm-up)');
for (const kind of ['express', 'node:http']) {
  const port = await freePort();
  const server = spawnBenchChild(new URL('./server.ts', import.meta.url), {
    PORT: String(port),
    HTTP_LAYER: kind,
  });
  const url = `http://127.0.0.1:${port}/v1/eligibility`;
  try {
    await waitForHttp(url, { what: kind, timeoutMs: 20_000, method: 'POST', isUp: () => true });
    const wrk = (seconds: number) =>
      run('wrk', ['-t1', '-c64', `-d${seconds}s`, '-s', script, url]).then((r) => r.stdout);
    await wrk(2);
    const out = await wrk(5);
    console.log(`  ${kind.padEnd(10)} ${/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]} requests/s`);
  } finally {
    server.process.kill('SIGTERM');
    await server.exited;
  }
}
