// Fills coalesced into one message per grid: the first fill of a grid opens a window, and when it
// closes every fill the grid had in it leaves as one batch. A grid that fills all the time thus
// sends one message per window, not one per fill (which would hit every rate limit at once).
import type { FillNotification } from '../../domain/notifications.js';
import type { FillBatch } from './messages.js';

interface OpenWindow {
  readonly fills: FillBatch['fills'][number][];
  readonly timer: NodeJS.Timeout;
}

export class FillCoalescer {
  private readonly open = new Map<string, OpenWindow>();

  constructor(
    private readonly windowMs: number,
    private readonly emit: (batch: FillBatch) => void,
  ) {}

  add(fill: FillNotification): void {
    const { kind: _kind, grid, ...detail } = fill;
    const window = this.open.get(grid);
    if (window) {
      window.fills.push(detail);
      return;
    }
    // Unref'd: a pending batch must not keep the process alive; close() flushes it.
    const timer = setTimeout(() => this.release(grid), this.windowMs).unref();
    this.open.set(grid, { fills: [detail], timer });
  }

  /** Closes every open window now (shutdown). */
  flush(): void {
    for (const grid of [...this.open.keys()]) this.release(grid);
  }

  private release(grid: string): void {
    const window = this.open.get(grid);
    if (!window) return;
    this.open.delete(grid);
    clearTimeout(window.timer);
    this.emit({ kind: 'fills', grid, fills: window.fills });
  }
}
