// The notifier the runtime holds: routes each event (fills to the coalescer, store reports to the
// outage gate, the rest straight on) and hands the resulting messages to one queue per target.
// notify() only files the event in memory; the queues send in the background, so a target that
// is slow, failing or hanging never delays the caller. close() flushes within a cap.
import { noopNotifier, type NotificationEvent, type Notifier } from '../../domain/notifications.js';
import type { Logger } from '../telemetry/logger.js';
import { FillCoalescer } from './fill-coalescer.js';
import { eventText, type DeliveredEvent } from './messages.js';
import { notifyTargetsFromEnv } from './notify-config.js';
import { StoreOutageGate } from './store-outage.js';
import { TargetQueue, type RateLimit } from './target-queue.js';
import { targetsFrom, type NotifyTarget } from './targets.js';

export interface NotifierOptions {
  readonly logger: Logger;
  /** Which deployment speaks (paper, demo, live...): in every message and the webhook's body. */
  readonly environment: string;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** How long a grid's fills gather before they leave as one message (ms, default 10,000). */
  readonly coalesceMs?: number;
  /** Per target (default 20 messages per 60,000 ms). */
  readonly rateLimit?: RateLimit;
  /** Messages that may wait per target before the oldest is dropped (default 20). */
  readonly queueLimit?: number;
  /** Each request's timeout (ms, default 5,000). */
  readonly requestTimeoutMs?: number;
  /** The longest wait a 429 may ask for (ms, default 30,000). */
  readonly maxRetryAfterMs?: number;
  /** How long the store must be down before it is worth a message (ms, default 60,000). */
  readonly storeDownAfterMs?: number;
}

/** The notifier for the targets `env` configures: noopNotifier when there is none. Throws ConfigError. */
export function createNotifier(env: NodeJS.ProcessEnv, options: NotifierOptions): Notifier {
  const targets = targetsFrom(notifyTargetsFromEnv(env), options.environment);
  if (targets.length === 0) return noopNotifier;
  options.logger.info({ targets: targets.map((target) => target.name) }, 'notifications on');
  return new QueuedNotifier(targets, options);
}

class QueuedNotifier implements Notifier {
  private readonly stop = new AbortController();
  private readonly queues: TargetQueue[];
  private readonly fills: FillCoalescer;
  private readonly storeOutage: StoreOutageGate;
  private closing: Promise<void> | undefined;

  constructor(
    targets: readonly NotifyTarget[],
    private readonly options: NotifierOptions,
  ) {
    const queueOptions = {
      logger: options.logger,
      environment: options.environment,
      fetch: options.fetch ?? fetch,
      rateLimit: options.rateLimit ?? { messages: 20, perMs: 60_000 },
      queueLimit: options.queueLimit ?? 20,
      requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
      stop: this.stop.signal,
    };
    this.queues = targets.map((target) => new TargetQueue(target, queueOptions));
    this.fills = new FillCoalescer(options.coalesceMs ?? 10_000, (batch) => this.send(batch));
    this.storeOutage = new StoreOutageGate(options.storeDownAfterMs ?? 60_000, (event) => this.send(event));
  }

  notify(event: NotificationEvent): void {
    if (this.closing) {
      this.options.logger.debug({ kind: event.kind }, 'notification after close: ignored');
      return;
    }
    if (event.kind === 'fill') this.fills.add(event);
    else if (event.kind === 'storeDown') this.storeOutage.down(event);
    else if (event.kind === 'storeUp') this.storeOutage.up(event);
    else this.send(event);
  }

  close(capMs: number): Promise<void> {
    this.closing ??= this.shutDown(capMs);
    return this.closing;
  }

  private send(event: DeliveredEvent): void {
    const message = { text: eventText(event), event };
    for (const queue of this.queues) queue.enqueue(message);
  }

  private async shutDown(capMs: number): Promise<void> {
    this.fills.flush();
    this.storeOutage.stop();
    let capTimer: NodeJS.Timeout | undefined;
    const capReached = new Promise<void>((resolve) => {
      capTimer = setTimeout(resolve, capMs);
    });
    await Promise.race([Promise.all(this.queues.map((queue) => queue.drained())), capReached]);
    clearTimeout(capTimer);
    // Past the cap nothing more is sent: the request in flight and any wait are cut short.
    this.stop.abort();
    for (const queue of this.queues) {
      const lost = queue.abandon();
      if (lost > 0) this.options.logger.warn({ target: queue.name, lost }, 'notifications not delivered before shutdown');
    }
  }
}
