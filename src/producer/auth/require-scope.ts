import type { NextFunction, Request, Response } from 'express';
import { errorReply, sendReply, type Reply } from '../reply.js';
import type { ApiKey, Scope } from './api-keys.js';
import { findBySecret } from './find-by-secret.js';

/** The authenticated key of a request (set by requireScope). */
export function apiKeyOf(res: Response): ApiKey | undefined {
  return res.locals.apiKey as ApiKey | undefined;
}

/** The key of a request that passed requireScope; a handler without requireScope is a bug. */
export function authenticatedKey(res: Response): ApiKey {
  const key = apiKeyOf(res);
  if (!key) throw new Error('a handler that needs an API key runs without requireScope');
  return key;
}

/**
 * `resource` when the request's API key owns it; otherwise the 404 `notFound` is sent. Another
 * key's resource is answered as an unknown id, so ids reveal nothing to other tenants.
 */
export function ownedOr404<T extends { readonly owner: string }>(
  res: Response,
  resource: T | undefined,
  notFound: string,
): T | undefined {
  if (resource?.owner === authenticatedKey(res).name) return resource;
  sendReply(res, errorReply(404, notFound));
  return undefined;
}

/** The key an `Authorization: Bearer` header names if it has `scope`; else the 401 or 403 answer. */
export function authorize(
  keys: readonly ApiKey[],
  authorization: string | undefined,
  scope: Scope,
): ApiKey | Reply {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  const key = match?.[1] ? findBySecret(keys, match[1]) : undefined;
  if (!key)
    return errorReply(401, 'missing or unknown API key (Authorization: Bearer <key>)', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  if (!key.scopes.has(scope) && !key.scopes.has('admin'))
    return errorReply(403, `API key "${key.name}" lacks the ${scope} scope`);
  return key;
}

/** Whether `authorize` answered with a key rather than a refusal. */
export function isApiKey(v: ApiKey | Reply): v is ApiKey {
  return 'scopes' in v;
}

/** Express middleware: 401 without a valid `Authorization: Bearer` key, 403 without `scope`. */
export function requireScope(keys: readonly ApiKey[], scope: Scope) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const key = authorize(keys, req.get('authorization'), scope);
    if (!isApiKey(key)) return sendReply(res, key);
    res.locals.apiKey = key;
    next();
  };
}
