import type { Fill } from '../../src/domain/trading.js';

/**
 * A fill as the wire carries it, for comparing the bot's books with the simulator's: BingX writes
 * decimals to 12 places, so float noise below that is not part of a fill.
 */
export function fillKey(fill: Pick<Fill, 'clientOrderId' | 'side' | 'price' | 'amount'>): string {
  return `${fill.clientOrderId}|${fill.side}|${Number(fill.price.toFixed(12))}|${Number(fill.amount.toFixed(12))}`;
}
