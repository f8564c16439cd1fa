/**
 * A payer's health, shared by every worker in one Redis hash: the concurrency it has earned and
 * its circuit breaker. States of the breaker: closed -> open (a streak of failures) -> half-open
 * (cool-down over: one probe may start) -> closed (the probe answered) | open (it failed).
 *
 * Earned concurrency grows as TCP's window does: by one per healthy answer until the first sign of
 * trouble (slow start), then by one per "window" of answers; a failure halves it and a slow answer
 * takes a quarter off, never below one. A payer that is down therefore never holds more than the
 * few slots it started with before the breaker sees its first failures.
 */
import type { Redis } from 'ioredis';
import { RedisScript } from '../../shared/clients/redis-script.js';

/** What a finished call says about its payer. */
export type PayerSignal = 'ok' | 'slow' | 'failure';

/** Parameters of the health rules. */
export interface PayerHealthRules {
  readonly initialConcurrency: number;
  readonly maxConcurrency: number;
  readonly failureThreshold: number;
  readonly cooldownMs: number;
}

// KEYS[1] payer hash. ARGV: signal, now, initial, max, threshold, cooldownMs.
const recordLua = `
local k = KEYS[1]
local signal, now = ARGV[1], tonumber(ARGV[2])
local initial, max = tonumber(ARGV[3]), tonumber(ARGV[4])
local threshold, cooldown = tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', k, 'earned', 'ssthresh', 'streak', 'openUntil')
local earned = tonumber(h[1]) or initial
local ssthresh = tonumber(h[2])
local streak = tonumber(h[3]) or 0
local openUntil = tonumber(h[4]) or 0
local halfOpen = openUntil > 0 and openUntil <= now
if signal ~= 'failure' and halfOpen then
  -- The probe was answered (slowly or not): the payer is back, and earns its concurrency anew.
  streak = 0
  openUntil = 0
  earned = initial
  ssthresh = nil
  redis.call('HDEL', k, 'probeUntil', 'ssthresh', 'downSince')
elseif signal == 'ok' then
  streak = 0
  if ssthresh == nil or earned < ssthresh then
    earned = earned + 1
  else
    earned = earned + 1 / earned
  end
elseif signal == 'slow' then
  earned = math.max(1, earned * 0.75)
  ssthresh = earned
else
  earned = math.max(1, earned * 0.5)
  ssthresh = earned
  streak = streak + 1
  if halfOpen or streak >= threshold then
    openUntil = now + cooldown
    streak = 0
    redis.call('HDEL', k, 'probeUntil')
    -- When the outage began: a re-open after a failed probe keeps it.
    redis.call('HSETNX', k, 'downSince', now)
  end
end
earned = math.min(earned, max)
redis.call('HSET', k, 'earned', tostring(earned), 'streak', streak, 'openUntil', openUntil)
if ssthresh ~= nil then redis.call('HSET', k, 'ssthresh', tostring(ssthresh)) end
redis.call('PEXPIRE', k, 86400000)
return {tostring(earned), tostring(openUntil)}
`;

const record = new RedisScript(recordLua, 1);

/** Records a finished call's signal; returns the payer's earned concurrency and openUntil. */
export async function recordPayerSignal(
  redis: Redis,
  payerKey: string,
  signal: PayerSignal,
  rules: PayerHealthRules,
  now: number,
): Promise<{ earned: number; openUntil: number }> {
  const reply = (await record.run(
    redis,
    [payerKey],
    [
      signal,
      now,
      rules.initialConcurrency,
      rules.maxConcurrency,
      rules.failureThreshold,
      rules.cooldownMs,
    ],
  )) as [string, string];
  return { earned: Number(reply[0]), openUntil: Number(reply[1]) };
}
