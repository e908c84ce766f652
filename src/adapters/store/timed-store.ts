// Timing of the store's writes: `timedWrites(store, observe)` returns the same store with each write
// (intents, fills, order updates, snapshots, journal appends) timed; reads pass through. The
// metrics' btcbot_store_write_duration_seconds{operation} reads it. A write that fails is timed
// too (until it failed); the observer never breaks a write.
import type { DurationObserver } from '../../domain/figures.js';
import type { StorePort } from './port.js';

/** The store's write operations: the ones timed. */
export const STORE_WRITES = ['recordIntent', 'recordFill', 'recordOrderUpdate', 'saveGridSnapshot', 'appendEvents'] as const satisfies readonly (keyof StorePort)[];

export function timedWrites(store: StorePort, observe: DurationObserver): StorePort {
  const timed: Partial<StorePort> = {};
  for (const operation of STORE_WRITES) {
    const write = store[operation] as (...args: unknown[]) => Promise<unknown>;
    (timed as Record<string, unknown>)[operation] = async (...args: unknown[]): Promise<unknown> => {
      const started = performance.now();
      try {
        return await write.apply(store, args);
      } finally {
        try {
          observe(operation, (performance.now() - started) / 1000);
        } catch {
          // an observer never breaks a write
        }
      }
    };
  }
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(timed, key)) return (timed as Record<PropertyKey, unknown>)[key];
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
