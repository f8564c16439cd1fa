/**
 * No Docker engine runs here, so the deployment files are checked statically: docker-compose
 * validates the compose file offline, and every setting they (and the README) name must exist in
 * the environment schema.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/shared/config.js';
import { dockerCompose } from '../support/docker-compose.js';

const root = new URL('../../', import.meta.url);
const read = (f: string) => readFileSync(new URL(f, root), 'utf8');
const schemaKeys = new Set(Object.keys(envSchema.shape));
// Read by the AWS SDK, the simulator or the local stack, not by the app's schema.
const foreign =
  /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|SIMULATOR_[A-Z0-9_]+|GF_[A-Z0-9_]+|GRAFANA_ADMIN_PASSWORD|COLLECTOR_OTLP_ENABLED)$/;

describe('deployment files', () => {
  it('docker-compose.yml validates offline with docker-compose, with the simulator profile too', () => {
    dockerCompose('config', '-q');
    const services = dockerCompose('--profile', 'simulator', 'config', '--services');
    // docker-compose v1 lists every service whatever the profile (monitoring.test.ts checks those).
    expect(services.split('\n').filter(Boolean).sort()).toEqual([
      'create-table',
      'dynamodb',
      'grafana',
      'jaeger',
      'producer',
      'prometheus',
      'redis',
      'simulator',
      'worker',
    ]);
  });

  it('names only settings the env schema knows, in the compose file and .env.example', () => {
    const composeKeys = [...read('docker-compose.yml').matchAll(/^ {4,6}([A-Z][A-Z0-9_]+):/gm)].map(
      (m) => m[1] ?? '',
    );
    const exampleKeys = [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map(
      (m) => m[1] ?? '',
    );
    expect(composeKeys.length).toBeGreaterThan(10);
    for (const key of [...composeKeys, ...exampleKeys]) {
      if (!foreign.test(key))
        expect(schemaKeys, `${key} is not in src/shared/config.ts`).toContain(key);
    }
  });

  it('keeps Redis persistent and non-evicting, as a queue needs', () => {
    const compose = read('docker-compose.yml');
    expect(compose).toMatch(/'--appendonly',\s*'yes'/);
    expect(compose).toMatch(/'--maxmemory-policy',\s*'noeviction'/);
  });

  it('builds a multi-stage Node 22 image that runs as a non-root user, signals going straight to node', () => {
    const dockerfile = read('Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] ?? '');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:22/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node",/m);
  });

  it('documents every environment variable in the README configuration table', () => {
    const readme = read('README.md');
    for (const key of schemaKeys)
      expect(readme, `README lacks ${key}`).toMatch(new RegExp(`\\|\\s*\`${key}\`\\s*\\|`));
  });
});
