// Which store outages are worth a message: one that lasts a minute (storeDownAfterMs) gets one
// "store down" message, then one "store back up" when it ends; a shorter blip gets none. The
// runtime may report an outage once or at every failed check: a timer started at the first report
// sends the message when the minute is up even if no later report comes.
import type { StoreDownNotification, StoreUpNotification } from '../../domain/notifications.js';

interface Outage {
  /** performance.now() when the store went down, as the first report tells. */
  readonly startedAt: number;
  /** The latest report's error. */
  error: string;
  notified: boolean;
  timer?: NodeJS.Timeout;
}

export class StoreOutageGate {
  private outage: Outage | undefined;

  constructor(
    private readonly afterMs: number,
    private readonly emit: (event: StoreDownNotification | StoreUpNotification) => void,
  ) {}

  down(report: StoreDownNotification): void {
    const now = performance.now();
    this.outage ??= { startedAt: now - report.downForMs, error: report.error, notified: false };
    const outage = this.outage;
    outage.error = report.error;
    if (outage.notified) return;
    const downForMs = now - outage.startedAt;
    if (downForMs >= this.afterMs) this.announce(outage);
    // Unref'd: an outage that is not yet a minute old must not keep the process alive.
    else outage.timer ??= setTimeout(() => this.announce(outage), this.afterMs - downForMs).unref();
  }

  up(report: StoreUpNotification): void {
    const outage = this.outage;
    if (!outage) return;
    this.outage = undefined;
    clearTimeout(outage.timer);
    if (outage.notified) this.emit(report);
  }

  /** Forgets an outage that has not reached the minute (shutdown). */
  stop(): void {
    clearTimeout(this.outage?.timer);
  }

  private announce(outage: Outage): void {
    clearTimeout(outage.timer);
    outage.notified = true;
    this.emit({ kind: 'storeDown', downForMs: Math.round(performance.now() - outage.startedAt), error: outage.error });
  }
}
