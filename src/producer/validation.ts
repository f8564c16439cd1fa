import type { z } from 'zod';
import type { CheckRequest, RequestShape } from '../shared/schemas/check-request.js';
import { convertRequest } from '../shared/schemas/request-conversion.js';

/** One problem in a request body, with the path of the field. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** zod issues as the API reports them: `request.subscriber.dateOfBirth: must be ...`. */
export function toIssues(error: z.ZodError, prefix = ''): Issue[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    const message =
      i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message;
    return { path: path || '(body)', message };
  });
}

/**
 * The fields of `request` that Stedi's `target` endpoint has no place for, as API issues: the
 * worker could not convert them, so the check is refused rather than enqueued.
 */
export function conversionIssues(
  request: CheckRequest,
  target: RequestShape,
  prefix: string,
): Issue[] {
  const converted = convertRequest(request, target);
  if (converted.ok) return [];
  return converted.issues.map((i) => ({
    path: [prefix, ...i.path].join('.'),
    message: i.message,
  }));
}
