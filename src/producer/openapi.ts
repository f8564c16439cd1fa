/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
import { z } from 'zod';
import { checkViewSchema, errorSchema, modeSchema, submitDocSchemas } from './api-schemas.js';
import { concurrencySchema, limitsViewSchema } from './limits-schemas.js';
import { limitOverridesSchema } from '../shared/scheduling/limits.js';
import { checkSummarySchema } from '../shared/schemas/check-summary.js';
import { batchAcceptedSchema, runResultRowSchema, runViewSchema } from './runs/run-schemas.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const authErrors = {
  '401': { description: 'Missing or unknown API key', ...json('Error') },
  '403': { description: 'The key lacks the needed scope', ...json('Error') },
};
const errors = {
  '400': { description: 'Invalid input; `issues` names each field', ...json('Error') },
  ...authErrors,
};
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
  description:
    'Makes retries safe: a repeat with the same key and body gets the same check (for a batch, ' +
    'the same checks), never a second one; the same key with another body gets 409. Keys are ' +
    'remembered per API key for IDEMPOTENCY_TTL_SECONDS. Send one whenever you may retry: a ' +
    'submission answered 503 (or with no answer) may still be accepted once Redis answers again.',
};
const unavailable =
  'Draining or maintenance mode; or Redis (the queue store) did not answer within ' +
  'SUBMIT_TIMEOUT_MS. See Retry-After. After a Redis timeout the submission may still be ' +
  'accepted when Redis answers again: retry with the same Idempotency-Key to get the same check';

const runId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

let built: Record<string, unknown> | undefined;

/** The document served at /openapi.json, generated on first use (it never changes). */
export function openApiDocument(): Record<string, unknown> {
  return (built ??= buildDocument());
}

function buildDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'eligibility-queue',
      version: '0.1.0',
      description:
        "Queue Stedi eligibility checks by priority; workers keep the account's concurrency allocation full and never exceed it.",
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
      schemas: {
        SubmitCheck: schema(submitDocSchemas.check),
        SubmitBatch: schema(submitDocSchemas.batch),
        Check: schema(checkViewSchema),
        CheckSummary: schema(checkSummarySchema),
        Mode: schema(modeSchema),
        LimitOverrides: schema(limitOverridesSchema),
        Limits: schema(limitsViewSchema),
        Concurrency: schema(concurrencySchema),
        Error: schema(errorSchema),
        BatchAccepted: schema(batchAcceptedSchema),
        Run: schema(runViewSchema),
        RunResultRow: schema(runResultRowSchema),
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/eligibility': {
        post: {
          summary: 'Submit one check (scope submit)',
          parameters: [
            {
              name: 'wait',
              in: 'query',
              schema: { type: 'integer', minimum: 0 },
              description: 'Seconds to wait for the answer',
            },
            idempotencyKey,
          ],
          requestBody: { required: true, ...json('SubmitCheck') },
          responses: {
            '200': { description: 'Finished within `wait`', ...json('Check') },
            '202': { description: 'Accepted', ...json('Check') },
            ...errors,
            '409': { description: 'Idempotency-Key reused with another body', ...json('Error') },
            '413': { description: 'Body too large', ...json('Error') },
            '415': { description: 'Not application/json', ...json('Error') },
            '503': { description: unavailable, ...json('Error') },
          },
        },
      },
      '/v1/eligibility/batch': {
        post: {
          summary: 'Submit a batch of checks, all or nothing (scope submit)',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json('SubmitBatch') },
          responses: {
            '202': {
              description: 'Accepted as one run; Location names the run',
              ...json('BatchAccepted'),
            },
            ...errors,
            '409': { description: 'Idempotency-Key reused with another body', ...json('Error') },
            '429': { description: 'Batch backlog full; see Retry-After', ...json('Error') },
            '503': { description: unavailable, ...json('Error') },
          },
        },
      },
      '/v1/eligibility/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'Status and result of a check (scope read)',
          responses: {
            '200': { description: 'The check', ...json('Check') },
            '404': { description: 'Unknown id', ...json('Error') },
          },
        },
        delete: {
          summary: 'Cancel a check not yet started (scope submit)',
          responses: {
            '200': { description: 'Cancelled' },
            '409': { description: 'Already started or finished', ...json('Error') },
          },
        },
      },
      '/v1/runs/{id}': {
        parameters: [runId],
        get: {
          summary:
            'A run (the checks of one batch POST): counts by state, progress, estimated time to completion (scope read)',
          responses: {
            '200': { description: 'The run', ...json('Run') },
            ...authErrors,
            '404': { description: 'Unknown id, or a run of another API key', ...json('Error') },
          },
        },
        delete: {
          summary:
            'Cancel the checks of a run that have not started; running ones finish (scope submit)',
          responses: {
            '200': {
              description: 'The run after cancellation; `cancelledNow` checks were removed',
              ...json('Run'),
            },
            ...authErrors,
            '404': { description: 'Unknown id, or a run of another API key', ...json('Error') },
          },
        },
      },
      '/v1/runs/{id}/results': {
        parameters: [runId],
        get: {
          summary:
            "A page of a run's finished checks, in the order they were first seen finished (scope read)",
          parameters: [
            {
              name: 'cursor',
              in: 'query',
              schema: { type: 'integer', minimum: 0, default: 0 },
              description:
                'The `Next-Cursor` of the previous page (0: from the start). Stable while the run progresses: checks finishing later come after it',
            },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 500 },
            },
            {
              name: 'format',
              in: 'query',
              schema: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' },
              description:
                'JSON lines (one RunResultRow a line) or CSV (the same columns, the summary as JSON; a header line on the first page)',
            },
          ],
          responses: {
            '200': {
              description: 'Rows after the cursor',
              headers: {
                'Next-Cursor': {
                  description: 'Pass as `cursor` to read on',
                  schema: { type: 'integer' },
                },
                'Results-Complete': {
                  description: '`true` once every check of the run has been read',
                  schema: { type: 'boolean' },
                },
              },
              content: {
                'application/x-ndjson': {
                  schema: { $ref: '#/components/schemas/RunResultRow' },
                },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            '400': { description: 'Invalid cursor, limit or format', ...json('Error') },
            ...authErrors,
            '404': { description: 'Unknown id, or a run of another API key', ...json('Error') },
          },
        },
      },
      '/v1/concurrency': {
        get: {
          summary:
            'Semaphore holders by pool, and checks in flight by payer and tenant (scope read)',
          responses: {
            '200': { description: 'Holders and checks in flight', ...json('Concurrency') },
            ...authErrors,
          },
        },
      },
      '/v1/limits': {
        get: {
          summary:
            'Scheduling limits: overrides, limits in force, payer and tenant state (scope read)',
          responses: { '200': { description: 'Limits', ...json('Limits') }, ...authErrors },
        },
      },
      '/admin/limits': {
        put: {
          summary:
            'Replace the run-time limit overrides; absent fields keep the configured value (scope admin)',
          requestBody: { required: true, ...json('LimitOverrides') },
          responses: {
            '200': { description: 'Stored and in force on this producer', ...json('Limits') },
            '400': {
              description:
                'Invalid overrides, or `lending.floor` above STEDI_REALTIME_RESERVED; `issues` names each field',
              ...json('Error'),
            },
            ...authErrors,
            '413': { description: 'Body too large', ...json('Error') },
            '415': { description: 'Not application/json', ...json('Error') },
          },
        },
      },
      '/admin/mode': {
        get: {
          summary: 'Operator mode (scope admin)',
          responses: { '200': { description: 'Mode', ...json('Mode') } },
        },
        post: {
          summary: 'Set the operator mode (scope admin)',
          requestBody: { required: true, ...json('Mode') },
          responses: { '200': { description: 'Mode set' } },
        },
      },
      '/healthz': {
        get: {
          security: [],
          summary: 'Alive (the process answers; says nothing of Redis or DynamoDB)',
          responses: { '200': { description: 'Alive' } },
        },
      },
      '/readyz': {
        get: {
          security: [],
          summary:
            'Redis and DynamoDB answer, each within READY_TIMEOUT_MS (unanswered counts as unreachable)',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: {
          security: [],
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Metrics' } },
        },
      },
    },
  };
}
