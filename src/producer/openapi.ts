/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
import { z } from 'zod';
import {
  cancelledSchema,
  checkViewSchema,
  errorSchema,
  healthSchema,
  modeSchema,
  readinessSchema,
  submitDocSchemas,
} from './api-schemas.js';
import { concurrencySchema, limitsViewSchema } from './limits-schemas.js';
import { limitOverridesSchema } from '../shared/scheduling/limits.js';
import { checkSummarySchema } from '../shared/schemas/check-summary.js';
import { checkRequestDocSchema } from '../shared/schemas/check-request.js';
import {
  batchAcceptedSchema,
  runCancelledSchema,
  runResultRowSchema,
  runViewSchema,
} from './runs/run-schemas.js';
import {
  createdEndpointSchema,
  createEndpointSchema,
  deliveryListSchema,
  endpointListSchema,
  endpointViewSchema,
} from './webhooks/webhook-schemas.js';

/** The component schemas, by name. */
const componentSchemas: Readonly<Record<string, z.ZodType>> = {
  SubmitCheck: submitDocSchemas.check,
  SubmitBatch: submitDocSchemas.batch,
  CheckRequest: checkRequestDocSchema,
  Check: checkViewSchema,
  CheckSummary: checkSummarySchema,
  Cancelled: cancelledSchema,
  Mode: modeSchema,
  LimitOverrides: limitOverridesSchema,
  Limits: limitsViewSchema,
  Concurrency: concurrencySchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  Error: errorSchema,
  BatchAccepted: batchAcceptedSchema,
  Run: runViewSchema,
  RunCancelled: runCancelledSchema,
  RunResultRow: runResultRowSchema,
  CreateWebhookEndpoint: createEndpointSchema,
  WebhookEndpoint: endpointViewSchema,
  CreatedWebhookEndpoint: createdEndpointSchema,
  WebhookEndpoints: endpointListSchema,
  WebhookDeliveries: deliveryListSchema,
};

