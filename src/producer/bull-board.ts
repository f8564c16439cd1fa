/**
 * Bull Board at /admin/queues behind HTTP basic auth (works from a browser): admins get the full
 * board, read-only users a board whose queues are in read-only mode. Job data and results are
 * shown only in redacted form.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { findBySecret, secretDigest } from './auth/find-by-secret.js';
import type { CheckQueues } from '../shared/check-queues.js';
import { commaList } from '../shared/comma-list.js';
import { ConfigError } from '../shared/errors/config-error.js';
import { redactCheckData, redactCheckResult } from '../shared/redaction.js';
import { isSealed, type ValueCipher } from '../shared/crypto/data-cipher.js';
import type { Logger } from '../shared/logger.js';

/** A Bull Board user. */
export interface BoardUser {
  readonly name: string;
  readonly digest: Buffer;
  readonly role: 'admin' | 'read';
}

/** Parses `name:password:role,...` (role admin or read). */
export function parseBoardUsers(spec: string): BoardUser[] {
  return commaList(spec).map((entry, i) => {
    const [name, password, role] = entry.split(':');
    if (!name || !password || (role !== 'admin' && role !== 'read')) {
      throw new ConfigError([`BULL_BOARD_USERS: entry ${i + 1} is not name:password:admin|read`]);
    }
    return { name, digest: secretDigest(`${name}:${password}`), role };
  });
}

/** The mount path of the board. */
export const BOARD_PATH = '/admin/queues';

/** Express middleware serving Bull Board to authenticated users, by role. */
export function bullBoard(
  queues: CheckQueues,
  users: readonly BoardUser[],
  logger: Logger,
  redact = true,
): (req: Request, res: Response, next: NextFunction) => void {
  const routers = {
    admin: boardRouter(queues, false, redact),
    read: boardRouter(queues, true, redact),
  };
  return (req, res, next) => {
    const user = authenticateBoardUser(users, req.get('authorization'));
    if (!user) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Basic realm="Bull Board", charset="UTF-8"')
        .json({ error: 'Bull Board needs a user name and password' });
      return;
    }
    res.locals.boardUser = user.name;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // Audit trail of what operators change (retries, removals, cleans): ids only, no job data.
      logger.info(
        { audit: true, actor: user.name, role: user.role, action: `${req.method} ${req.path}` },
        'bull board action',
      );
    }
    routers[user.role](req, res, next);
  };
}

function boardRouter(queues: CheckQueues, readOnlyMode: boolean, redact: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const checkQueues = [...Object.values(queues.queues), queues.stediBatch.checks];
  const adapters = checkQueues.map((q) => {
    const adapter = new BullMQAdapter(q, { readOnlyMode, allowRetries: !readOnlyMode });
    // The board shows opened records, redacted; `redact = false` exists only so a test can prove
    // that the leak test would catch unredacted views.
    const show = (f: (v: unknown) => unknown) => (redact ? f : (v: unknown) => v);
    adapter.setFormatter('data', (data: unknown) =>
      show(redactCheckData)(openSealed(queues.cipher, data, 'request')),
    );
    adapter.setFormatter('returnValue', (value: unknown) =>
      show(redactCheckResult)(
        openSealed(queues.cipher, openSealed(queues.cipher, value, 'summary'), 'response'),
      ),
    );
    return adapter;
  });
  // Chunks of the batch route hold check ids and Stedi's batch id, no patient data.
  const chunks = new BullMQAdapter(queues.stediBatch.chunks, {
    readOnlyMode,
    allowRetries: !readOnlyMode,
  });
  createBullBoard({
    queues: [...adapters, chunks],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: readOnlyMode ? 'Eligibility queue (read-only)' : 'Eligibility queue',
      },
    },
  });
  return serverAdapter.getRouter() as Router;
}

/** The board user a basic `Authorization` header names, if the password is right. */
export function authenticateBoardUser(
  users: readonly BoardUser[],
  header: string | undefined,
): BoardUser | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  return findBySecret(users, Buffer.from(m[1], 'base64').toString('utf8'));
}

/** `holder` with its sealed `field` opened (for redaction); unopenable records show as withheld. */
function openSealed(cipher: ValueCipher, holder: unknown, field: string): unknown {
  if (typeof holder !== 'object' || holder === null) return holder;
  const value = (holder as Record<string, unknown>)[field];
  if (!isSealed(value)) return holder;
  try {
    return { ...holder, [field]: cipher.open(value) };
  } catch {
    return { ...holder, [field]: '[encrypted with a key this producer does not have]' };
  }
}
