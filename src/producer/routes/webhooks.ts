/**
 * /v1/webhooks/endpoints: an API key's webhook endpoints and their deliveries. An endpoint is
 * visible only to the key that created it (404 for any other). URLs are checked against the
 * webhook URL policy (production: https and public addresses only, bar WEBHOOK_ALLOWED_HOSTS).
 */
import { Router, type Request, type Response } from 'express';
import type { WebhookDeliveries } from '../../shared/webhooks/deliveries.js';
import type {
  WebhookEndpoint,
  WebhookEndpointStore,
} from '../../shared/webhooks/endpoint-store.js';
import { newWebhookSecret } from '../../shared/webhooks/signature.js';
import { webhookUrlProblem, type WebhookUrlPolicy } from '../../shared/webhooks/url-policy.js';
import type { ApiKey } from '../auth/api-keys.js';
import { authenticatedKey, ownedOr404, requireScope } from '../auth/require-scope.js';
import { requireJson } from '../json-content-type.js';
import type { RateLimiter } from '../rate-limiter.js';
import { errorReply, sendReply } from '../reply.js';
import { toIssues } from '../validation.js';
import { createEndpointSchema } from '../webhooks/webhook-schemas.js';

/** What the webhook routes need. */
export interface WebhookRouteDeps {
  readonly keys: readonly ApiKey[];
  readonly endpoints: WebhookEndpointStore;
  readonly deliveries: WebhookDeliveries;
  readonly policy: WebhookUrlPolicy;
  readonly limiter: RateLimiter;
}

const MAX_ENDPOINTS_PER_KEY = 20;
const path = (id: string) => `/v1/webhooks/endpoints/${id}`;

function view(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    events: [...e.events],
    includeAnswer: e.includeAnswer,
    createdAt: new Date(e.createdAt).toISOString(),
    links: { self: path(e.id), deliveries: `${path(e.id)}/deliveries` },
  };
}

/** Builds the router mounted at /v1/webhooks/endpoints. */
export function webhookRoutes(deps: WebhookRouteDeps): Router {
  const router = Router();
  const limit = deps.limiter.middleware();
  const read = [requireScope(deps.keys, 'read'), limit];
  const submit = [requireScope(deps.keys, 'submit'), limit];

  async function ownEndpoint(req: Request, res: Response): Promise<WebhookEndpoint | undefined> {
    const id = String(req.params.id);
    return ownedOr404(res, await deps.endpoints.get(id), `no webhook endpoint with id ${id}`);
  }

  router.post('/', ...submit, async (req, res) => {
    if (!requireJson(req, res)) return;
    const parsed = createEndpointSchema.safeParse(req.body);
    if (!parsed.success) {
      sendReply(
        res,
        errorReply(400, 'invalid webhook endpoint', { issues: toIssues(parsed.error) }),
      );
      return;
    }
    const problem = webhookUrlProblem(parsed.data.url, deps.policy);
    if (problem) {
      sendReply(
        res,
        errorReply(400, 'invalid webhook endpoint', {
          issues: [{ path: 'url', message: problem }],
        }),
      );
      return;
    }
    const owner = authenticatedKey(res).name;
    if ((await deps.endpoints.list(owner)).length >= MAX_ENDPOINTS_PER_KEY) {
      sendReply(
        res,
        errorReply(409, `an API key may have at most ${MAX_ENDPOINTS_PER_KEY} endpoints`),
      );
      return;
    }
    const secret = newWebhookSecret();
    const endpoint = await deps.endpoints.create(owner, parsed.data, secret);
    res
      .status(201)
      .location(path(endpoint.id))
      .json({ ...view(endpoint), secret });
  });

  router.get('/', ...read, async (_req, res) => {
    const endpoints = await deps.endpoints.list(authenticatedKey(res).name);
    res.json({ endpoints: endpoints.map(view) });
  });

  router.get('/:id', ...read, async (req, res) => {
    const endpoint = await ownEndpoint(req, res);
    if (endpoint) res.json(view(endpoint));
  });

  router.delete('/:id', ...submit, async (req, res) => {
    const endpoint = await ownEndpoint(req, res);
    if (!endpoint) return;
    await deps.endpoints.delete(endpoint);
    res.json(view(endpoint));
  });

  router.get('/:id/deliveries', ...read, async (req, res) => {
    const endpoint = await ownEndpoint(req, res);
    if (!endpoint) return;
    res.json({ deliveries: await deps.deliveries.list(endpoint.id, 100) });
  });

  return router;
}
