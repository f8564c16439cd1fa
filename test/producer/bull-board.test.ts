import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';

let p: ProducerEnv;
beforeAll(async () => {
  p = await producerEnv({ BULL_BOARD_USERS: 'admin:admin-secret:admin,viewer:viewer-secret:read' });
});
afterAll(async () => {
  await p.close();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const board = (path: string, auth?: string) =>
  fetch(`${p.url}/admin/queues${path}`, auth ? { headers: { authorization: auth } } : {});

describe('Bull Board', () => {
  it('refuses requests without admin or read-only credentials, with a browser login prompt', async () => {
    const none = await board('');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await board('', basic('admin', 'wrong'))).status).toBe(401);
    expect((await board('/api/queues', basic('intruder', 'admin-secret'))).status).toBe(401);
  });

  it('serves the board to admins, and a read-only board to viewers', async () => {
    const page = await board('', basic('admin', 'admin-secret'));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const adminQueues = (await (
      await board('/api/queues', basic('admin', 'admin-secret'))
    ).json()) as {
      queues: { name: string; readOnlyMode: boolean }[];
    };
    expect(adminQueues.queues.map((q) => q.name).sort()).toEqual([
      'eligibility-batch',
      'eligibility-realtime',
      'eligibility-stedi-batch',
      'eligibility-stedi-batch-chunks',
    ]);
    expect(adminQueues.queues.every((q) => !q.readOnlyMode)).toBe(true);
    const viewerQueues = (await (
      await board('/api/queues', basic('viewer', 'viewer-secret'))
    ).json()) as {
      queues: { readOnlyMode: boolean }[];
    };
    expect(viewerQueues.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('shows job data redacted: masked member id, initials, no date of birth', async () => {
    const request = {
      ...checkRequest('ZZMEMBER9876'),
      subscriber: {
        memberId: 'ZZMEMBER9876',
        firstName: 'Zelda',
        lastName: 'Quixote',
        dateOfBirth: '19770707',
      },
    };
    const res = await p.call('/v1/eligibility', {
      method: 'POST',
      body: JSON.stringify({ request }),
    });
    expect(res.status).toBe(202);
    const text = await (
      await board(
        '/api/queues?activeQueue=eligibility-realtime&status=waiting&page=1&jobsPerPage=50',
        basic('admin', 'admin-secret'),
      )
    ).text();
    expect(text).toContain('****9876');
    expect(text).toContain('Z.Q.');
    for (const secret of ['ZZMEMBER9876', 'Zelda', 'Quixote', '19770707'])
      expect(text).not.toContain(secret);
  });
});
