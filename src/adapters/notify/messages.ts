// The words of a notification: one line of text per event (or per batch of a grid's fills), the
// "[btcbot <environment>]" prefix and the note about notifications that were not delivered. Pure
// functions; the targets put the text into their own request format.
import type { FillNotification, NotificationEvent } from '../../domain/notifications.js';

/** A grid's fills of one coalescing window, in the order they came. */
export interface FillBatch {
  readonly kind: 'fills';
  readonly grid: string;
  readonly fills: readonly Omit<FillNotification, 'kind' | 'grid'>[];
}

/** What a message is about: any event but a single fill, which only travels inside a batch. */
export type DeliveredEvent = Exclude<NotificationEvent, FillNotification> | FillBatch;

/** Discord refuses content over 2,000 characters (Telegram allows 4,096): stay under both. */
export const maxTextLength = 1_900;

/** Fills listed by name in a batch's text; the webhook's event carries them all. */
const listedFills = 10;

/** The event in one line, without prefix. */
export function eventText(event: DeliveredEvent): string {
  switch (event.kind) {
    case 'fills':
      return fillBatchText(event);
    case 'priceTrigger':
      return `grid ${event.grid}: ${event.trigger === 'stopLoss' ? 'stop-loss' : 'take-profit'} triggered at ${event.price}`;
    case 'gridError':
      return `grid ${event.grid} entered ERROR: ${event.reason}`;
    case 'supervisorGaveUp':
      return `supervisor ${event.supervisor} gave up: ${event.reason}`;
    case 'storeDown':
      return `store down for ${durationText(event.downForMs)}: ${event.error}`;
    case 'storeUp':
      return `store back up after ${durationText(event.downForMs)} down`;
  }
}

function fillBatchText(batch: FillBatch): string {
  const count = batch.fills.length;
  const listed = batch.fills.slice(0, listedFills).map((fill) => `${fill.side} ${fill.amount} @ ${fill.price}`);
  const rest = count > listedFills ? `, and ${count - listedFills} more` : '';
  return `grid ${batch.grid}: ${count} ${count === 1 ? 'fill' : 'fills'} — ${listed.join(', ')}${rest}`;
}

/** "45 s", "2 min 5 s", "3 h 20 min": coarse enough to read at a glance. */
export function durationText(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * The text sent: the prefix says which bot and environment speaks (several may share a chat), the
 * note counts the notifications this target lost before this one (dropped or failed), and a long
 * reason is cut so the whole stays within maxTextLength.
 */
export function messageText(environment: string, text: string, suppressed: number): string {
  const prefix = `[btcbot ${environment}] `;
  const note = suppressed > 0 ? ` (${suppressed} more ${suppressed === 1 ? 'notification' : 'notifications'} suppressed)` : '';
  const room = maxTextLength - prefix.length - note.length;
  const body = text.length > room ? `${text.slice(0, room - 1)}…` : text;
  return `${prefix}${body}${note}`;
}
