// In-memory store for backtests and tests: same contract as the Postgres store, kept in Maps.
import type { Fill, OrderIntent } from '../../domain/trading.js';
import type { OrderUpdate, StorePort } from './port.js';

export class MemoryStore implements StorePort {
  readonly intents = new Map<string, { gridId: string; intent: OrderIntent }>();
  readonly fills = new Map<string, Fill>();
  readonly orderUpdates = new Map<string, OrderUpdate>();
  readonly gridSnapshots = new Map<string, { state: string; snapshot: unknown; machineVersion: number }>();

  async recordIntent(gridId: string, intent: OrderIntent): Promise<boolean> {
    if (this.intents.has(intent.clientOrderId)) return false;
    this.intents.set(intent.clientOrderId, { gridId, intent });
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
}
