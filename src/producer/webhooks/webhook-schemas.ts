/** Request and response schemas of the webhook endpoints API (the OpenAPI document uses them). */
import { z } from 'zod';
import { webhookEventTypes } from '../../shared/webhooks/endpoint-store.js';

/** POST /v1/webhooks/endpoints body. */
export const createEndpointSchema = z
  .object({
    url: z.string().max(2000),
    events: z.array(z.enum(webhookEventTypes)).min(1, 'must name at least one event'),
    /** Put Stedi's full answer (patient data) in check.completed payloads. Off by default. */
    includeAnswer: z.boolean().default(false),
  })
  .strict();

/** An endpoint as the API shows it (the secret only once, on creation). */
export const endpointViewSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(webhookEventTypes)),
  includeAnswer: z.boolean(),
  createdAt: z.string(),
  links: z.object({ self: z.string(), deliveries: z.string() }),
});

/** POST /v1/webhooks/endpoints answer: the endpoint and its signing secret. */
export const createdEndpointSchema = endpointViewSchema.extend({
  /** `whsec_…`: verify `webhook-signature` with it (Standard Webhooks); shown only now. */
  secret: z.string(),
});

/** GET /v1/webhooks/endpoints. */
export const endpointListSchema = z.object({ endpoints: z.array(endpointViewSchema) });

/** One delivery of an event to an endpoint. */
export const deliveryViewSchema = z.object({
  id: z.string(),
  /** The `webhook-id` header: the same on every attempt. */
  messageId: z.string(),
  type: z.enum(webhookEventTypes).optional(),
  status: z.enum(['pending', 'succeeded', 'failed', 'expired']),
  attempts: z.number().int(),
  createdAt: z.string().optional(),
  lastAttemptAt: z.string().optional(),
  lastStatusCode: z.number().int().optional(),
  lastError: z.string().optional(),
});

/** GET /v1/webhooks/endpoints/:id/deliveries. */
export const deliveryListSchema = z.object({ deliveries: z.array(deliveryViewSchema) });
