/**
 * Release hints over Redis pub/sub, so waiters in other processes try a freed slot within
 * milliseconds instead of polling. Hints are only hints: a lost one costs latency (the fallback
 * check finds the slot), never correctness, because DynamoDB decides every claim.
 */
import type { Redis } from 'ioredis';
import type { HintChannel, ReleaseHint } from './types.js';

const channelOf = (name: string) => `semaphore:${name}:released`;

/** HintChannel over one publishing connection and one dedicated subscriber connection. */
export class RedisHintChannel implements HintChannel {
  private readonly handlers = new Map<string, Set<(hint: ReleaseHint) => void>>();
  private listening = false;

  /** `subscriber` must be a connection used for nothing else (Redis subscriber mode). */
  constructor(
    private readonly publisher: Pick<Redis, 'publish'>,
    private readonly subscriber: Pick<Redis, 'subscribe' | 'unsubscribe' | 'on'>,
  ) {}

  async publish(name: string, hint: ReleaseHint): Promise<void> {
    const message =
      hint.kind === 'released'
        ? `r:${hint.slot}`
        : hint.kind === 'batch-demand'
          ? `b:${hint.origin}`
          : hint.kind === 'refill'
            ? `f:${hint.origin}`
            : `d:${hint.forMs}:${hint.origin}`;
    await this.publisher.publish(channelOf(name), message);
  }

  async subscribe(name: string, onHint: (hint: ReleaseHint) => void): Promise<() => Promise<void>> {
    const channel = channelOf(name);
    if (!this.listening) {
      this.listening = true;
      this.subscriber.on('message', (ch: string, message: string) => {
        const hint = parseHint(message);
        if (!hint) return;
        for (const handler of this.handlers.get(ch) ?? []) handler(hint);
      });
    }
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(onHint);
    return async () => {
      set.delete(onHint);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        await this.subscriber.unsubscribe(channel);
      }
    };
  }
}

function parseHint(message: string): ReleaseHint | undefined {
  const [kind, a, ...rest] = message.split(':');
  if (kind === 'r' && Number.isInteger(Number(a))) return { kind: 'released', slot: Number(a) };
  if (kind === 'b' && a) return { kind: 'batch-demand', origin: [a, ...rest].join(':') };
  if (kind === 'f' && a) return { kind: 'refill', origin: [a, ...rest].join(':') };
  if (kind === 'd' && Number(a) > 0)
    return { kind: 'realtime-demand', forMs: Number(a), origin: rest.join(':') };
  return undefined;
}
