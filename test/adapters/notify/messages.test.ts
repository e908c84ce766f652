// The text of each notification, the environment prefix, the suppressed-count note and the cut of
// a long reason.
import { describe, expect, test } from 'vitest';
import { durationText, eventText, maxTextLength, messageText } from '../../../src/adapters/notify/messages.js';

describe('notification text', () => {
  test('one line per event', () => {
    expect(eventText({ kind: 'priceTrigger', grid: 'g1', trigger: 'stopLoss', price: 55000 })).toBe('grid g1: stop-loss triggered at 55000');
    expect(eventText({ kind: 'priceTrigger', grid: 'g1', trigger: 'takeProfit', price: 70000.5 })).toBe('grid g1: take-profit triggered at 70000.5');
    expect(eventText({ kind: 'gridError', grid: 'g2', reason: 'order rejected: insufficient balance' })).toBe('grid g2 entered ERROR: order rejected: insufficient balance');
    expect(eventText({ kind: 'supervisorGaveUp', supervisor: 'grids', reason: '5 restarts in 60 s' })).toBe('supervisor grids gave up: 5 restarts in 60 s');
    expect(eventText({ kind: 'storeDown', downForMs: 75_000, error: 'ECONNREFUSED' })).toBe('store down for 1 min 15 s: ECONNREFUSED');
    expect(eventText({ kind: 'storeUp', downForMs: 3 * 3_600_000 + 20 * 60_000 })).toBe('store back up after 3 h 20 min down');
  });

  test("a batch of fills lists the first ten and counts the rest", () => {
    const fill = (i: number) => ({ side: i % 2 === 0 ? ('buy' as const) : ('sell' as const), price: 60000 + i, amount: 0.001, clientOrderId: `c${i}` });
    expect(eventText({ kind: 'fills', grid: 'g1', fills: [fill(0)] })).toBe('grid g1: 1 fill — buy 0.001 @ 60000');
    const text = eventText({ kind: 'fills', grid: 'g1', fills: Array.from({ length: 13 }, (_, i) => fill(i)) });
    expect(text).toMatch(/^grid g1: 13 fills — buy 0\.001 @ 60000, sell 0\.001 @ 60001, .*sell 0\.001 @ 60009, and 3 more$/);
    expect(text).not.toContain('60010');
  });

  test('durations', () => {
    expect([durationText(0), durationText(59_499), durationText(60_000), durationText(3_599_000), durationText(3_600_000)]).toEqual(['0 s', '59 s', '1 min 0 s', '59 min 59 s', '1 h 0 min']);
  });

  test('the prefix names the environment; the note counts what was lost; a long text is cut to fit', () => {
    expect(messageText('live', 'grid g1: x', 0)).toBe('[btcbot live] grid g1: x');
    expect(messageText('demo', 'grid g1: x', 1)).toBe('[btcbot demo] grid g1: x (1 more notification suppressed)');
    const long = messageText('live', `grid g1 entered ERROR: ${'x'.repeat(5_000)}`, 7);
    expect(long).toHaveLength(maxTextLength);
    expect(long).toMatch(/^\[btcbot live\] grid g1 entered ERROR: x+… \(7 more notifications suppressed\)$/);
  });
});
