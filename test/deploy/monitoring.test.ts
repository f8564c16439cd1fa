/**
 * The monitoring files, checked offline: Prometheus' own promtool validates the scrape config and
 * the alert rules and runs the rules' unit tests; every metric the Grafana dashboard, the rules
 * and the README name must be one the producer or a worker exports; the compose profile runs
 * Prometheus and Grafana with these files.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { loadConfig } from '../../src/shared/config.js';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { createProducerMetrics } from '../../src/producer/metrics.js';
import { createWorkerMetrics } from '../../src/worker/metrics.js';
import { dockerCompose } from '../support/docker-compose.js';
import { uniqueName } from '../support/names.js';
import { alertRules, exportedSeriesNames, metricNamesIn } from '../support/promql-metrics.js';

const root = new URL('../../', import.meta.url);
const path = (f: string) => new URL(f, root).pathname;
const read = (f: string) => readFileSync(path(f), 'utf8');
const promDir = 'monitoring/prometheus/';
const dashboardFile = 'monitoring/grafana/dashboards/eligibility-queue.json';
// Series Prometheus itself makes for every target, not the code.
const prometheusOwn = new Set(['up']);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}
const dashboard = JSON.parse(read(dashboardFile)) as { uid: string; panels: Panel[] };
const rules = alertRules(read(`${promDir}alert-rules.yml`));

let redis: Redis;
let exported: Set<string>;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: uniqueName('q'),
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
  });
  const queues = CheckQueues.fromConfig(redis, config);
  // What a scrape really answers: each registry's exposition text.
  const texts = [
    await createWorkerMetrics().registry.metrics(),
    await createProducerMetrics(queues).registry.metrics(),
  ];
  await queues.close();
  exported = new Set([...prometheusOwn, ...texts.flatMap((t) => [...exportedSeriesNames(t)])]);
});

afterAll(() => {
  redis?.disconnect();
});

/** The names in `exprs` (labelled by where they are) that no registry exports. */
function unexported(exprs: [string, string][]): string[] {
  return exprs.flatMap(([where, expr]) =>
    metricNamesIn(expr)
      .filter((name) => !exported.has(name))
      .map((name) => `${where}: ${name}`),
  );
}

const panelExprs = (panels: Panel[]): [string, string][] =>
  panels.flatMap((p) => (p.targets ?? []).map((t): [string, string] => [p.title, t.expr]));

describe('promtool', () => {
  it('accepts the scrape config (and the rule file it loads)', () => {
    const out = execFileSync('promtool', ['check', 'config', path(`${promDir}prometheus.yml`)], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('accepts the alert rules', () => {
    const out = execFileSync('promtool', ['check', 'rules', path(`${promDir}alert-rules.yml`)], {
      encoding: 'utf8',
    });
    expect(out).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('passes the rules unit tests: each alert fires on its trouble and not on healthy series', () => {
    // The cases pin expressions and labels; promtool would also demand each description word
    // for word, so they run against a copy of the rules without annotations.
    const dir = mkdtempSync(join(tmpdir(), 'eq-rules-'));
    writeFileSync(
      join(dir, 'alert-rules.yml'),
      withoutAnnotations(read(`${promDir}alert-rules.yml`)),
    );
    copyFileSync(path(`${promDir}alert-rules.test.yml`), join(dir, 'alert-rules.test.yml'));
    const out = execFileSync('promtool', ['test', 'rules', join(dir, 'alert-rules.test.yml')], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/SUCCESS/);
    const tested = [...read(`${promDir}alert-rules.test.yml`).matchAll(/alertname: (\w+)/g)].map(
      (m) => m[1],
    );
    for (const r of rules) expect(tested, `no unit test for ${r.alert}`).toContain(r.alert);
  });
});

describe('alert rules', () => {
  it("are the README's advice: 429s, lost leases, open breakers, realtime wait, failures, no workers", () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'StediThrottled',
        'SemaphoreLeaseLost',
        'PayerBreakerOpen',
        'RealtimeWaitHigh',
        'FailedChecksGrowing',
        'NoWorkerWhileChecksWait',
      ]),
    );
  });

  it('each have a summary and a description that says what to do', () => {
    for (const r of rules) {
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description?.length ?? 0, r.alert).toBeGreaterThan(150);
      // An action: a setting to change, a place to look, or a command to run.
      expect(r.annotations.description, r.alert).toMatch(
        /\b(set|check|raise|lower|open|read|look|start|tell|retry)\b/i,
      );
    }
  });
});

