// In-memory store for backtests and tests: same contract as the Postgres store, kept in Maps.
import type { FillPageQuery } from '../../domain/grid-control.js';
import type { Fill, OrderIntent } from '../../domain/trading.js';
import type { JournalAppend, JournalEntry, JournalPosition, OrderUpdate, PaperAccountStore, SavedGrid, StorePort } from './port.js';

export class MemoryStore implements StorePort, PaperAccountStore {
  readonly intents = new Map<string, { gridId: string; intent: OrderIntent; at: number }>();
  readonly fills = new Map<string, Fill>();
  readonly orderUpdates = new Map<string, OrderUpdate>();
  readonly gridSnapshots = new Map<string, { state: string; snapshot: unknown; machineVersion: number }>();
  /** Each grid's event journal, oldest first. */
  readonly journals = new Map<string, JournalEntry[]>();
  private readonly journaled = new Set<string>();
  /** Paper accounts, kept as JSON text: a save is a copy, as in a database. */
  readonly paperAccounts = new Map<string, string>();

  async recordIntent(gridId: string, intent: OrderIntent): Promise<boolean> {
    if (this.intents.has(intent.clientOrderId)) return false;
    this.intents.set(intent.clientOrderId, { gridId, intent, at: Date.now() });
    return true;
  }

  async recordFill(fill: Fill): Promise<boolean> {
    if (this.fills.has(fill.tradeId)) return false;
    this.fills.set(fill.tradeId, fill);
    return true;
  }

  async recordOrderUpdate(clientOrderId: string, update: OrderUpdate): Promise<void> {
    this.orderUpdates.set(clientOrderId, { ...this.orderUpdates.get(clientOrderId), ...update });
  }

  async saveGridSnapshot(gridId: string, state: string, snapshot: unknown, machineVersion: number): Promise<void> {
    this.gridSnapshots.set(gridId, { state, snapshot, machineVersion });
  }

  async gridSnapshot(gridId: string): Promise<SavedGrid | undefined> {
    return this.gridSnapshots.get(gridId);
  }

  async fillsOf(clientOrderIds: readonly string[]): Promise<Fill[]> {
    const wanted = new Set(clientOrderIds);
    return [...this.fills.values()].filter((fill) => wanted.has(fill.clientOrderId)).sort((a, b) => a.timestamp - b.timestamp);
  }

  async gridFills(gridId: string, { limit, before }: FillPageQuery): Promise<Fill[]> {
    const newestFirst = (a: Fill, b: Fill): number => b.timestamp - a.timestamp || byBytes(b.tradeId, a.tradeId);
    const after = (fill: Fill): boolean =>
      before === undefined || fill.timestamp < before.timestamp || (before.tradeId !== undefined && fill.timestamp === before.timestamp && byBytes(fill.tradeId, before.tradeId) < 0);
    return [...this.fills.values()]
      .filter((fill) => this.intents.get(fill.clientOrderId)?.gridId === gridId && after(fill))
      .sort(newestFirst)
      .slice(0, limit);
  }

  async recoverySince(gridId: string): Promise<number | undefined> {
    const ended = new Set(['canceled', 'rejected', 'expired']);
    const filled = new Map<string, number>();
    for (const fill of this.fills.values()) filled.set(fill.clientOrderId, (filled.get(fill.clientOrderId) ?? 0) + fill.amount);
    const open = [...this.intents.values()].filter(
      ({ gridId: id, intent }) => id === gridId && !ended.has(this.orderUpdates.get(intent.clientOrderId)?.status ?? '') && (filled.get(intent.clientOrderId) ?? 0) < intent.amount,
    );
    return open.length === 0 ? undefined : Math.min(...open.map(({ at }) => at));
  }

  async exchangeOrderIds(gridId: string, since: number): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const ofGrid = (clientOrderId: string): boolean => {
      const stored = this.intents.get(clientOrderId);
      return stored?.gridId === gridId && stored.at >= since;
    };
    // Like the Postgres store: the id an ack stored, else the one its first stored fill named.
    for (const fill of this.fills.values()) if (ofGrid(fill.clientOrderId)) ids.set(fill.orderId, fill.clientOrderId);
    for (const [clientOrderId, update] of this.orderUpdates) if (ofGrid(clientOrderId) && update.exchangeOrderId !== undefined) ids.set(update.exchangeOrderId, clientOrderId);
    return ids;
  }

  async appendEvents(gridId: string, entries: readonly JournalAppend[]): Promise<void> {
    const journal = this.journals.get(gridId) ?? [];
    this.journals.set(gridId, journal);
    for (const { run, seq, type, payload } of entries) {
      const key = `${run}:${seq}`;
      if (this.journaled.has(key)) continue;
      this.journaled.add(key);
      // As JSON, like the Postgres store's JSONB: what cannot be stored as JSON is not replayed either.
      journal.push({ type, payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown>, position: { run, seq } });
    }
  }

  async journal(gridId: string): Promise<JournalEntry[]> {
    return [...(this.journals.get(gridId) ?? [])];
  }

  async journalAfter(gridId: string, position: JournalPosition): Promise<JournalEntry[] | undefined> {
    const journal = this.journals.get(gridId) ?? [];
    const at = journal.findIndex((entry) => entry.position?.run === position.run && entry.position.seq === position.seq);
    return at < 0 ? undefined : journal.slice(at + 1);
  }

  async paperAccount(id: string): Promise<unknown> {
    const saved = this.paperAccounts.get(id);
    return saved === undefined ? undefined : JSON.parse(saved);
  }

  async savePaperAccount(id: string, state: unknown): Promise<void> {
    this.paperAccounts.set(id, JSON.stringify(state));
  }
}

/** Compares strings as their UTF-8 bytes, as Postgres's "C" collation does. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
