/**
 * /admin/status: a live page of the allocation, for those who run `npm start` or have no Grafana.
 * Bull Board's users and roles (basic auth, either role may look); the page polls
 * /admin/status/data every `refreshMs` and redraws itself.
 */
import { Router } from 'express';
import type { Logger } from '../../shared/logger.js';
import { authenticateBoardUser, type BoardUser } from '../bull-board.js';
import { statusPageHtml, statusPageScript } from './status-page-assets.js';
import type { StatusView } from './status-view.js';

/** The mount path of the page. */
export const STATUS_PATH = '/admin/status';

// Data comes only from this origin, and the page runs only its own script.
const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's router, to mount at STATUS_PATH. */
export function statusPage(
  users: readonly BoardUser[],
  readStatus: () => Promise<StatusView>,
  refreshMs: number,
  logger: Logger,
): Router {
  const router = Router();
  router.use((req, res, next) => {
    if (authenticateBoardUser(users, req.get('authorization'))) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="Bull Board", charset="UTF-8"')
      .json({ error: 'the status page needs a Bull Board user name and password' });
  });
  router.get('/', (_req, res) => {
    res
      .set('Content-Security-Policy', contentSecurityPolicy)
      .type('html')
      .send(statusPageHtml(refreshMs));
  });
  router.get('/status.js', (_req, res) => {
    res.type('application/javascript').send(statusPageScript);
  });
  router.get('/data', async (_req, res) => {
    try {
      res.json(await readStatus());
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'status page data unavailable');
      res.status(503).json({ error: `status unavailable: ${(err as Error).message}` });
    }
  });
  return router;
}