describe('metric names', () => {
  it('finds the metrics of an expression, not its functions, labels or variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, pool) (rate(eq_slot_wait_seconds_bucket{pool="realtime"}[5m]))) > 1 and on () absent(up{job="worker"} == 1) or sum(increase(eq_stedi_429_total[$__range])) offset 1h',
      ).sort(),
    ).toEqual(['eq_slot_wait_seconds_bucket', 'eq_stedi_429_total', 'up']);
  });

  it('every metric a dashboard panel uses is exported by the producer or a worker', () => {
    const exprs = panelExprs(dashboard.panels);
    expect(exprs.length).toBeGreaterThan(20);
    expect(unexported(exprs)).toEqual([]);
  });

  it('would catch a panel naming a metric nobody exports', () => {
    const bad: Panel = {
      id: 99,
      type: 'timeseries',
      title: 'stale panel',
      targets: [{ expr: 'sum(rate(eq_batch_circuit_open[5m]))' }],
    };
    expect(unexported(panelExprs([...dashboard.panels, bad]))).toEqual([
      'stale panel: eq_batch_circuit_open',
    ]);
  });

  it('every metric the alert rules use is exported', () => {
    expect(rules.length).toBeGreaterThanOrEqual(6);
    expect(unexported(rules.map((r) => [r.alert, r.expr]))).toEqual([]);
  });

  it('every eq_ metric the README names is exported', () => {
    const named = [
      ...new Set([...read('README.md').matchAll(/\beq_[a-z0-9_]+/g)].map((m) => m[0])),
    ];
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  it('uses only the provisioned Prometheus data source, with unique panel ids', () => {
    const source = read('monitoring/grafana/provisioning/datasources/prometheus.yml');
    const uid = /type: prometheus/.test(source) ? /uid:\s*(\S+)/.exec(source)?.[1] : undefined;
    expect(uid).toBeTruthy();
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
    }
  });

  it('shows what operators ask: allocation vs L, waits, latency by outcome, 429s, queues, retries, leases, breakers, payers, tenants', () => {
    const all = panelExprs(dashboard.panels)
      .map(([, e]) => e)
      .join('\n');
    for (const metric of [
      'eq_slots_held',
      'eq_allocation_slots',
      'eq_slot_wait_seconds_bucket',
      'eq_stedi_call_seconds_bucket',
      'eq_stedi_429_total',
      'eq_queue_jobs',
      'eq_checks_parked_total',
      'eq_leases_lost_total',
      'eq_payer_breaker_open',
      'eq_payer_in_flight',
      'eq_tenant_in_flight',
    ])
      expect(all).toContain(metric);
    expect(all).toMatch(/sum by \(le, outcome\) \(rate\(eq_stedi_call_seconds_bucket/);
  });
});

describe('compose monitoring profile', () => {
  it('validates with docker-compose and runs Prometheus, Grafana and Jaeger only in that profile', () => {
    dockerCompose('--profile', 'monitoring', 'config', '-q');
    expect(dockerCompose('config', '--profiles').split('\n').filter(Boolean).sort()).toEqual([
      'monitoring',
      'simulator',
    ]);
    const text = read('docker-compose.yml');
    for (const service of ['prometheus', 'grafana', 'jaeger']) {
      const block = new RegExp(`^  ${service}:\\n((?:    .*\\n|\\s*\\n)+)`, 'm').exec(text)?.[1];
      expect(block, service).toMatch(/profiles: \['monitoring'\]/);
    }
  });

  it('mounts files that exist: the scrape config, the rules and the Grafana provisioning', () => {
    const mounts = [...read('docker-compose.yml').matchAll(/- \.\/(monitoring\/[^:]+):/g)].map(
      (m) => m[1] ?? '',
    );
    expect(mounts.length).toBeGreaterThanOrEqual(4);
    for (const m of mounts) expect(existsSync(path(m)), m).toBe(true);
    expect(read(`${promDir}prometheus.yml`)).toMatch(/job_name: worker\s+dns_sd_configs:/);
  });
});

/** The rule file with each `annotations:` block removed. */
function withoutAnnotations(yaml: string): string {
  const out: string[] = [];
  let skipDeeperThan = -1;
  for (const line of yaml.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (skipDeeperThan >= 0 && (line.trim() === '' || indent > skipDeeperThan)) continue;
    skipDeeperThan = -1;
    if (/^\s*annotations:\s*$/.test(line)) {
      skipDeeperThan = indent;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}
