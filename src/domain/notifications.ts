// What the bot tells its user outside the logs (Telegram, Discord, a webhook): the events and the
// port that carries them. Plain data, no I/O; the adapters in src/adapters/notify deliver them.

import type { Side } from './trading.js';

/** One fill of a grid's order. The notifier coalesces fills into one message per grid. */
export interface FillNotification {
  readonly kind: 'fill';
  readonly grid: string;
  readonly side: Side;
  readonly price: number;
  readonly amount: number;
  readonly clientOrderId: string;
}

/** The grid's stop-loss or take-profit fired at `price`. */
export interface PriceTriggerNotification {
  readonly kind: 'priceTrigger';
  readonly grid: string;
  readonly trigger: 'stopLoss' | 'takeProfit';
  readonly price: number;
}

/** The grid entered its ERROR state and trades no more until someone looks. */
export interface GridErrorNotification {
  readonly kind: 'gridError';
  readonly grid: string;
  readonly reason: string;
}

/** A supervisor exhausted its restarts and stopped its children. */
export interface SupervisorGaveUpNotification {
  readonly kind: 'supervisorGaveUp';
  readonly supervisor: string;
  readonly reason: string;
}

/**
 * The store has been unreachable for `downForMs`. Report it when the outage starts, and again as
 * it goes on if convenient: the notifier sends one message per outage, once it has lasted a
 * minute (its own timer counts from the first report), and none for a shorter outage.
 */
export interface StoreDownNotification {
  readonly kind: 'storeDown';
  readonly downForMs: number;
  readonly error: string;
}

/** The store answers again after `downForMs`; sent only when that outage was notified. */
export interface StoreUpNotification {
  readonly kind: 'storeUp';
  readonly downForMs: number;
}

export type NotificationEvent =
  | FillNotification
  | PriceTriggerNotification
  | GridErrorNotification
  | SupervisorGaveUpNotification
  | StoreDownNotification
  | StoreUpNotification;

/**
 * Where the runtime hands its notifications. `notify` returns at once and never throws: a target
 * that is slow, down or hanging must never delay trading. `close` sends what is still pending,
 * giving up after `capMs`, and then ignores further events.
 */
export interface Notifier {
  notify(event: NotificationEvent): void;
  close(capMs: number): Promise<void>;
}

/** The notifier when no target is configured: accepts everything, sends nothing. */
export const noopNotifier: Notifier = {
  notify: () => undefined,
  close: async () => undefined,
};
