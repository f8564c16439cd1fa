/** wrk (Debian's) POSTing one body to a producer with N connections, and its output read. */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A wrk run's rate and latency percentiles. */
export interface Wrk {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

/** A function running wrk for `ms` against `${base}/v1/eligibility` with `body`. */
export function postWithWrk(
  authorization: string,
  body: string,
  connections: number,
): (base: string, ms: number) => Promise<Wrk> {
  const script = join(tmpdir(), `eq-bench-post-${process.pid}.lua`);
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n` +
      `wrk.headers["Authorization"] = "${authorization}"\nwrk.body = '${body}'\n`,
  );
  return async (base, ms) => {
    const { stdout } = await run('wrk', [
      '-t1',
      `-c${connections}`,
      `-d${ms / 1000}s`,
      '--latency',
      '-s',
      script,
      `${base}/v1/eligibility`,
    ]);
    return parseWrk(stdout);
  };
}

function parseWrk(out: string): Wrk {
  if (/Non-2xx/.test(out)) throw new Error(`wrk saw non-2xx answers:\n${out}`);
  const ms = (label: string) => {
    const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`no ${label} in wrk output:\n${out}`);
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms('50%'),
    p99: ms('99%'),
  };
}
