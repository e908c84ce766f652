// The supervisor statechart: OTP-style restart decisions for a list of child actors. The machine
// only decides (which children restart, when, or give up); the runtime (src/actors/supervision/supervisor.ts)
// starts and stops the real children, reports their exits as CHILD_EXITED and provides the effect
// actions (startChildren, stopChildren, reportExit, reportRestarts, escalate), no-ops here.
// docs/supervision.md has the transition table and the reasons behind every default.
//
// Policies. Each child has a restart type: `permanent` (restarted after any exit), `transient`
// (restarted after an abnormal exit only: an error, not a normal completion), `temporary` (never).
// The strategy is per supervisor: `one_for_one` restarts only the child that exited;
// `rest_for_one` also stops every child started after it (in reverse start order) and restarts
// them with it, in start order (a price feed and its dependants).
//
// Intensity. More than `maxRestarts` restarts within `periodMs` and the supervisor gives up: it
// stops every child and escalates. The period is measured on the children's own up-time, not on
// the wall clock: a restart stays on the books until the child it restarted has been up `periodMs`
// in all since. Backoff waits do not count, since the supervisor chose them: with delays of 1, 2,
// 4, 8 s a crash-looping child is restarted 1, 3, 7, 15 s after its first exit, never 4 times in
// 5 s of wall time, so a wall-clock window would never give up on it. A nested supervisor is not
// up while it waits out restarts of its own children: it reports that time (`downMs`) when it gives
// up, so its parent does not take a crash loop down there for a healthy stretch.
//
// Backoff. Every restart waits backoffDelay(attempt) (exchange-connection.machine.ts: 1 s doubling
// to 30 s, jitter ±20 %). `attempt` counts the child's consecutive exits and starts over at 1 when
// the child had been up `quietPeriodMs` (60 s) before it exited.
//
// Time, timers, jitter: as in the exchange-connection machine. Every event carries its time (`at`);
// a pending restart is an absolute deadline in context (`restartAt`) and a delayed RESTART_DUE that
// carries that deadline; XState does not re-arm delayed events of a persisted snapshot, so a runtime
// that restores one re-arms them with `pendingRestarts`. The jitter PRNG state lives in context.
import { assign, raise, setup } from 'xstate';
import type { ChildState, GiveUpReason, Intensity, RestartReport, RestartType, Strategy } from '../domain/supervision.js';
import { backoffDelay, DEFAULT_BACKOFF, mulberry32, type BackoffOptions } from './exchange-connection.machine.js';

export type { ChildState, GiveUpReason, Intensity, RestartReport, RestartType, Strategy } from '../domain/supervision.js';

// ---------------------------------------------------------------------------------------------
// Policies and defaults
// ---------------------------------------------------------------------------------------------



/** The default, for logic actors (grid, orders): a bug that repeats within seconds will not go away. */
export const LOGIC_INTENSITY: Intensity = { maxRestarts: 3, periodMs: 5_000 };
/** For exchange workers (sessions, feeds): an outage lasts longer than a logic bug takes to repeat. */
export const EXCHANGE_WORKER_INTENSITY: Intensity = { maxRestarts: 5, periodMs: 60_000 };
/** A child up this long before it exits starts its backoff over from the first delay. */
export const DEFAULT_QUIET_PERIOD_MS = 60_000;

