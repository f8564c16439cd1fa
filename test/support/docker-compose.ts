/**
 * Debian's docker-compose v1 on the repository's compose file, offline (no Docker engine here),
 * with .env.example as its .env: what `cp .env.example .env` gives a team.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url);
let envFile: string | undefined;

/** Runs `docker-compose <args>` on docker-compose.yml and returns its output. */
export function dockerCompose(...args: string[]): string {
  if (!envFile) {
    envFile = join(mkdtempSync(join(tmpdir(), 'eq-compose-')), '.env');
    writeFileSync(envFile, readFileSync(new URL('.env.example', root), 'utf8'));
  }
  const compose = new URL('docker-compose.yml', root).pathname;
  return execFileSync('docker-compose', ['--env-file', envFile, '-f', compose, ...args], {
    encoding: 'utf8',
  });
}
