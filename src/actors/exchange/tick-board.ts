// The prices a session has told: the last tick of each symbol and who listens for the next ones.
// Shared by the live exchange session and the paper session, which tell ticks from different
// sources (streams and polling; the paper walk) to the same readers (the grids' start price,
// stop-loss and take-profit).
import type { Tick } from '../../adapters/exchange/port.js';

export class TickBoard {
  private readonly listeners = new Set<(tick: Tick) => void>();
  private readonly last = new Map<string, Tick>();

  /** Records `tick` as its symbol's last and tells every listener. */
  tell(tick: Tick): void {
    this.last.set(tick.symbol, tick);
    for (const listener of [...this.listeners]) listener(tick);
  }

  lastTick(symbol: string): Tick | undefined {
    return this.last.get(symbol);
  }

  /** When the latest tick of any symbol was (ms), or null before the first. */
  lastTickAt(): number | null {
    const times = [...this.last.values()].map((tick) => tick.timestamp);
    return times.length === 0 ? null : Math.max(...times);
  }

  /** Every tick of every symbol from now on; returns the unsubscribe function. */
  onTick(listener: (tick: Tick) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current tick of `symbol`, waiting for the first one if none has come yet. */
  firstTick(symbol: string, signal?: AbortSignal): Promise<Tick> {
    const known = this.last.get(symbol);
    if (known) return Promise.resolve(known);
    if (signal?.aborted) return Promise.reject(new Error(`stopped before the first ${symbol} price arrived`));
    return new Promise<Tick>((resolve, reject) => {
      const unsubscribe = this.onTick((tick) => {
        if (tick.symbol !== symbol) return;
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(tick);
      });
      const onAbort = (): void => {
        unsubscribe();
        reject(new Error(`stopped before the first ${symbol} price arrived`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
