// A virtual clock for backtests: time moves only when the runner says so, and XState's delayed
// events (order submit timeouts) fire in deadline order when it does.
import type { ActorOptions, AnyActorLogic } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.time + timeout, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }

  /** Moves time forward to `time`, firing every timer due by then, earliest first. */
  advanceTo(time: number): void {
    while (this.timers.size > 0) {
      let next: Timer | undefined;
      for (const timer of this.timers.values()) if (timer.due <= time && (next === undefined || timer.due < next.due)) next = timer;
      if (next === undefined) break;
      this.timers.delete(next.id);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    if (time > this.time) this.time = time;
  }
}