/** Whether an exit is followed by a restart under `restart` (`error` null: a normal completion). */
export function restartWanted(restart: RestartType, error: string | null): boolean {
  if (restart === 'permanent') return true;
  if (restart === 'transient') return error !== null;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export interface SupervisorChildInput {
  /** Unique among the supervisor's children; the order of the list is the start order. */
  readonly id: string;
  /** Default `permanent`. */
  readonly restart?: RestartType;
}

export interface SupervisorInput {
  /** Names the supervisor in logs and in a give-up reason. */
  readonly id: string;
  /** Seed of the jitter PRNG (persisted with the snapshot). */
  readonly seed: number;
  readonly children: readonly SupervisorChildInput[];
  /** Default `one_for_one`. */
  readonly strategy?: Strategy;
  /** Default LOGIC_INTENSITY (3 in 5 s). `maxRestarts: 0` gives up at the first exit that wants a restart. */
  readonly intensity?: Partial<Intensity>;
  /** Default DEFAULT_BACKOFF (1 s doubling to 30 s, jitter 0.2). */
  readonly backoff?: Partial<BackoffOptions>;
  /** Default 60 s. */
  readonly quietPeriodMs?: number;
}


export interface ChildRecord {
  readonly id: string;
  readonly restart: RestartType;
  readonly state: ChildState;
  /** running: when the current life started. */
  readonly startedAt: number | null;
  /** Up-time of the finished lives, ms: the child's own clock, on which the intensity period runs. */
  readonly upMs: number;
  /** Consecutive exits without a quiet period: the backoff attempt of the last restart it caused. */
  readonly streak: number;
  /** Abnormal exits (errors). */
  readonly failures: number;
  /** Times the supervisor started it again (rest_for_one restarts along with an earlier sibling included). */
  readonly restarts: number;
  /** The most recent error, as reported; kept until the next one. */
  readonly lastError: string | null;
  /** How the last life ended: `failed` (an error) or `completed` (normally). */
  readonly lastExit: 'failed' | 'completed' | null;
  readonly lastExitAt: number | null;
  /** restarting, when the timer is this child's: the backoff drawn and the deadline of the restart. */
  readonly retryDelayMs: number | null;
  readonly restartAt: number | null;
}

/** A restart on the books: whose it was, and that child's up-time when it was granted. */
export interface RestartMark {
  readonly child: string;
  readonly upMs: number;
}


export interface SupervisorContext {
  readonly id: string;
  readonly strategy: Strategy;
  readonly intensity: Intensity;
  readonly backoff: BackoffOptions;
  readonly quietPeriodMs: number;
  /** mulberry32 state, advanced once per scheduled restart. */
  readonly rngState: number;
  /** In start order. */
  readonly children: readonly ChildRecord[];
  /** Restarts that may still be within the period, oldest first. */
  readonly restartLog: readonly RestartMark[];
  /** Since when some restart has been pending (null: none is). */
  readonly waitingSince: number | null;
  /** Time spent with a restart pending, closed intervals only. */
  readonly waitedMs: number;
  readonly gaveUp: GiveUpReason | null;
}

export type ChildExit = {
  readonly type: 'CHILD_EXITED';
  readonly id: string;
  readonly at: number;
  /** The error worded for logs; null for a normal completion. */
  readonly error: string | null;
  /** Of the life that ended, the time the child was not up (a nested supervisor's downMs). Default 0. */
  readonly downMs?: number;
};

export type SupervisorEvent =
  | { readonly type: 'START'; readonly at: number }
  | { readonly type: 'STOP'; readonly at: number }
  | ChildExit
  /** A restart's deadline `at` is reached (raised by the machine itself, or re-armed by a runtime). */
  | { readonly type: 'RESTART_DUE'; readonly id: string; readonly at: number };

/** What the supervisor decided about an exit, for the logs. */
export interface ExitReport {
  readonly child: string;
  readonly at: number;
  readonly error: string | null;
  readonly decision: 'restart' | 'exit';
  /** restart: the backoff attempt (1 after a quiet period), the delay drawn and the deadline. */
  readonly attempt: number | null;
  readonly delayMs: number | null;
  readonly restartAt: number | null;
  /** restart under rest_for_one: the later siblings that restart with it, in start order. */
  readonly siblings: readonly string[];
}


export interface RestartTimer {
  readonly id: string;
  readonly restartAt: number;
  readonly delayMs: number;
}

// ---------------------------------------------------------------------------------------------
// Decisions (pure)
// ---------------------------------------------------------------------------------------------

function childOf(context: SupervisorContext, id: string): ChildRecord | undefined {
  return context.children.find((child) => child.id === id);
}

/** The child's own clock at `at`: its up-time over all lives, the current one counted whole. */
export function childClock(child: ChildRecord, at: number): number {
  return child.upMs + (child.startedAt === null ? 0 : Math.max(0, at - child.startedAt));
}

/** The restarts on the books at `at`: those whose child has not yet been up `periodMs` since. */
export function restartsOnTheBooks(context: SupervisorContext, at: number): readonly RestartMark[] {
  return context.restartLog.filter((mark) => {
    const child = childOf(context, mark.child);
    return child !== undefined && childClock(child, at) - mark.upMs < context.intensity.periodMs;
  });
}

/**
 * The restart log with the marks dropped that can no longer count: their child's finished lives
 * alone cover the period, or it ended for good. A running child's current life does not prune (it
 * may yet report downtime), so a mark is only forgotten once it is surely out of the period.
 */
function prunedLog(context: SupervisorContext): readonly RestartMark[] {
  return context.restartLog.filter((mark) => {
    const child = childOf(context, mark.child);
    return child !== undefined && child.state !== 'exited' && child.state !== 'stopped' && child.upMs - mark.upMs < context.intensity.periodMs;
  });
}

/** The children a restart of `id` takes along, in start order: itself, and under rest_for_one every later one not ended for good. */
export function restartGroup(context: SupervisorContext, id: string): readonly ChildRecord[] {
  const index = context.children.findIndex((child) => child.id === id);
  if (index < 0) return [];
  if (context.strategy === 'one_for_one') return [context.children[index]!];
  return context.children.slice(index).filter((child, i) => i === 0 || child.state === 'running' || child.state === 'restarting');
}

/** Ids of the running children among `children`, in reverse start order: the order to stop them in. */
function runningReversed(children: readonly ChildRecord[]): string[] {
  return children
    .filter((child) => child.state === 'running')
    .map((child) => child.id)
    .reverse();
}

/** The fields of a child whose current life ends at `at`, `downMs` of it not up. */
function endLife(child: ChildRecord, at: number, downMs = 0): Pick<ChildRecord, 'upMs' | 'startedAt'> {
  const life = child.startedAt === null ? 0 : Math.max(0, at - child.startedAt - downMs);
  return { upMs: child.upMs + life, startedAt: null };
}

/** The context with the waiting interval closed at `at` (when nothing is left to restart). */
function closeWaiting(context: SupervisorContext, at: number): Pick<SupervisorContext, 'waitingSince' | 'waitedMs'> {
  if (context.waitingSince === null) return { waitingSince: null, waitedMs: context.waitedMs };
  return { waitingSince: null, waitedMs: context.waitedMs + Math.max(0, at - context.waitingSince) };
}

export type ExitDecision =
  /** Not a running child (stopped by us meanwhile, a duplicate report): nothing to decide. */
  | { readonly kind: 'stale' }
  /** Its restart type does not restart it after this exit. */
  | { readonly kind: 'exit'; readonly context: SupervisorContext; readonly report: ExitReport }
  /** One more restart would exceed the intensity: stop the others (this order), escalate. */
  | { readonly kind: 'giveUp'; readonly context: SupervisorContext; readonly stopNow: readonly string[]; readonly reason: GiveUpReason }
  /** Restart after the backoff; under rest_for_one stop the later siblings now (this order). */
  | {
      readonly kind: 'restart';
      readonly context: SupervisorContext;
      readonly stopNow: readonly string[];
      readonly report: ExitReport;
      readonly timer: RestartTimer;
    };

/** What to do about a child's exit: the whole restart policy, as a function of (context, exit). */
export function decideExit(context: SupervisorContext, exit: ChildExit): ExitDecision {
  const { id, at, error } = exit;
  const child = childOf(context, id);
  if (child === undefined || child.state !== 'running') return { kind: 'stale' };
  const downMs = exit.downMs ?? 0;
  const upFor = Math.max(0, at - (child.startedAt ?? at) - downMs);
  const ended: ChildRecord = {
    ...child,
    ...endLife(child, at, downMs),
    failures: child.failures + (error === null ? 0 : 1),
    lastError: error ?? child.lastError,
    lastExit: error === null ? 'completed' : 'failed',
    lastExitAt: at,
    retryDelayMs: null,
    restartAt: null,
  };
  const withEnded = (update: ChildRecord, others: (other: ChildRecord) => ChildRecord = (other) => other): readonly ChildRecord[] =>
    context.children.map((other) => (other.id === id ? update : others(other)));

  if (!restartWanted(child.restart, error)) {
    const report: ExitReport = { child: id, at, error, decision: 'exit', attempt: null, delayMs: null, restartAt: null, siblings: [] };
    const next = { ...context, children: withEnded({ ...ended, state: 'exited' }) };
    return { kind: 'exit', context: { ...next, restartLog: prunedLog(next) }, report };
  }

  const onTheBooks = restartsOnTheBooks({ ...context, children: withEnded(ended) }, at).length;
  if (onTheBooks + 1 > context.intensity.maxRestarts) {
    const waiting = closeWaiting(context, at);
    const { maxRestarts, periodMs } = context.intensity;
    const what = error === null ? 'completed' : `failed (${error})`;
    const reason: GiveUpReason = {
      supervisor: context.id,
      child: id,
      error,
      restarts: onTheBooks,
      intensity: context.intensity,
      at,
      downMs: waiting.waitedMs,
      message: `supervisor '${context.id}' gave up: child '${id}' ${what} with ${onTheBooks} restart(s) already within ${periodMs} ms of up-time (intensity ${maxRestarts} in ${periodMs} ms)`,
    };
    const children = withEnded({ ...ended, state: 'exited' }, (other) =>
      other.state === 'running' || other.state === 'restarting' ? { ...other, ...endLife(other, at), state: 'stopped', retryDelayMs: null, restartAt: null } : other,
    );
    return {
      kind: 'giveUp',
      context: { ...context, ...waiting, children, restartLog: [], gaveUp: reason },
      stopNow: runningReversed(context.children.filter((other) => other.id !== id)),
      reason,
    };
  }

  const attempt = upFor >= context.quietPeriodMs ? 1 : child.streak + 1;
  const draw = mulberry32(context.rngState);
  const delayMs = backoffDelay(attempt, context.backoff, draw.u01);
  const restartAt = at + delayMs;
  const group = new Set(restartGroup(context, id).map((member) => member.id));
  const children = withEnded({ ...ended, state: 'restarting', streak: attempt, retryDelayMs: delayMs, restartAt }, (other): ChildRecord => {
    if (!group.has(other.id)) return other;
    // A later sibling under rest_for_one: stopped now (a temporary one for good); its own pending restart is superseded.
    if (other.state === 'running') return { ...other, ...endLife(other, at), state: other.restart === 'temporary' ? 'stopped' : 'restarting' };
    return { ...other, retryDelayMs: null, restartAt: null };
  });
  const siblings = children.filter((other) => other.id !== id && group.has(other.id) && other.state === 'restarting').map((other) => other.id);
  const next: SupervisorContext = {
    ...context,
    rngState: draw.state,
    children,
    waitingSince: context.waitingSince ?? at,
  };
  return {
    kind: 'restart',
    context: { ...next, restartLog: [...prunedLog(next), { child: id, upMs: ended.upMs }] },
    stopNow: runningReversed(context.children.filter((other) => other.id !== id && group.has(other.id))),
    report: { child: id, at, error, decision: 'restart', attempt, delayMs, restartAt, siblings },
    timer: { id, restartAt, delayMs },
  };
}

export type RestartDecision =
  /** Not the child's current deadline (superseded under rest_for_one, or already served): ignore. */
  | { readonly kind: 'stale' }
  /** Start these children, in this order. */
  | { readonly kind: 'start'; readonly context: SupervisorContext; readonly ids: readonly string[]; readonly reports: readonly RestartReport[] };

/** What to do when a restart's deadline `at` is reached. */
export function decideRestart(context: SupervisorContext, due: { readonly id: string; readonly at: number }): RestartDecision {
  const cause = childOf(context, due.id);
  if (cause === undefined || cause.state !== 'restarting' || cause.restartAt !== due.at) return { kind: 'stale' };
  const group = restartGroup(context, due.id).filter((child) => child.state === 'restarting');
  const ids = group.map((child) => child.id);
  const reports = group.map(
    (child): RestartReport => ({
      child: child.id,
      at: due.at,
      cause: due.id,
      restarts: child.restarts + 1,
      delayMs: cause.retryDelayMs ?? 0,
      error: cause.lastExit === 'failed' ? cause.lastError : null,
    }),
  );
  const children = context.children.map(
    (child): ChildRecord =>
      ids.includes(child.id) ? { ...child, state: 'running', startedAt: due.at, restarts: child.restarts + 1, retryDelayMs: null, restartAt: null } : child,
  );
  const stillWaiting = children.some((child) => child.state === 'restarting');
  const waiting = stillWaiting ? { waitingSince: context.waitingSince, waitedMs: context.waitedMs } : closeWaiting(context, due.at);
  return { kind: 'start', context: { ...context, ...waiting, children }, ids, reports };
}

// ---------------------------------------------------------------------------------------------
// Timers, for a runtime that restores a persisted snapshot
// ---------------------------------------------------------------------------------------------

/**
 * The restarts pending in a snapshot: the RESTART_DUE event to send and its deadline. XState does
 * not re-arm delayed events of a restored snapshot; a runtime sends each event at its deadline.
 */
export function pendingRestarts(snapshot: {
  readonly value: unknown;
  readonly context: SupervisorContext;
}): { readonly event: Extract<SupervisorEvent, { type: 'RESTART_DUE' }>; readonly at: number }[] {
  if (snapshot.value !== 'running') return [];
  return snapshot.context.children.flatMap((child) =>
    child.state === 'restarting' && child.restartAt !== null ? [{ event: { type: 'RESTART_DUE' as const, id: child.id, at: child.restartAt }, at: child.restartAt }] : [],
  );
}

// ---------------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------------

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

function initialContext(input: SupervisorInput): SupervisorContext {
  check(typeof input.id === 'string' && input.id.length > 0, 'supervisor id must be a non-empty string');
  check(Number.isInteger(input.seed), `supervisor ${input.id}: seed must be an integer, got ${input.seed}`);
  const ids = new Set<string>();
  for (const child of input.children) {
    check(typeof child.id === 'string' && child.id.length > 0, `supervisor ${input.id}: a child id must be a non-empty string`);
    check(!ids.has(child.id), `supervisor ${input.id}: child id '${child.id}' is used twice`);
    ids.add(child.id);
    const restart = child.restart ?? 'permanent';
    check(restart === 'permanent' || restart === 'transient' || restart === 'temporary', `supervisor ${input.id}: child ${child.id} has an unknown restart type ${restart}`);
  }
  const strategy = input.strategy ?? 'one_for_one';
  check(strategy === 'one_for_one' || strategy === 'rest_for_one', `supervisor ${input.id}: unknown strategy ${strategy}`);
  const intensity = { ...LOGIC_INTENSITY, ...input.intensity };
  check(Number.isInteger(intensity.maxRestarts) && intensity.maxRestarts >= 0, `supervisor ${input.id}: intensity.maxRestarts must be an integer >= 0, got ${intensity.maxRestarts}`);
  check(intensity.periodMs > 0 && Number.isFinite(intensity.periodMs), `supervisor ${input.id}: intensity.periodMs must be a finite number > 0, got ${intensity.periodMs}`);
  const backoff = { ...DEFAULT_BACKOFF, ...input.backoff };
  for (const key of ['baseMs', 'factor', 'maxMs'] as const) {
    check(backoff[key] > 0 && Number.isFinite(backoff[key]), `supervisor ${input.id}: backoff.${key} must be a finite number > 0, got ${backoff[key]}`);
  }
  check(backoff.jitter >= 0 && backoff.jitter < 1, `supervisor ${input.id}: backoff.jitter must be in [0, 1), got ${backoff.jitter}`);
  const quietPeriodMs = input.quietPeriodMs ?? DEFAULT_QUIET_PERIOD_MS;
  check(quietPeriodMs > 0 && Number.isFinite(quietPeriodMs), `supervisor ${input.id}: quietPeriodMs must be a finite number > 0, got ${quietPeriodMs}`);
  return {
    id: input.id,
    strategy,
    intensity,
    backoff,
    quietPeriodMs,
    rngState: input.seed | 0,
    children: input.children.map((child) => ({
      id: child.id,
      restart: child.restart ?? 'permanent',
      state: 'idle',
      startedAt: null,
      upMs: 0,
      streak: 0,
      failures: 0,
      restarts: 0,
      lastError: null,
      lastExit: null,
      lastExitAt: null,
      retryDelayMs: null,
      restartAt: null,
    })),
    restartLog: [],
    waitingSince: null,
    waitedMs: 0,
    gaveUp: null,
  };
}

function exitOf(event: SupervisorEvent): ChildExit {
  if (event.type !== 'CHILD_EXITED') throw new Error(`expected CHILD_EXITED, got ${event.type}`);
  return event;
}

function dueOf(event: SupervisorEvent): { id: string; at: number } {
  if (event.type !== 'RESTART_DUE') throw new Error(`expected RESTART_DUE, got ${event.type}`);
  return event;
}

/** The decision of a kind, for an edge whose guard selected that kind. */
function exitDecision<K extends ExitDecision['kind']>(context: SupervisorContext, event: SupervisorEvent, kind: K): Extract<ExitDecision, { kind: K }> {
  const decision = decideExit(context, exitOf(event));
  if (decision.kind !== kind) throw new Error(`expected a ${kind} decision, got ${decision.kind}`);
  return decision as Extract<ExitDecision, { kind: K }>;
}

function restartDecision(context: SupervisorContext, event: SupervisorEvent): Extract<RestartDecision, { kind: 'start' }> {
  const decision = decideRestart(context, dueOf(event));
  if (decision.kind !== 'start') throw new Error('expected a due restart');
  return decision;
}

// ---------------------------------------------------------------------------------------------
// Machine
// ---------------------------------------------------------------------------------------------

// Every edge runs its effects first, computed from the context the event found, and books the
// decision into context last (the assign), so each effect sees the same decision.
export const supervisorMachine = setup({
  types: {} as {
    context: SupervisorContext;
    events: SupervisorEvent;
    input: SupervisorInput;
    output: { readonly gaveUp: GiveUpReason | null };
  },
  guards: {
    exitIsStale: ({ context, event }) => decideExit(context, exitOf(event)).kind === 'stale',
    exitIsFinal: ({ context, event }) => decideExit(context, exitOf(event)).kind === 'exit',
    intensityExceeded: ({ context, event }) => decideExit(context, exitOf(event)).kind === 'giveUp',
    restartIsDue: ({ context, event }) => decideRestart(context, dueOf(event)).kind === 'start',
  },
  actions: {
    // ---- effects, provided by the runtime ----
    /** Start these children, in this order. */
    startChildren: (_, _params: { ids: readonly string[] }) => {},
    /** Stop these children, in this order (reverse start order). */
    stopChildren: (_, _params: { ids: readonly string[] }) => {},
    reportExit: (_, _params: ExitReport) => {},
    reportRestarts: (_, _params: { restarts: readonly RestartReport[] }) => {},
    /** Tell the parent (at the root: the onGiveUp hook). */
    escalate: (_, _params: { reason: GiveUpReason }) => {},

    // ---- timers ----
    /** RESTART_DUE carrying its deadline, raised after the backoff. */
    armRestartTimer: raise((_, timer: RestartTimer) => ({ type: 'RESTART_DUE' as const, id: timer.id, at: timer.restartAt }), {
      delay: (_, timer: RestartTimer) => timer.delayMs,
    }),

    // ---- context ----
    bookStart: assign(({ context }, params: { at: number }) => ({
      children: context.children.map((child): ChildRecord => ({ ...child, state: 'running', startedAt: params.at })),
    })),
    bookExit: assign(({ context, event }) => {
      const decision = decideExit(context, exitOf(event));
      return decision.kind === 'stale' ? {} : decision.context;
    }),
    bookRestart: assign(({ context, event }) => {
      const decision = decideRestart(context, dueOf(event));
      return decision.kind === 'stale' ? {} : decision.context;
    }),
    bookStop: assign(({ context }, params: { at: number }) => ({
      ...closeWaiting(context, params.at),
      children: context.children.map((child): ChildRecord =>
        child.state === 'exited' || child.state === 'stopped' ? child : { ...child, ...endLife(child, params.at), state: 'stopped', retryDelayMs: null, restartAt: null },
      ),
    })),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  output: ({ context }) => ({ gaveUp: context.gaveUp }),

  // Transition table. Events not listed for a state are ignored in it.
  states: {
    idle: {
      on: {
        // idle --START--> running: start every child, in start order.
        START: {
          target: 'running',
          actions: [
            { type: 'startChildren', params: ({ context }) => ({ ids: context.children.map((child) => child.id) }) },
            { type: 'bookStart', params: ({ event }) => ({ at: event.at }) },
          ],
        },
        // idle --STOP--> stopped: nothing was started.
        STOP: { target: 'stopped', actions: { type: 'bookStop', params: ({ event }) => ({ at: event.at }) } },
      },
    },

    running: {
      on: {
        CHILD_EXITED: [
          // running --CHILD_EXITED [exitIsStale]--> running: not a running child (one we stopped meanwhile): ignored.
          { guard: 'exitIsStale' },
          // running --CHILD_EXITED [exitIsFinal]--> running: a temporary child, or a transient one that
          // completed normally: it stays down, its restarts leave the books.
          {
            guard: 'exitIsFinal',
            actions: [{ type: 'reportExit', params: ({ context, event }) => exitDecision(context, event, 'exit').report }, 'bookExit'],
          },
          // running --CHILD_EXITED [intensityExceeded]--> gaveUp: one more restart would exceed the
          // intensity: stop every other child (reverse start order), then escalate.
          {
            guard: 'intensityExceeded',
            target: 'gaveUp',
            actions: [
              { type: 'stopChildren', params: ({ context, event }) => ({ ids: exitDecision(context, event, 'giveUp').stopNow }) },
              { type: 'escalate', params: ({ context, event }) => ({ reason: exitDecision(context, event, 'giveUp').reason }) },
              'bookExit',
            ],
          },
          // running --CHILD_EXITED--> running: restart it after the backoff; under rest_for_one the later
          // siblings are stopped now (reverse start order) and will restart with it.
          {
            actions: [
              { type: 'stopChildren', params: ({ context, event }) => ({ ids: exitDecision(context, event, 'restart').stopNow }) },
              { type: 'reportExit', params: ({ context, event }) => exitDecision(context, event, 'restart').report },
              { type: 'armRestartTimer', params: ({ context, event }) => exitDecision(context, event, 'restart').timer },
              'bookExit',
            ],
          },
        ],
        // running --RESTART_DUE [restartIsDue]--> running: the deadline is reached: start the child and,
        // under rest_for_one, the later siblings waiting with it, in start order.
        // (A superseded or repeated deadline matches no edge: ignored.)
        RESTART_DUE: {
          guard: 'restartIsDue',
          actions: [
            { type: 'startChildren', params: ({ context, event }) => ({ ids: restartDecision(context, event).ids }) },
            { type: 'reportRestarts', params: ({ context, event }) => ({ restarts: restartDecision(context, event).reports }) },
            'bookRestart',
          ],
        },
        // running --STOP--> stopped: stop every running child in reverse start order; pending restarts are dropped.
        STOP: {
          target: 'stopped',
          actions: [
            { type: 'stopChildren', params: ({ context }) => ({ ids: runningReversed(context.children) }) },
            { type: 'bookStop', params: ({ event }) => ({ at: event.at }) },
          ],
        },
      },
    },

    // Final: the intensity was exceeded; every child is down and the reason escalated.
    gaveUp: { type: 'final' },
    // Final: stopped on request; pending restart timers die with the actor.
    stopped: { type: 'final' },
  },
});
