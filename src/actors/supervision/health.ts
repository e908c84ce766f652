// Health, derived from the actors' own states at the moment it is asked: each part of the runtime
// (the supervision tree, the store, the exchange session, every grid) registers a function that
// reads its state; /health calls them all. Nothing is cached, so /health cannot say "healthy" about
// a state that has since changed. The process is healthy when every part is.
//
// A part that throws while reporting is unhealthy ("unknown"): a health check must never be the
// thing that crashes, nor hide a broken part.

import type { HealthReport, PartHealth } from '../../domain/health.js';

export type { HealthReport, PartHealth } from '../../domain/health.js';

export class HealthBoard {
  private readonly parts = new Map<string, () => PartHealth>();
  private readonly startedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  /** Adds (or replaces) the part `name`; returns the function that removes it. */
  register(name: string, read: () => PartHealth): () => void {
    this.parts.set(name, read);
    return () => {
      if (this.parts.get(name) === read) this.parts.delete(name);
    };
  }

  report(): HealthReport {
    const parts: Record<string, PartHealth> = {};
    const problems: string[] = [];
    for (const [name, read] of this.parts) {
      let part: PartHealth;
      try {
        part = read();
      } catch (error) {
        part = { healthy: false, state: 'unknown', reason: `its state could not be read: ${error instanceof Error ? error.message : String(error)}` };
      }
      parts[name] = part;
      if (!part.healthy) problems.push(`${name}: ${part.reason ?? part.state}`);
    }
    return { status: problems.length === 0 ? 'healthy' : 'unhealthy', problems, parts, uptimeSeconds: Math.round((this.now() - this.startedAt) / 1000) };
  }
}

/** A grid's lifecycle state as /health names it: the top state of its statechart value, IDLE / ACTIVE / PAUSED / ERROR. */
export function lifecycleState(value: unknown): string {
  const top = typeof value === 'object' && value !== null ? (Object.keys(value)[0] ?? 'unknown') : String(value);
  return top.toUpperCase();
}
