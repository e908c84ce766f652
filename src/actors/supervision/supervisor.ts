// The supervisor runtime: runs the supervisor statechart (src/machines/supervisor.machine.ts) and
// carries out its decisions on real children. A child is any factory returning an actor-like ref
// (an XState actor of any logic, or a nested supervisor): the runtime creates it, subscribes to its
// `error` and `complete` BEFORE starting it (an XState actor whose error nobody observes throws it
// out of the process: the runtime makes that impossible to forget), starts it, registers it under
// its systemId, and stops it.
//
// Exits: `complete` is a normal exit, `error` an abnormal one; each becomes a CHILD_EXITED stamped
// with the clock's time. A factory or `start()` that throws counts as an abnormal exit at once.
// Observers stay subscribed for a ref's whole life: the runtime forgets a ref (retires it) before it
// stops it, so the `complete` XState delivers on stop, or an error during stop, is ignored as stale
// instead of reaching the process.
//
// Escalation: when the machine gives up, every child is already stopped; a nested supervisor then
// fails towards its parent (its observers' `error`, a SupervisorGaveUpError), the root calls
// `onGiveUp` (required by startSupervisor). Hooks that throw are logged, never rethrown.
import { createActor, type Actor, type ActorOptions, type AnyActorLogic } from 'xstate';
import { moduleLogger, silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import type { RestartEvent, SupervisorStatus } from '../../domain/supervision.js';
import { mulberry32 } from '../../machines/exchange-connection.machine.js';
import {
  supervisorMachine,
  type ExitReport,
  type GiveUpReason,
  type RestartReport,
  type RestartType,
  type SupervisorContext,
  type SupervisorInput,
} from '../../machines/supervisor.machine.js';

export type { ChildStatus, RestartEvent, SupervisorStatus } from '../../domain/supervision.js';

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/** What the supervisor needs of a child: XState actors (createActor(...)) and nested supervisors are such refs. */
export interface ChildRef {
  start(): unknown;
  stop(): unknown;
  subscribe(observer: { error?: (error: unknown) => void; complete?: () => void }): { unsubscribe(): void };
}

/** The clock of timers and timestamps (xstate's clock plus `now`): xstate's SimulatedClock in tests. */
export interface SupervisorClock {
  now(): number;
  setTimeout(fn: () => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** What every start of a child is told. */
export interface ChildStartContext {
  readonly id: string;
  readonly systemId: string;
  /** 0 at the first start, n at the n-th restart. */
  readonly restarts: number;
  /** A seed derived from the supervisor's, the child id and `restarts` (a nested supervisor's default). */
  readonly seed: number;
  /** The runtime a nested supervisor inherits (system, clock, logger, onRestart). */
  readonly runtime: SupervisorRuntime;
}

export interface ChildSpec {
  /** Unique within the supervisor; the order of the list is the start order. */
  readonly id: string;
  /** Name in the supervision system (supervisor.system.get); default `id`. Unique in the whole tree. */
  readonly systemId?: string;
  /** Default `permanent`. */
  readonly restart?: RestartType;
  /** Creates the child, not started: the supervisor subscribes first, then starts it. */
  readonly start: (context: ChildStartContext) => ChildRef;
}

/** The machine's input (strategy, intensity, backoff, quiet period), with children to start and an optional seed. */
export interface SupervisorSpec extends Omit<SupervisorInput, 'children' | 'seed'> {
  readonly children: readonly ChildSpec[];
  /** Jitter seed; default: drawn at random (root), derived from the parent's (nested). */
  readonly seed?: number;
}


export interface SupervisorRuntime {
  /** Where children register by systemId; shared by a whole tree. */
  readonly system: SupervisionSystem;
  readonly clock: SupervisorClock;
  readonly logger: Logger;
  /** Called after each restart (the hook for metrics and, later, tracing). */
  readonly onRestart: ((event: RestartEvent) => void) | undefined;
}

export interface RootSupervisorOptions {
  /** The root's escalation: the supervision tree gave up (btcbot: grid to ERROR, orders left resting, /health unhealthy). */
  readonly onGiveUp: (reason: GiveUpReason) => void;
  readonly onRestart?: (event: RestartEvent) => void;
  readonly logger?: Logger;
  readonly clock?: SupervisorClock;
  readonly seed?: number;
}



/** The error a nested supervisor fails with towards its parent. */
export class SupervisorGaveUpError extends Error {
  override readonly name = 'SupervisorGaveUpError';
  constructor(readonly reason: GiveUpReason) {
    super(reason.message);
  }
}

/** The running children of a supervision tree by systemId (the current incarnation: it changes at each restart). */
export class SupervisionSystem {
  private readonly refs = new Map<string, ChildRef>();

  get<T extends ChildRef = ChildRef>(systemId: string): T | undefined {
    return this.refs.get(systemId) as T | undefined;
  }

  /** systemIds of the running children, in no particular order. */
  ids(): string[] {
    return [...this.refs.keys()];
  }

  register(systemId: string, ref: ChildRef): void {
    const existing = this.refs.get(systemId);
    if (existing !== undefined && existing !== ref) throw new Error(`systemId '${systemId}' is already taken`);
    this.refs.set(systemId, ref);
  }

  unregister(systemId: string, ref: ChildRef): void {
    if (this.refs.get(systemId) === ref) this.refs.delete(systemId);
  }
}

/** Starts a root supervisor: its children start at once. */
export function startSupervisor(spec: SupervisorSpec, options: RootSupervisorOptions): Supervisor {
  const runtime: SupervisorRuntime = {
    system: new SupervisionSystem(),
    clock: options.clock ?? systemClock,
    logger: moduleLogger(options.logger ?? silentLogger, 'supervisor'),
    onRestart: options.onRestart,
  };
  const seed = spec.seed ?? options.seed ?? (Math.random() * 2 ** 32) | 0;
  const supervisor = new Supervisor(spec, runtime, seed, options.onGiveUp);
  supervisor.start();
  return supervisor;
}

/** A supervisor as the child of another: it inherits the runtime, and its give-up is an error its parent sees. */
export function supervisorChild(spec: SupervisorSpec & { readonly restart?: RestartType; readonly systemId?: string }): ChildSpec {
  return {
    id: spec.id,
    ...(spec.systemId === undefined ? {} : { systemId: spec.systemId }),
    ...(spec.restart === undefined ? {} : { restart: spec.restart }),
    start: (context) => new Supervisor(spec, context.runtime, spec.seed ?? context.seed),
  };
}

/** A child start that creates an XState actor of `logic`, registered in XState under the child's systemId. */
export function actorChild<TLogic extends AnyActorLogic>(
  logic: TLogic,
  options: Omit<ActorOptions<TLogic>, 'id' | 'systemId' | 'parent' | 'snapshot' | 'state'> = {},
): ChildSpec['start'] {
  return (context) =>
    (createActor as (logic: AnyActorLogic, options: ActorOptions<AnyActorLogic>) => Actor<AnyActorLogic>)(logic, {
      ...options,
      id: context.id,
      systemId: context.systemId,
    });
}

// ---------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------

const systemClock: SupervisorClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

type Observer = { error?: (error: unknown) => void; complete?: () => void };

/** An error worded for logs and counters: `Name: message`, at most 500 characters. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? (error.name === 'Error' ? error.message : `${error.name}: ${error.message}`) : String(error);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** FNV-1a of the child id and its restart count, mixed with the parent's seed: a child supervisor's jitter seed. */
function deriveSeed(seed: number, id: string, restarts: number): number {
  let hash = 0x811c9dc5;
  for (const ch of `${id}#${restarts}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193);
  return mulberry32(hash ^ seed).state;
}

export class Supervisor implements ChildRef {
  readonly id: string;
  readonly system: SupervisionSystem;
  private readonly actor: Actor<typeof supervisorMachine>;
  private readonly specs: ReadonlyMap<string, ChildSpec>;
  private readonly order: readonly string[];
  /** The live incarnation of each running child; a ref not in here is retired and its reports are stale. */
  private readonly current = new Map<string, ChildRef>();
  /** How many times each child was started (its restarts + 1). */
  private readonly starts = new Map<string, number>();
  private readonly observers = new Set<Observer>();
  /** Effects of the transition being committed, in order. */
  private readonly effects: (() => void)[] = [];
  private draining = false;
  /** Set when the machine actor itself failed (it then has no gaveUp of its own). */
  private failure: GiveUpReason | null = null;
  private closed = false;

  /** Use startSupervisor (a root) or supervisorChild (nested). */
  constructor(
    spec: SupervisorSpec,
    private readonly runtime: SupervisorRuntime,
    private readonly seed: number,
    private readonly onGiveUp?: (reason: GiveUpReason) => void,
  ) {
    this.id = spec.id;
    this.system = runtime.system;
    this.specs = new Map(spec.children.map((child) => [child.id, child]));
    this.order = spec.children.map((child) => child.id);
    // The machine's effects are queued and carried out once its transition is committed (drain), not
    // inside it: the new snapshot is then what status() says, and children are created outside
    // XState's action execution (where creating a machine actor with a context factory warns).
    const logic = supervisorMachine.provide({
      actions: {
        startChildren: (_, { ids }) => this.later(() => ids.forEach((id) => this.startChild(id))),
        stopChildren: (_, { ids }) => this.later(() => ids.forEach((id) => this.stopChild(id))),
        reportExit: (_, report) => this.later(() => this.logExit(report)),
        reportRestarts: (_, { restarts }) => this.later(() => restarts.forEach((report) => this.announceRestart(report))),
        escalate: (_, { reason }) => this.later(() => this.escalate(reason)),
      },
    });
    this.actor = createActor(logic, {
      id: spec.id,
      clock: runtime.clock,
      input: {
        id: spec.id,
        seed,
        children: spec.children.map((child) => ({ id: child.id, ...(child.restart === undefined ? {} : { restart: child.restart }) })),
        ...(spec.strategy === undefined ? {} : { strategy: spec.strategy }),
        ...(spec.intensity === undefined ? {} : { intensity: spec.intensity }),
        ...(spec.backoff === undefined ? {} : { backoff: spec.backoff }),
        ...(spec.quietPeriodMs === undefined ? {} : { quietPeriodMs: spec.quietPeriodMs }),
      },
    });
    this.actor.subscribe({
      next: () => this.drain(),
      // The machine's own error (a bug, or a throwing logger): stop the children, give up.
      error: (error) => this.machineFailed(error),
      complete: () => this.completed(),
    });
    if (this.actor.getSnapshot().status === 'error') throw this.actor.getSnapshot().error;
  }

  start(): this {
    if (this.actor.getSnapshot().value !== 'idle' || this.closed) return this;
    this.actor.start();
    this.actor.send({ type: 'START', at: this.runtime.clock.now() });
    return this;
  }

  /** Stops every child in reverse start order; a pending restart is dropped. */
  stop(): this {
    if (this.actor.getSnapshot().status === 'active') {
      if (this.actor.getSnapshot().value === 'idle') this.actor.start();
      this.actor.send({ type: 'STOP', at: this.runtime.clock.now() });
    }
    return this;
  }

  /** `error` on give-up (a SupervisorGaveUpError), `complete` after stop(). */
  subscribe(observer: Observer): { unsubscribe(): void } {
    this.observers.add(observer);
    return { unsubscribe: () => this.observers.delete(observer) };
  }

  status(): SupervisorStatus {
    const snapshot = this.actor.getSnapshot();
    const context: SupervisorContext = snapshot.context;
    const failed = this.failure !== null;
    const state = failed ? 'gaveUp' : (snapshot.value as SupervisorStatus['state']);
    return {
      id: this.id,
      state,
      strategy: context.strategy,
      gaveUp: context.gaveUp ?? this.failure,
      children: context.children.map((child) => {
        const ref = this.current.get(child.id);
        return {
          id: child.id,
          systemId: this.systemIdOf(child.id),
          restart: child.restart,
          state: failed && (child.state === 'running' || child.state === 'restarting') ? 'stopped' : child.state,
          restarts: child.restarts,
          failures: child.failures,
          lastError: child.lastError,
          lastExitAt: child.lastExitAt,
          restartAt: child.restartAt,
          ...(ref instanceof Supervisor ? { supervisor: ref.status() } : {}),
        };
      }),
    };
  }

  /** The machine's snapshot (for tests and persistence). */
  getSnapshot() {
    return this.actor.getSnapshot();
  }

  // ---- effects ----------------------------------------------------------------------------------

  private systemIdOf(id: string): string {
    return this.specs.get(id)?.systemId ?? id;
  }

  private startChild(id: string): void {
    const spec = this.specs.get(id);
    if (spec === undefined) return;
    const systemId = this.systemIdOf(id);
    const restarts = this.starts.get(id) ?? 0;
    this.starts.set(id, restarts + 1);
    let ref: ChildRef;
    try {
      ref = spec.start({ id, systemId, restarts, seed: deriveSeed(this.seed, id, restarts), runtime: this.runtime });
      this.runtime.system.register(systemId, ref);
    } catch (error) {
      this.report(id, error);
      return;
    }
    this.current.set(id, ref);
    // Observed before it starts: an error during start reaches us, never the process.
    ref.subscribe({
      error: (error) => this.exited(id, ref, error),
      complete: () => this.exited(id, ref, null),
    });
    try {
      ref.start();
    } catch (error) {
      this.exited(id, ref, error);
      this.safely(() => ref.stop());
      return;
    }
    if (this.current.get(id) === ref) this.runtime.logger.debug({ supervisor: this.id, child: id, systemId, restarts }, 'child started');
  }

  private stopChild(id: string): void {
    const ref = this.current.get(id);
    if (ref === undefined) return;
    this.retire(id, ref);
    this.safely(() => ref.stop());
    this.runtime.logger.debug({ supervisor: this.id, child: id }, 'child stopped');
  }

  private retire(id: string, ref: ChildRef): void {
    this.current.delete(id);
    this.runtime.system.unregister(this.systemIdOf(id), ref);
  }

  /** A child's error or completion; reports of a retired ref (stopped by us, or replaced) are stale. */
  private exited(id: string, ref: ChildRef, error: unknown): void {
    if (this.current.get(id) !== ref) return;
    this.retire(id, ref);
    this.report(id, error);
  }

  private report(id: string, error: unknown): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    // A nested supervisor that gave up tells how long it was down waiting out its own restarts.
    const downMs = error instanceof SupervisorGaveUpError ? error.reason.downMs : 0;
    this.actor.send({ type: 'CHILD_EXITED', id, at: this.runtime.clock.now(), error: error === null ? null : describeError(error), downMs });
  }

  private logExit(report: ExitReport): void {
    const fields = { supervisor: this.id, child: report.child, error: report.error };
    if (report.decision === 'exit') {
      const restart = this.specs.get(report.child)?.restart ?? 'permanent';
      if (report.error === null) this.runtime.logger.info({ ...fields, restart }, 'child completed; not restarted');
      else this.runtime.logger.warn({ ...fields, restart }, 'child failed; not restarted');
      return;
    }
    const what = report.error === null ? 'child completed' : 'child failed';
    this.runtime.logger.warn(
      { ...fields, attempt: report.attempt, restartInMs: report.delayMs, restartAt: report.restartAt, siblings: report.siblings },
      `${what}; restarting after backoff`,
    );
  }

  private announceRestart(report: RestartReport): void {
    const systemId = this.systemIdOf(report.child);
    this.runtime.logger.info(
      { supervisor: this.id, child: report.child, cause: report.cause, restarts: report.restarts, delayMs: report.delayMs, error: report.error },
      'child restarted',
    );
    const hook = this.runtime.onRestart;
    if (hook !== undefined) this.safely(() => hook({ ...report, supervisor: this.id, systemId }), 'onRestart hook failed');
  }

  private escalate(reason: GiveUpReason): void {
    if (this.closed) return;
    this.closed = true;
    const fields = { supervisor: this.id, child: reason.child, error: reason.error, restarts: reason.restarts };
    this.safely(() => this.runtime.logger.error(fields, reason.message), 'logging the give-up failed');
    const onGiveUp = this.onGiveUp;
    if (onGiveUp !== undefined) this.safely(() => onGiveUp(reason), 'onGiveUp hook failed');
    const error = new SupervisorGaveUpError(reason);
    for (const observer of [...this.observers]) this.safely(() => observer.error?.(error), 'give-up observer failed');
    this.observers.clear();
  }

  /**
   * The machine actor failed, or one of its effects threw (a logger, say): stop whatever still runs
   * (reverse start order), stop the machine (its pending restarts die with it) and give up.
   */
  private machineFailed(error: unknown): void {
    if (this.closed || this.failure !== null) return;
    const at = this.runtime.clock.now();
    const text = describeError(error);
    const context = this.actor.getSnapshot().context;
    const failure: GiveUpReason = {
      supervisor: this.id,
      child: null,
      error: text,
      restarts: 0,
      intensity: context.intensity,
      at,
      downMs: context.waitedMs + (context.waitingSince === null ? 0 : Math.max(0, at - context.waitingSince)),
      message: `supervisor '${this.id}' gave up: it failed itself (${text})`,
    };
    // Recorded first: stopping the machine completes it, and that must not pass for a plain stop.
    this.failure = failure;
    this.effects.length = 0;
    for (const id of [...this.order].reverse()) this.stopChild(id);
    if (this.actor.getSnapshot().status === 'active') this.safely(() => this.actor.stop(), 'stopping the supervisor machine failed');
    this.escalate(failure);
  }

  private later(effect: () => void): void {
    this.effects.push(effect);
  }

  /** Carries out the queued effects; an effect that throws fails the supervisor (machineFailed). */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let effect = this.effects.shift(); effect !== undefined; effect = this.effects.shift()) effect();
    } catch (error) {
      this.effects.length = 0;
      this.machineFailed(error);
    } finally {
      this.draining = false;
    }
  }

  /** The machine reached a final state: gaveUp (escalated by its effects) or stopped (complete the observers). */
  private completed(): void {
    this.drain();
    if (this.closed || this.failure !== null) return;
    this.closed = true;
    for (const observer of [...this.observers]) this.safely(() => observer.complete?.(), 'stop observer failed');
    this.observers.clear();
  }

  /** Runs a hook or a child's stop; what it throws is logged, never rethrown. */
  private safely(fn: () => void, what = 'child stop failed'): void {
    try {
      fn();
    } catch (error) {
      try {
        this.runtime.logger.error({ supervisor: this.id, error: describeError(error) }, what);
      } catch {
        // a failing logger has nowhere left to report to
      }
    }
  }
}
