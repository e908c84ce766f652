// The figures of the simulator's 24 h ticker, kept over the simulator's session (since it
// started) rather than a sliding 24 h: a session is a test or a replay, shorter than a day in
// wall time, and a sliding window would have to remember every price of the day. Open is the
// price at start, high and low the extremes since, volumes the fills since (the simulated market
// has no trades but the own ones).
import type { TickerFigures } from './bingx-ws-wire.js';

export class MarketStats {
  private open = Number.NaN;
  private high = Number.NaN;
  private low = Number.NaN;
  private baseVolume = 0;
  private quoteVolume = 0;

  constructor(private readonly openTime: number) {}

  /**
   * Records where the price is after a jump or a walk. The walk passes every price between the
   * previous one and this, so the previous and this bound what it crossed.
   */
  price(price: number): void {
    if (!Number.isFinite(price)) return;
    if (Number.isNaN(this.open)) {
      this.open = price;
      this.high = price;
      this.low = price;
      return;
    }
    if (price > this.high) this.high = price;
    if (price < this.low) this.low = price;
  }

  trade(amount: number, price: number): void {
    this.baseVolume += amount;
    this.quoteVolume += amount * price;
  }

  /** The ticker at `last`, or undefined before the first price. */
  figures(last: number): TickerFigures | undefined {
    if (Number.isNaN(this.open) || !Number.isFinite(last)) return undefined;
    return {
      open: this.open,
      high: this.high,
      low: this.low,
      last,
      baseVolume: this.baseVolume,
      quoteVolume: this.quoteVolume,
      openTime: this.openTime,
    };
  }
}
