// Delivery to one target: a bounded queue sent in order, one request at a time, within the
// target's rate limit. Every failure ends here: it is logged at warn with the target's name and
// the HTTP status or error class (never the URL, which holds the secret), and counted, so the next
// message that gets through says how many were lost. Nothing in here throws to the caller.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../telemetry/logger.js';
import { messageText, type DeliveredEvent } from './messages.js';
import type { NotifyTarget } from './targets.js';

export interface QueuedMessage {
  readonly text: string;
  readonly event: DeliveredEvent;
}

/** At most `messages` requests in any `perMs`. */
export interface RateLimit {
  readonly messages: number;
  readonly perMs: number;
}

export interface TargetQueueOptions {
  readonly logger: Logger;
  readonly environment: string;
  readonly fetch: typeof fetch;
  readonly rateLimit: RateLimit;
  /** Messages that may wait; a new one beyond this drops the oldest. */
  readonly queueLimit: number;
  readonly requestTimeoutMs: number;
  /** The longest a 429's Retry-After is honoured; a longer one is cut to this. */
  readonly maxRetryAfterMs: number;
  /** Aborted when close's cap is reached: ends the request in flight and any wait. */
  readonly stop: AbortSignal;
}

/** The wait after a 429 that does not say how long to wait. */
const defaultRetryAfterMs = 1_000;

export class TargetQueue {
  private readonly waiting: QueuedMessage[] = [];
  /** Start times (performance.now) of the requests of the current rate window. */
  private readonly sentAt: number[] = [];
  /** Messages lost since the last one delivered: dropped from a full queue, or failed. */
  private suppressed = 0;
  private running = false;
  /** The message being sent plus the losses its note carries: lost too if close cuts it. */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly target: NotifyTarget,
    private readonly options: TargetQueueOptions,
  ) {}

  get name(): NotifyTarget['name'] {
    return this.target.name;
  }

  enqueue(message: QueuedMessage): void {
    this.waiting.push(message);
    if (this.waiting.length > this.options.queueLimit) {
      this.waiting.shift();
      this.suppressed += 1;
    }
    if (!this.running) {
      this.running = true;
      void this.pump();
    }
  }

  /** Resolves once nothing waits and no request is in flight. */
  drained(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** After stop: forgets what is left and says how many messages never got through. */
  abandon(): number {
    const lost = this.waiting.length + this.inFlight + this.suppressed;
    this.waiting.length = 0;
    this.suppressed = 0;
    return lost;
  }

  private async pump(): Promise<void> {
    // First yield: enqueue (and so notify) returns before any request is even built.
    await null;
    try {
      while (!this.options.stop.aborted) {
        const message = this.waiting.shift();
        if (!message) break;
        const carried = this.suppressed;
        this.suppressed = 0;
        this.inFlight = carried + 1;
        const delivered = await this.deliver(messageText(this.options.environment, message.text, carried), message.event);
        this.inFlight = 0;
        if (!delivered && !this.options.stop.aborted) this.suppressed += carried + 1;
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** One message, retried once after a 429; true when the target accepted it. */
  private async deliver(text: string, event: DeliveredEvent): Promise<boolean> {
    const { logger, stop } = this.options;
    const target = this.target.name;
    for (let attempt = 1; ; attempt++) {
      if (!(await this.rateSlot())) return false;
      let response: Response;
      try {
        const signal = AbortSignal.any([stop, AbortSignal.timeout(this.options.requestTimeoutMs)]);
        response = await this.options.fetch(this.target.request(text, event), { signal });
      } catch (error) {
        if (!stop.aborted) logger.warn({ target, ...errorClass(error) }, 'notification not delivered');
        return false;
      }
      if (response.ok) {
        discardBody(response);
        return true;
      }
      if (response.status === 429 && attempt === 1) {
        const waitMs = Math.min((await retryAfterMs(response)) ?? defaultRetryAfterMs, this.options.maxRetryAfterMs);
        discardBody(response);
        logger.warn({ target, status: 429, retryAfterMs: waitMs }, 'notification target is rate limiting: retrying once after its delay');
        if (!(await pause(waitMs, stop))) return false;
        continue;
      }
      discardBody(response);
      logger.warn({ target, status: response.status }, 'notification not delivered');
      return false;
    }
  }

  /** Waits for room in the rate window and takes it; false when stopped meanwhile. */
  private async rateSlot(): Promise<boolean> {
    const { messages, perMs } = this.options.rateLimit;
    while (true) {
      const now = performance.now();
      while (this.sentAt.length > 0 && now - this.sentAt[0]! >= perMs) this.sentAt.shift();
      if (this.sentAt.length < messages) {
        this.sentAt.push(now);
        return true;
      }
      if (!(await pause(this.sentAt[0]! + perMs - now, this.options.stop))) return false;
    }
  }
}

/** Sleeps without holding the process open; false when `stop` cut it short. */
async function pause(ms: number, stop: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: stop, ref: false });
    return true;
  } catch {
    return false;
  }
}

/** Retry-After (seconds or an HTTP date), else the JSON body's retry_after (Telegram, Discord), in ms. */
async function retryAfterMs(response: Response): Promise<number | undefined> {
  const header = response.headers.get('retry-after');
  if (header !== null) {
    const seconds = Number(header);
    if (header.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  try {
    // Telegram: { parameters: { retry_after: 3 } }; Discord: { retry_after: 1.5 }.
    const body = (await response.json()) as { retry_after?: unknown; parameters?: { retry_after?: unknown } } | null;
    const seconds = body?.parameters?.retry_after ?? body?.retry_after;
    return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Frees the connection of a response whose body nobody reads. */
function discardBody(response: Response): void {
  if (!response.bodyUsed) response.body?.cancel().catch(() => undefined);
}

/** What a failed request's log may show: the error's class and its system code (ECONNREFUSED), no message (it may quote the URL). */
function errorClass(error: unknown): { error: string; code?: string } {
  const name = error instanceof Error ? error.name : typeof error;
  const code = error instanceof Error ? (error.cause as { code?: unknown } | undefined)?.code : undefined;
  return typeof code === 'string' ? { error: name, code } : { error: name };
}
