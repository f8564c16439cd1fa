/**
 * Takes a check's tokens on its payer, tenant and payer + NPI in one Redis script, checking the
 * limits against every worker's tokens at that instant. Workers decide from cached counts, which
 * lets a burst of workers each admit a new payer's first checks; this atomic take is what keeps a
 * payer (a down one above all) to its earned concurrency across workers. A half-open breaker's
 * single probe is taken here too.
 */
import type { Redis } from 'ioredis';
import { RedisScript } from '../../shared/clients/redis-script.js';

// KEYS: 1 payer hash, 2 payer tokens, 3 tenant tokens, 4 npi tokens, 5 active keys,
//       6 the batch queue's prioritized set.
// ARGV: 1 now, 2 expiry, 3 token, 4 pool, 5 initial, 6 cap, 7 tenantMax, 8 npiCap, 9 probeMs,
//       10 payer, 11 tenant, 12 hasNpi, 13 ttlMs, 14 contended, 15 job key prefix, 16 how many
//       queued checks to look at (0: none), 17 scheduler key prefix, 18 another payer is active
//       (earned concurrency applies), 19 tenants with a limit (JSON: { tenant: max }).
// When the payer is at its cap and the worker does not know it to be contended, the queue's head
// decides: another payer's check there whose payer runs below the concurrency it has earned,
// breaker not open, and whose tenant is below its own limit, waits for this one's slots. (Keys
// are built by name, as BullMQ's own scripts do.)
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
  local held = redis.call('ZCARD', KEYS[2])
  -- Alone, a payer has no limit of its own (as the worker's check says): the semaphore bounds it,
  -- and a dead worker's tokens, which outlive its slots, must not refuse it.
  local limit = math.huge
  local earnedLimit = math.floor(tonumber(h[1]) or tonumber(ARGV[5]))
  if ARGV[18] == '1' then limit = earnedLimit end
  local contendedLimit = math.min(earnedLimit, tonumber(ARGV[6]))
  local contendedBy = nil
  if held >= contendedLimit then
    local contended = ARGV[14] == '1'
    if not contended and tonumber(ARGV[16]) > 0 then
      local tenantMaxOf = cjson.decode(ARGV[19])
      local tenantFull = {}
      local seen = {}
      for _, id in ipairs(redis.call('ZRANGE', KEYS[6], 0, tonumber(ARGV[16]) - 1)) do
        local name = redis.call('HGET', ARGV[15] .. id, 'name')
        local other, otherTenant = nil, nil
        if name then other, otherTenant = string.match(name, '^check:([^:]+):(.*)$') end
        local held_back = false
        local tmax = otherTenant and tenantMaxOf[otherTenant]
        if tmax then
          if tenantFull[otherTenant] == nil then
            tenantFull[otherTenant] =
              redis.call('ZCOUNT', ARGV[17] .. 'held:tenant:' .. otherTenant, now, '+inf') >= tmax
          end
          held_back = tenantFull[otherTenant]
        end
        if other and other ~= ARGV[10] and not held_back and not seen[other] then
          seen[other] = true
          local running = redis.call('ZCOUNT', ARGV[17] .. 'held:payer:' .. other, now, '+inf')
          local oh = redis.call('HMGET', ARGV[17] .. 'payer:' .. other, 'earned', 'openUntil')
          local earned = math.floor(tonumber(oh[1]) or tonumber(ARGV[5]))
          local otherOpenUntil = tonumber(oh[2]) or 0
          -- Half-open, a payer runs its one probe and nothing else.
          if otherOpenUntil > 0 then earned = 1 end
          if running < earned and otherOpenUntil <= now then
            contended = true
            contendedBy = other
            break
          end
        end
      end
    end
    if contended then limit = contendedLimit end
  end
  if probing then limit = 1 end
  if held >= limit then
    -- Refused on what the queue showed: say who waits, so the worker holds the check back
    -- (and gives its lane up) instead of asking again until its own look at the queue.
    if contendedBy and not probing then return {3, contendedBy} end
    return 0
  end
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
if probing then return 2 end
return 1
`;
const script = new RedisScript(lua, 6);

/** What one take needs; durations in ms. */
export interface HoldRequest {
  readonly keys: {
    readonly payerHash: string;
    readonly payer: string;
    readonly tenant: string;
    readonly npi: string;
    readonly active: string;
    /** The batch queue's prioritized set. */
    readonly queued: string;
  };
  /** Prefix of the batch queue's job hashes (`<prefix>:<queue>:`). */
  readonly jobPrefix: string;
  /** Queued checks to look at for other payers (0: the worker looked itself). */
  readonly queueHead: number;
  /** Prefix of the scheduler's keys (`<prefix>:sched:`), for other payers' tokens and health. */
  readonly schedPrefix: string;
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
  /** Other payers' checks wait below their own limits: the cap applies. */
  readonly contended: boolean;
  /** Other payers have work in flight or waiting: earned concurrency applies. */
  readonly othersActive: boolean;
  /** 0 for no limit. */
  readonly tenantMax: number;
  /** 0 for no cap. */
  readonly npiCap: number;
  /**
   * Every tenant with a concurrency limit: a queued check its tenant holds back waits for none of
   * this payer's slots.
   */
  readonly tenantLimits: ReadonlyMap<string, number>;
}

/**
 * `taken` when the tokens were taken, `probe` when they were and this check is the half-open
 * breaker's probe, `refused` when a limit (or an open breaker) refuses now, `contendedBy` when
 * the payer's cap refuses it because that payer's checks wait at the queue head.
 */
export async function holdTokens(
  redis: Redis,
  r: HoldRequest,
): Promise<'taken' | 'probe' | 'refused' | { readonly contendedBy: string }> {
  const k = r.keys;
  const reply = await script.run(
    redis,
    [k.payerHash, k.payer, k.tenant, k.npi, k.active, k.queued],
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
      r.contended ? '1' : '0',
      r.jobPrefix,
      r.queueHead,
      r.schedPrefix,
      r.othersActive ? '1' : '0',
      // An object even when empty (cjson decodes {} and [] alike; either indexes to nil).
      JSON.stringify(Object.fromEntries(r.tenantLimits)),
    ],
  );
  if (Array.isArray(reply)) return { contendedBy: String(reply[1]) };
  return reply === 2 ? 'probe' : reply === 1 ? 'taken' : 'refused';
}

/** Frees a half-open breaker's probe that ended with nothing to say about the payer (a 429, a 4xx). */
export async function freeProbe(redis: Redis, payerHash: string): Promise<void> {
  await redis.hdel(payerHash, 'probeUntil');
}
