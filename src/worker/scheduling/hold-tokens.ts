/**
 * Takes a check's tokens on its payer, tenant and payer + NPI in one Redis script, checking the
 * limits against every worker's tokens at that instant. Workers decide from cached counts, which
 * lets a burst of workers each admit a new payer's first checks; this atomic take is what keeps a
 * payer (a down one above all) to its earned concurrency across workers. A half-open breaker's
 * single probe is taken here too.
 */
import type { Redis } from 'ioredis';
import { RedisScript } from '../../shared/clients/redis-script.js';

// KEYS: 1 payer hash, 2 payer tokens, 3 tenant tokens, 4 npi tokens, 5 active keys.
// ARGV: 1 now, 2 expiry, 3 token, 4 pool, 5 initial, 6 cap, 7 tenantMax, 8 npiCap, 9 probeMs,
//       10 payer, 11 tenant, 12 hasNpi, 13 ttlMs, 14 allocation, 15 contended.
const lua = `
local now = tonumber(ARGV[1])
for i = 2, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
local batch = ARGV[4] == 'batch'
local h = redis.call('HMGET', KEYS[1], 'earned', 'openUntil', 'probeUntil')
local openUntil = tonumber(h[2]) or 0
local probing = false
if batch and openUntil > 0 then
  if openUntil > now or (tonumber(h[3]) or 0) > now then return 0 end
  probing = true
end
if batch then
  local limit = tonumber(ARGV[14])
  if ARGV[15] == '1' then
    limit = math.min(math.floor(tonumber(h[1]) or tonumber(ARGV[5])), tonumber(ARGV[6]))
  end
  if probing then limit = 1 end
  if redis.call('ZCARD', KEYS[2]) >= limit then return 0 end
  local tenantMax = tonumber(ARGV[7])
  if tenantMax > 0 and redis.call('ZCARD', KEYS[3]) >= tenantMax then return 0 end
  local npiCap = tonumber(ARGV[8])
  if ARGV[12] == '1' and npiCap > 0 and redis.call('ZCARD', KEYS[4]) >= npiCap then return 0 end
end
if probing then redis.call('HSET', KEYS[1], 'probeUntil', now + tonumber(ARGV[9])) end
local last = 3
if ARGV[12] == '1' then last = 4 end
for i = 2, last do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[i], ARGV[13])
end
redis.call('ZADD', KEYS[5], now, 'payer:' .. ARGV[10], now, 'tenant:' .. ARGV[11])
return 1
`;
const script = new RedisScript(lua, 5);

/** What one take needs; durations in ms. */
export interface HoldRequest {
  readonly keys: {
    readonly payerHash: string;
    readonly payer: string;
    readonly tenant: string;
    readonly npi: string;
    readonly active: string;
  };
  readonly payer: string;
  readonly tenant: string;
  readonly hasNpi: boolean;
  readonly pool: 'realtime' | 'batch';
  readonly token: string;
  readonly now: number;
  readonly ttlMs: number;
  readonly initialConcurrency: number;
  /** The payer's cap in slots. */
  readonly cap: number;
  /** Other payers' checks wait: earned concurrency and cap apply (else only the allocation). */
  readonly contended: boolean;
  readonly allocation: number;
  /** 0 for no limit. */
  readonly tenantMax: number;
  /** 0 for no cap. */
  readonly npiCap: number;
}

/** True when the tokens were taken; false when a limit (or an open breaker) refuses now. */
export async function holdTokens(redis: Redis, r: HoldRequest): Promise<boolean> {
  const k = r.keys;
  const reply = await script.run(
    redis,
    [k.payerHash, k.payer, k.tenant, k.npi, k.active],
    [
      r.now,
      r.now + r.ttlMs,
      r.token,
      r.pool,
      r.initialConcurrency,
      r.cap,
      r.tenantMax,
      r.npiCap,
      r.ttlMs,
      r.payer,
      r.tenant,
      r.hasNpi ? '1' : '0',
      r.ttlMs,
      r.allocation,
      r.contended ? '1' : '0',
    ],
  );
  return reply === 1;
}
