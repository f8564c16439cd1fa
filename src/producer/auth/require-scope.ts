import type { NextFunction, Request, Response } from 'express';
import { findApiKey, type ApiKey, type Scope } from './api-keys.js';

/** The authenticated key of a request (set by requireScope). */
export function apiKeyOf(res: Response): ApiKey | undefined {
  return res.locals.apiKey as ApiKey | undefined;
}

/** Express middleware: 401 without a valid `Authorization: Bearer` key, 403 without `scope`. */
export function requireScope(keys: readonly ApiKey[], scope: Scope) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const key = match?.[1] ? findApiKey(keys, match[1]) : undefined;
    if (!key) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ error: 'missing or unknown API key (Authorization: Bearer <key>)' });
      return;
    }
    if (!key.scopes.has(scope) && !key.scopes.has('admin')) {
      res.status(403).json({ error: `API key "${key.name}" lacks the ${scope} scope` });
      return;
    }
    res.locals.apiKey = key;
    next();
  };
}