/** The components as JSON Schema: a component used inside another is a $ref, not a copy. */
function jsonSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, s] of Object.entries(componentSchemas)) registry.add(s, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  // Components take the document's dialect (OpenAPI 3.1's, JSON Schema 2020-12): no $schema, and
  // no $id (a URI fragment may not be one).
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]),
  );
}
const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const error = (description: string) => ({ description, ...json('Error') });
const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
};
// Every route parses a JSON body when one is sent with a JSON content type, so these two can
// answer any request; they are listed on every operation.
const bodyErrors = {
  '400': error('Invalid input (or a body sent that is not valid JSON); `issues` names each field'),
  '413': error('Body larger than BODY_LIMIT_BYTES'),
};
const authErrors = {
  '401': error('Missing or unknown API key'),
  '403': error('The key lacks the needed scope'),
};
const rateLimited = {
  '429': { ...error("Past the API key's rate limit"), headers: retryAfter },
};
const storeUnavailable = {
  '503': {
    ...error('Redis (the queue store) did not answer in time; retry later'),
    headers: retryAfter,
  },
};
const errors = { ...bodyErrors, ...authErrors };
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
  description:
    'Makes retries safe: a repeat with the same key and body gets the same check (for a batch, ' +
    'the same run and checks), never a second one; the same key with another body gets 409. Keys are ' +
    'remembered per API key for IDEMPOTENCY_TTL_SECONDS. Send one whenever you may retry: a ' +
    'submission answered 503 (or with no answer) may still be accepted once Redis answers again.',
};
const cacheControl = {
  name: 'Cache-Control',
  in: 'header',
  schema: { type: 'string', examples: ['max-age=600', 'no-cache'] },
  description:
    'With the answer cache on (ANSWER_CACHE_MAX_AGE_SECONDS): `max-age=<seconds>` accepts a cached definitive answer at most that old, `no-cache` (or `no-store`) refuses cached answers and shared calls',
};
const unavailable =
  'Draining or maintenance mode; or Redis (the queue store) did not answer within ' +
  'SUBMIT_TIMEOUT_MS. See Retry-After. After a Redis timeout the submission may still be ' +
  'accepted when Redis answers again: retry with the same Idempotency-Key to get the same check';
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const notFound = (what: string) => ({ '404': error(`Unknown id${what}`) });
const runNotFound = notFound(', or a run of another API key');
const endpointNotFound = notFound(', or an endpoint of another API key');
/** The answers of a rate-limited /v1 operation besides its success: `own` in their place. */
const v1Errors = (own: Record<string, unknown> = {}) => ({
  ...errors,
  ...own,
  ...rateLimited,
  ...storeUnavailable,
});
const submitErrors = {
  '409': error('Idempotency-Key reused with another body'),
  '415': error('Not application/json'),
};

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
    servers: [
      {
        url: '/',
        description: 'The producer answering this document (`npm start`: http://localhost:3000)',
      },
    ],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
      schemas: jsonSchemas(),
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/eligibility': {
        post: {
          operationId: 'submitCheck',
          summary: 'Submit one check (scope submit)',
          parameters: [
            {
              name: 'wait',
              in: 'query',
              schema: { type: 'integer', minimum: 0 },
              description: 'Seconds to wait for the answer (at most MAX_WAIT_SECONDS)',
            },
            idempotencyKey,
            cacheControl,
          ],
          requestBody: { required: true, ...json('SubmitCheck') },
          responses: {
            '200': { description: 'Finished within `wait`', ...json('Check') },
            '202': { description: 'Accepted', ...json('Check') },
            ...v1Errors(submitErrors),
            '503': { ...error(unavailable), headers: retryAfter },
          },
        },
      },
      '/v1/eligibility/batch': {
        post: {
          operationId: 'submitBatch',
          summary: 'Submit a batch of checks as one run, all or nothing (scope submit)',
          parameters: [idempotencyKey, cacheControl],
          requestBody: { required: true, ...json('SubmitBatch') },
          responses: {
            '202': {
              description: 'Accepted as one run; Location names the run',
              headers: { Location: { description: 'The run', schema: { type: 'string' } } },
              ...json('BatchAccepted'),
            },
            ...v1Errors(submitErrors),
            '429': {
              ...error("Batch backlog full, or past the API key's rate limit"),
              headers: retryAfter,
            },
            '503': { ...error(unavailable), headers: retryAfter },
          },
        },
      },
      '/v1/eligibility/{id}': {
        parameters: [idParam],
        get: {
          operationId: 'getCheck',
          summary: 'Status and result of a check (scope read)',
          responses: {
            '200': { description: 'The check', ...json('Check') },
            ...v1Errors(notFound('')),
          },
        },
        delete: {
          operationId: 'cancelCheck',
          summary: 'Cancel a check not yet started (scope submit)',
          responses: {
            '200': { description: 'Cancelled', ...json('Cancelled') },
            ...v1Errors({
              ...notFound(''),
              '409': error('Already started or finished'),
            }),
          },
        },
      },
      '/v1/runs/{id}': {
        parameters: [idParam],
        get: {
          operationId: 'getRun',
          summary:
            'A run (the checks of one batch POST): counts by state, progress, estimated time to completion (scope read)',
          responses: {
            '200': { description: 'The run', ...json('Run') },
            ...v1Errors(runNotFound),
          },
        },
        delete: {
          operationId: 'cancelRun',
          summary:
            'Cancel the checks of a run that have not started; running ones finish (scope submit)',
          responses: {
            '200': {
              description: 'The run after cancellation; `cancelledNow` checks were removed',
              ...json('RunCancelled'),
            },
            ...v1Errors(runNotFound),
          },
        },
      },
      '/v1/runs/{id}/results': {
        parameters: [idParam],
        get: {
          operationId: 'getRunResults',
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
              description: 'Most rows in the page',
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
            ...v1Errors(runNotFound),
          },
        },
      },
      '/v1/webhooks/endpoints': {
        post: {
          operationId: 'createWebhookEndpoint',
          summary:
            'Register a webhook endpoint for check.completed, check.failed, run.completed (scope submit)',
          requestBody: { required: true, ...json('CreateWebhookEndpoint') },
          responses: {
            '201': {
              description:
                'Registered; `secret` (shown only now) verifies the Standard Webhooks signature',
              ...json('CreatedWebhookEndpoint'),
            },
            ...v1Errors({
              '400': error(
                'Invalid endpoint; in production also a plain-http URL or one naming a private, loopback or link-local address',
              ),
              '409': error('The API key has the most endpoints it may have'),
              '415': error('Not application/json'),
            }),
          },
        },
        get: {
          operationId: 'listWebhookEndpoints',
          summary: "The API key's webhook endpoints (scope read)",
          responses: {
            '200': { description: 'Endpoints', ...json('WebhookEndpoints') },
            ...v1Errors(),
          },
        },
      },
      '/v1/webhooks/endpoints/{id}': {
        parameters: [idParam],
        get: {
          operationId: 'getWebhookEndpoint',
          summary: 'One webhook endpoint (scope read)',
          responses: {
            '200': { description: 'The endpoint', ...json('WebhookEndpoint') },
            ...v1Errors(endpointNotFound),
          },
        },
        delete: {
          operationId: 'deleteWebhookEndpoint',
          summary: 'Remove a webhook endpoint; its pending deliveries are dropped (scope submit)',
          responses: {
            '200': { description: 'Removed', ...json('WebhookEndpoint') },
            ...v1Errors(endpointNotFound),
          },
        },
      },
      '/v1/webhooks/endpoints/{id}/deliveries': {
        parameters: [idParam],
        get: {
          operationId: 'listWebhookDeliveries',
          summary:
            "An endpoint's latest deliveries: state, attempts, last attempt's status or error (scope read)",
          responses: {
            '200': { description: 'Deliveries, newest first', ...json('WebhookDeliveries') },
            ...v1Errors(endpointNotFound),
          },
        },
      },
      '/v1/concurrency': {
        get: {
          operationId: 'getConcurrency',
          summary:
            'Semaphore holders by pool, and checks in flight by payer and tenant (scope read)',
          responses: {
            '200': { description: 'Holders and checks in flight', ...json('Concurrency') },
            ...errors,
          },
        },
      },
      '/v1/limits': {
        get: {
          operationId: 'getLimits',
          summary:
            'Scheduling limits: overrides, limits in force, payer and tenant state (scope read)',
          responses: { '200': { description: 'Limits', ...json('Limits') }, ...errors },
        },
      },
      '/admin/limits': {
        put: {
          operationId: 'putLimits',
          summary:
            'Replace the run-time limit overrides; absent fields keep the configured value (scope admin)',
          requestBody: { required: true, ...json('LimitOverrides') },
          responses: {
            '200': { description: 'Stored and in force on this producer', ...json('Limits') },
            ...errors,
            '400': error(
              'Invalid overrides, or `lending.floor` above STEDI_REALTIME_RESERVED; `issues` names each field',
            ),
            '415': error('Not application/json'),
          },
        },
      },
      '/admin/mode': {
        get: {
          operationId: 'getMode',
          summary: 'Operator mode (scope admin)',
          responses: { '200': { description: 'Mode', ...json('Mode') }, ...errors },
        },
        post: {
          operationId: 'setMode',
          summary: 'Set the operator mode (scope admin)',
          requestBody: { required: true, ...json('Mode') },
          responses: { '200': { description: 'Mode set', ...json('Mode') }, ...errors },
        },
      },
      '/healthz': {
        get: {
          operationId: 'getHealth',
          security: [],
          summary: 'Alive (the process answers; says nothing of Redis or DynamoDB)',
          responses: { '200': { description: 'Alive', ...json('Health') }, ...bodyErrors },
        },
      },
      '/readyz': {
        get: {
          operationId: 'getReadiness',
          security: [],
          summary:
            'Redis and DynamoDB answer, each within READY_TIMEOUT_MS (unanswered counts as unreachable)',
          responses: {
            '200': { description: 'Ready', ...json('Readiness') },
            ...bodyErrors,
            '503': { description: 'Not ready', ...json('Readiness') },
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'getMetrics',
          security: [],
          summary: 'Prometheus metrics',
          responses: {
            '200': {
              description: 'Metrics in the Prometheus text format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...bodyErrors,
          },
        },
      },
    },
  };
}
