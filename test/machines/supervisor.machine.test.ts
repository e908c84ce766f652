import { describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock, type SnapshotFrom } from 'xstate';
import { backoffDelay, DEFAULT_BACKOFF, mulberry32 } from '../../src/machines/exchange-connection.machine.js';
import {
  decideExit,
  EXCHANGE_WORKER_INTENSITY,
  LOGIC_INTENSITY,
  pendingRestarts,
  restartWanted,
  supervisorMachine,
  type ExitReport,
  type GiveUpReason,
  type RestartReport,
  type RestartType,
  type SupervisorEvent,
  type SupervisorInput,
} from '../../src/machines/supervisor.machine.js';
import { definitionTransitions, transitionRecorder } from './model-coverage.js';

type Snapshot = SnapshotFrom<typeof supervisorMachine>;

const T0 = 1_700_000_000_000;

/** Every transition any test of this file takes, for the coverage check at the end. */
const taken = new Set<string>();

// ---------------------------------------------------------------------------------------------
// Harness: the machine on a SimulatedClock, its effects recorded in order
// ---------------------------------------------------------------------------------------------

type Effect =
  | { readonly kind: 'start'; readonly ids: readonly string[]; readonly at: number }
  | { readonly kind: 'stop'; readonly ids: readonly string[]; readonly at: number }
  | { readonly kind: 'exit'; readonly report: ExitReport }
  | { readonly kind: 'restarts'; readonly reports: readonly RestartReport[] }
  | { readonly kind: 'escalate'; readonly reason: GiveUpReason };

const CHILDREN = [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }];

function harness(input: Partial<SupervisorInput> = {}, options: { snapshot?: unknown; startAt?: number } = {}) {
  const clock = new SimulatedClock();
  clock.set(options.startAt ?? T0);
  const effects: Effect[] = [];
  const machine = supervisorMachine.provide({
    actions: {
      // An empty list is no effect at all (one_for_one restarts stop no sibling).
      startChildren: (_, { ids }) => void (ids.length > 0 && effects.push({ kind: 'start', ids, at: clock.now() })),
      stopChildren: (_, { ids }) => void (ids.length > 0 && effects.push({ kind: 'stop', ids, at: clock.now() })),
      reportExit: (_, report) => void effects.push({ kind: 'exit', report }),
      reportRestarts: (_, { restarts }) => void effects.push({ kind: 'restarts', reports: restarts }),
      escalate: (_, { reason }) => void effects.push({ kind: 'escalate', reason }),
    },
  });
  const recorder = transitionRecorder(taken);
  const actor = createActor(machine, {
    input: { id: 'sup', seed: 42, children: CHILDREN, ...input },
    clock,
    inspect: recorder.inspect,
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot as Snapshot }),
  });
  recorder.attach(actor);
  actor.start();

  const h = {
    actor,
    clock,
    effects,
    snapshot: (): Snapshot => actor.getSnapshot(),
    state: () => actor.getSnapshot().value,
    ctx: () => actor.getSnapshot().context,
    child(id: string) {
      const child = actor.getSnapshot().context.children.find((c) => c.id === id);
      if (!child) throw new Error(`no child ${id}`);
      return child;
    },
    send: (event: SupervisorEvent) => actor.send(event),
    start: () => actor.send({ type: 'START', at: clock.now() }),
    stop: () => actor.send({ type: 'STOP', at: clock.now() }),
    exit: (id: string, error: string | null = 'boom', downMs?: number) =>
      actor.send({ type: 'CHILD_EXITED', id, at: clock.now(), error, ...(downMs === undefined ? {} : { downMs }) }),
    elapse: (ms: number) => clock.increment(ms),
    /** The effects of a kind, in order. */
    of<K extends Effect['kind']>(kind: K): Extract<Effect, { kind: K }>[] {
      return effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
    },
    starts: () => h.of('start').map((e) => e.ids.join(',')),
    stops: () => h.of('stop').map((e) => e.ids.join(',')),
    lastExit: (): ExitReport => {
      const last = h.of('exit').at(-1);
      if (!last) throw new Error('no exit reported');
      return last.report;
    },
    /**
     * Lets `id`'s pending restart run out: nothing starts 1 ms before its deadline, exactly one
     * start at it. Returns the ids started.
     */
    restartOnTime(id: string): readonly string[] {
      const deadline = h.child(id).restartAt;
      if (deadline === null) throw new Error(`no restart pending for ${id} (${h.child(id).state})`);
      const before = h.of('start').length;
      clock.set(deadline - 1);
      expect(h.of('start').length, `no start before ${id}'s deadline`).toBe(before);
      clock.set(deadline);
      const started = h.of('start').slice(before);
      expect(started, `one start at ${id}'s deadline`).toHaveLength(1);
      expect(started[0]!.at).toBe(deadline);
      return started[0]!.ids;
    },
  };
  return h;
}

type Harness = ReturnType<typeof harness>;

/** The delays mulberry32 from `seed` and backoffDelay give for these attempts: what the machine must draw. */
function expectedDelays(seed: number, attempts: readonly number[]): number[] {
  let state = seed;
  return attempts.map((attempt) => {
    const draw = mulberry32(state);
    state = draw.state;
    return backoffDelay(attempt, DEFAULT_BACKOFF, draw.u01);
  });
}

/** `id` exits at once after every restart, `count` times; returns the exit reports. */
function crashLoop(h: Harness, id: string, count: number, upMs = 0): ExitReport[] {
  const reports: ExitReport[] = [];
  for (let i = 0; i < count; i++) {
    h.elapse(upMs);
    h.exit(id);
    if (h.state() !== 'running') break;
    reports.push(h.lastExit());
    h.restartOnTime(id);
  }
  return reports;
}

// ---------------------------------------------------------------------------------------------
// Restart types
// ---------------------------------------------------------------------------------------------

describe('restart types', () => {
  it('restartWanted: permanent always, transient after an error only, temporary never', () => {
    expect(restartWanted('permanent', 'boom')).toBe(true);
    expect(restartWanted('permanent', null)).toBe(true);
    expect(restartWanted('transient', 'boom')).toBe(true);
    expect(restartWanted('transient', null)).toBe(false);
    expect(restartWanted('temporary', 'boom')).toBe(false);
    expect(restartWanted('temporary', null)).toBe(false);
  });

  it.each<[RestartType, string | null, 'restart' | 'exit']>([
    ['permanent', 'boom', 'restart'],
    ['permanent', null, 'restart'],
    ['transient', 'boom', 'restart'],
    ['transient', null, 'exit'],
    ['temporary', 'boom', 'exit'],
    ['temporary', null, 'exit'],
  ])('a %s child that exits with error %s: %s', (restart, error, expected) => {
    const h = harness({ children: [{ id: 'a' }, { id: 'b', restart }, { id: 'c' }] });
    h.start();
    expect(h.starts()).toEqual(['a,b,c']);
    h.elapse(2_000);
    const exitAt = h.clock.now();
    h.exit('b', error);
    const report = h.lastExit();
    expect(report).toMatchObject({ child: 'b', at: exitAt, error, decision: expected, siblings: [] });
    expect(h.child('b')).toMatchObject({ lastExitAt: exitAt, failures: error === null ? 0 : 1, lastError: error, upMs: 2_000 });
    if (expected === 'restart') {
      expect(h.child('b').state).toBe('restarting');
      expect(report.attempt).toBe(1);
      expect(report.restartAt).toBe(exitAt + report.delayMs!);
      expect(h.child('b').restartAt).toBe(report.restartAt);
      expect(pendingRestarts(h.snapshot())).toEqual([{ event: { type: 'RESTART_DUE', id: 'b', at: report.restartAt }, at: report.restartAt }]);
      expect(h.restartOnTime('b')).toEqual(['b']);
      expect(h.child('b')).toMatchObject({ state: 'running', restarts: 1, startedAt: report.restartAt, restartAt: null });
      expect(h.of('restarts').at(-1)?.reports).toEqual([
        { child: 'b', at: report.restartAt, cause: 'b', restarts: 1, delayMs: report.delayMs, error },
      ]);
    } else {
      expect(h.child('b')).toMatchObject({ state: 'exited', restartAt: null, restarts: 0 });
      expect(report).toMatchObject({ attempt: null, delayMs: null, restartAt: null });
      expect(pendingRestarts(h.snapshot())).toEqual([]);
      h.elapse(3_600_000);
      expect(h.starts()).toEqual(['a,b,c']);
    }
    // one_for_one: the siblings are never touched.
    expect(h.stops()).toEqual([]);
    expect([h.child('a'), h.child('c')].map((c) => [c.state, c.restarts])).toEqual([
      ['running', 0],
      ['running', 0],
    ]);
    expect(h.state()).toBe('running');
  });

  it('a temporary child is never restarted, and later reports about it are ignored', () => {
    const h = harness({ children: [{ id: 't', restart: 'temporary' }, { id: 'p' }] });
    h.start();
    h.exit('t');
    const after = h.ctx();
    h.exit('t');
    h.exit('t', null);
    h.send({ type: 'RESTART_DUE', id: 't', at: h.clock.now() });
    expect(h.ctx()).toEqual(after);
    h.elapse(24 * 3_600_000);
    expect(h.starts()).toEqual(['t,p']);
    expect(h.child('t')).toMatchObject({ state: 'exited', restarts: 0, failures: 1 });
  });

  it('ignores an exit of a child that is not running, and of an unknown child', () => {
    const h = harness();
    h.start();
    h.exit('b');
    const before = h.ctx();
    const effects = h.effects.length;
    h.exit('b'); // restarting already
    h.exit('nobody');
    expect(h.ctx()).toEqual(before);
    expect(h.effects).toHaveLength(effects);
  });

  it('counts a permanent child that completes normally as a restart, without a failure', () => {
    const h = harness({ children: [{ id: 'a' }] });
    h.start();
    h.exit('a', 'first');
    h.restartOnTime('a');
    h.exit('a', null);
    expect(h.child('a')).toMatchObject({ state: 'restarting', failures: 1, lastError: 'first', lastExit: 'completed', streak: 2 });
    h.restartOnTime('a');
    expect(h.of('restarts').at(-1)?.reports[0]).toMatchObject({ child: 'a', restarts: 2, error: null });
  });
});

// ---------------------------------------------------------------------------------------------
// rest_for_one
// ---------------------------------------------------------------------------------------------

describe('rest_for_one', () => {
  it('stops the later siblings in reverse start order and restarts them with the failed child, in start order', () => {
    const h = harness({ strategy: 'rest_for_one', children: [{ id: 'feed' }, { id: 'a' }, { id: 'b' }, { id: 'c' }] });
    h.start();
    h.elapse(500);
    h.exit('a');
    expect(h.stops()).toEqual(['c,b']);
    expect(h.lastExit()).toMatchObject({ child: 'a', decision: 'restart', siblings: ['b', 'c'] });
    expect(['feed', 'a', 'b', 'c'].map((id) => h.child(id).state)).toEqual(['running', 'restarting', 'restarting', 'restarting']);
    // Only the failed child holds the timer.
    expect(pendingRestarts(h.snapshot()).map((p) => p.event.id)).toEqual(['a']);
    expect(h.restartOnTime('a')).toEqual(['a', 'b', 'c']);
    const at = h.clock.now();
    expect(h.of('restarts').at(-1)?.reports).toEqual(
      ['a', 'b', 'c'].map((child) => ({ child, at, cause: 'a', restarts: 1, delayMs: h.lastExit().delayMs, error: 'boom' })),
    );
    expect(['feed', 'a', 'b', 'c'].map((id) => [h.child(id).state, h.child(id).restarts])).toEqual([
      ['running', 0],
      ['running', 1],
      ['running', 1],
      ['running', 1],
    ]);
    // The siblings were stopped, not failed: no failure, no backoff streak, no intensity mark.
    expect([h.child('b').failures, h.child('b').streak, h.child('c').failures]).toEqual([0, 0, 0]);
    expect(h.ctx().restartLog.map((mark) => mark.child)).toEqual(['a']);
  });

  it('a failed first child takes every other child along; the last child only itself', () => {
    const h = harness({ strategy: 'rest_for_one' });
    h.start();
    h.exit('a');
    expect(h.stops()).toEqual(['d,c,b']);
    expect(h.restartOnTime('a')).toEqual(['a', 'b', 'c', 'd']);
    h.exit('d');
    expect(h.stops()).toEqual(['d,c,b']); // nothing more stopped
    expect(h.restartOnTime('d')).toEqual(['d']);
    expect(h.starts()).toEqual(['a,b,c,d', 'a,b,c,d', 'd']);
  });

  it('stops a later temporary sibling for good, restarts a later transient one, leaves an exited one down', () => {
    const h = harness({
      strategy: 'rest_for_one',
      children: [{ id: 'feed' }, { id: 'gone', restart: 'transient' }, { id: 'tmp', restart: 'temporary' }, { id: 'tr', restart: 'transient' }],
    });
    h.start();
    h.exit('gone', null); // a transient child completes: exited for good
    h.exit('feed');
    expect(h.stops()).toEqual(['tr,tmp']);
    expect(h.lastExit().siblings).toEqual(['tr']);
    expect(['gone', 'tmp', 'tr'].map((id) => h.child(id).state)).toEqual(['exited', 'stopped', 'restarting']);
    expect(h.restartOnTime('feed')).toEqual(['feed', 'tr']);
    h.elapse(3_600_000);
    expect(h.starts()).toEqual(['feed,gone,tmp,tr', 'feed,tr']);
  });

  it('an earlier sibling failing supersedes a later one’s pending restart: one restart of the whole group', () => {
    const h = harness({ strategy: 'rest_for_one' });
    h.start();
    h.exit('c');
    expect(h.stops()).toEqual(['d']);
    const cDeadline = h.child('c').restartAt!;
    h.elapse(100);
    h.exit('b');
    expect(h.stops()).toEqual(['d']); // c and d are down already: nothing else to stop
    expect(h.child('c')).toMatchObject({ state: 'restarting', restartAt: null });
    const bDeadline = h.child('b').restartAt!;
    expect(pendingRestarts(h.snapshot()).map((p) => p.event)).toEqual([{ type: 'RESTART_DUE', id: 'b', at: bDeadline }]);
    // c's old timer still fires at its old deadline (if that comes first): it must start nothing.
    h.clock.set(Math.max(cDeadline, bDeadline));
    expect(h.starts()).toEqual(['a,b,c,d', 'b,c,d']);
    expect(h.of('start').at(-1)?.at).toBe(Math.max(cDeadline, bDeadline));
    expect(['b', 'c', 'd'].map((id) => h.child(id).restarts)).toEqual([1, 1, 1]);
    // A repeated deadline is ignored too.
    h.send({ type: 'RESTART_DUE', id: 'b', at: bDeadline });
    h.send({ type: 'RESTART_DUE', id: 'c', at: cDeadline });
    expect(h.starts()).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// Backoff
// ---------------------------------------------------------------------------------------------

describe('backoff', () => {
  const forever = { maxRestarts: 1_000, periodMs: 5_000 };

  it('waits 1 s, 2 s, 4 s ... capped at 30 s, within ±20 %, drawn from mulberry32 of the seed, and restarts exactly at the deadline', () => {
    const h = harness({ seed: 2024, intensity: forever, children: [{ id: 'a' }] });
    h.start();
    const reports = crashLoop(h, 'a', 14);
    expect(reports.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    const delays = reports.map((r) => r.delayMs!);
    expect(delays).toEqual(expectedDelays(2024, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    const nominal = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000];
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(nominal[i]! * 0.8);
      expect(delay).toBeLessThanOrEqual(nominal[i]! * 1.2);
    });
    // Jitter jitters: the capped delays are not all the same.
    expect(new Set(delays.slice(5)).size).toBeGreaterThan(1);
    // Each deadline is the exit time plus the delay; restartOnTime checked the start happens at it, not a ms before.
    for (const r of reports) expect(r.restartAt).toBe(r.at + r.delayMs!);
    expect(h.child('a').restarts).toBe(14);
  });

  it('starts over at 1 s once the child has been up the quiet period (60 s) before it exits', () => {
    const h = harness({ seed: 7, intensity: forever, children: [{ id: 'a' }] });
    h.start();
    crashLoop(h, 'a', 3);
    h.elapse(59_999);
    h.exit('a');
    expect(h.lastExit().attempt).toBe(4);
    expect(h.lastExit().delayMs).toBeGreaterThanOrEqual(6_400);
    expect(h.lastExit().delayMs).toBeLessThanOrEqual(9_600);
    h.restartOnTime('a');
    h.elapse(60_000);
    h.exit('a');
    expect(h.lastExit().attempt).toBe(1);
    expect(h.lastExit().delayMs).toBeGreaterThanOrEqual(800);
    expect(h.lastExit().delayMs).toBeLessThanOrEqual(1_200);
    h.restartOnTime('a');
    h.exit('a');
    expect(h.lastExit().attempt).toBe(2);
    expect(h.of('exit').map((e) => e.report.delayMs)).toEqual(expectedDelays(7, [1, 2, 3, 4, 1, 2]));
  });

  it('keeps one streak per child: one child’s failures do not lengthen another’s backoff', () => {
    const h = harness({ intensity: forever, children: [{ id: 'a' }, { id: 'b' }] });
    h.start();
    crashLoop(h, 'a', 4);
    h.exit('b');
    expect(h.lastExit()).toMatchObject({ child: 'b', attempt: 1 });
    expect(h.lastExit().delayMs).toBeLessThanOrEqual(1_200);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const run = (seed: number) => {
      const h = harness({ seed, intensity: forever, children: [{ id: 'a' }] });
      h.start();
      return crashLoop(h, 'a', 8).map((r) => r.delayMs);
    };
    expect(run(99)).toEqual(run(99));
    expect(run(100)).not.toEqual(run(99));
  });
});

// ---------------------------------------------------------------------------------------------
// Intensity
// ---------------------------------------------------------------------------------------------

describe('intensity', () => {
  it('defaults to 3 restarts in 5 s; the preset for exchange workers is 5 in 60 s', () => {
    expect(harness().ctx().intensity).toEqual({ maxRestarts: 3, periodMs: 5_000 });
    expect(LOGIC_INTENSITY).toEqual({ maxRestarts: 3, periodMs: 5_000 });
    expect(EXCHANGE_WORKER_INTENSITY).toEqual({ maxRestarts: 5, periodMs: 60_000 });
    expect(harness().ctx().quietPeriodMs).toBe(60_000);
    expect(harness().ctx().backoff).toEqual({ baseMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.2 });
  });

  it('gives up on a crash-looping child at its 4th exit, although the backoffs spread the restarts over more than 5 s of wall time', () => {
    const h = harness({ children: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    h.start();
    const firstExitAt = h.clock.now();
    const reports = crashLoop(h, 'a', 10);
    expect(reports).toHaveLength(3);
    expect(h.state()).toBe('gaveUp');
    expect(h.clock.now() - firstExitAt).toBeGreaterThanOrEqual(800 + 1_600 + 3_200);
    const escalations = h.of('escalate');
    expect(escalations).toHaveLength(1);
    expect(escalations[0]!.reason).toEqual({
      supervisor: 'sup',
      child: 'a',
      error: 'boom',
      restarts: 3,
      intensity: { maxRestarts: 3, periodMs: 5_000 },
      at: h.clock.now(),
      // The supervisor waited out every backoff: a parent must not count that as up-time.
      downMs: reports.reduce((sum, r) => sum + r.delayMs!, 0),
      message: "supervisor 'sup' gave up: child 'a' failed (boom) with 3 restart(s) already within 5000 ms of up-time (intensity 3 in 5000 ms)",
    });
    expect(h.child('a')).toMatchObject({ state: 'exited', restarts: 3, failures: 4 });
    expect(h.snapshot().output).toEqual({ gaveUp: escalations[0]!.reason });
  });

  it('a restart leaves the books once its child has been up the period: 1,666 ms lives give up, 1,667 ms lives go on', () => {
    // Three earlier restarts are 3 lives old at the 4th exit: 3 * 1,666 < 5,000 <= 3 * 1,667.
    const short = harness({ children: [{ id: 'a' }] });
    short.start();
    expect(crashLoop(short, 'a', 30, 1_666)).toHaveLength(3);
    expect(short.state()).toBe('gaveUp');

    const long = harness({ children: [{ id: 'a' }] });
    long.start();
    expect(crashLoop(long, 'a', 30, 1_667)).toHaveLength(30);
    expect(long.state()).toBe('running');
    expect(long.child('a').restarts).toBe(30);
  });

  it('counts restarts of all children together', () => {
    const h = harness({ children: [{ id: 'a' }, { id: 'b' }] });
    h.start();
    for (const id of ['a', 'b', 'a']) {
      h.exit(id);
      h.restartOnTime(id);
    }
    expect(h.ctx().restartLog.map((m) => m.child)).toEqual(['a', 'b', 'a']);
    h.exit('b');
    expect(h.state()).toBe('gaveUp');
    expect(h.of('escalate')[0]!.reason).toMatchObject({ child: 'b', restarts: 3 });
    expect(h.stops()).toEqual(['a']);
    expect([h.child('a').state, h.child('b').state]).toEqual(['stopped', 'exited']);
  });

  it('drops the restarts of a transient child that then completes for good', () => {
    const h = harness({ children: [{ id: 't', restart: 'transient' }, { id: 'b' }] });
    h.start();
    h.exit('t');
    h.restartOnTime('t');
    h.exit('t');
    h.restartOnTime('t');
    expect(h.ctx().restartLog).toHaveLength(2);
    h.exit('t', null);
    expect(h.ctx().restartLog).toHaveLength(0);
    // b alone now: 3 restarts granted, the 4th exit gives up (with t's two still counted it would be the 2nd).
    expect(crashLoop(h, 'b', 10)).toHaveLength(3);
    expect(h.state()).toBe('gaveUp');
  });

  it('maxRestarts 0 gives up at the first exit that wants a restart, not at one that does not', () => {
    const h = harness({ intensity: { maxRestarts: 0 }, children: [{ id: 't', restart: 'temporary' }, { id: 'p' }] });
    h.start();
    h.exit('t');
    expect(h.state()).toBe('running');
    h.exit('p', null);
    expect(h.state()).toBe('gaveUp');
    expect(h.of('escalate')[0]!.reason).toMatchObject({ child: 'p', error: null, restarts: 0 });
    expect(h.of('escalate')[0]!.reason.message).toContain("child 'p' completed with 0 restart(s)");
  });

  it('does not count the time a nested supervisor reports as down (downMs) as up-time', () => {
    // Each life lasts 10 s, which alone would take every restart off the books (5 s period)...
    const healthy = harness({ children: [{ id: 'nested' }] });
    healthy.start();
    expect(crashLoop(healthy, 'nested', 12, 10_000)).toHaveLength(12);
    expect(healthy.state()).toBe('running');
    // ...but a child down all of its life was never up: the 4th exit gives up.
    const h = harness({ children: [{ id: 'nested' }] });
    h.start();
    for (let i = 0; i < 3; i++) {
      h.elapse(10_000);
      h.exit('nested', 'gave up', 10_000);
      expect(h.lastExit().attempt, 'no quiet period either').toBe(i + 1);
      h.restartOnTime('nested');
    }
    h.elapse(10_000);
    h.exit('nested', 'gave up', 9_000);
    expect(h.state()).toBe('gaveUp');
    expect(h.child('nested').upMs).toBe(1_000);
  });

  it('decideExit is the whole policy, as a pure function of the context and the exit', () => {
    const h = harness({ children: [{ id: 'a' }] });
    h.start();
    const context = h.ctx();
    const exit = { type: 'CHILD_EXITED', id: 'a', at: T0 + 10, error: 'x' } as const;
    expect(decideExit(context, exit)).toEqual(decideExit(context, exit));
    expect(decideExit(context, exit).kind).toBe('restart');
    expect(decideExit(context, { ...exit, id: 'zz' }).kind).toBe('stale');
    expect(h.ctx()).toBe(context); // nothing was changed
  });
});

// ---------------------------------------------------------------------------------------------
// Giving up and stopping
// ---------------------------------------------------------------------------------------------

describe('giving up', () => {
  it('stops every other running child in reverse start order, escalates once, and then stays quiet', () => {
    const h = harness({ intensity: { maxRestarts: 2 } });
    h.start();
    h.exit('c');
    h.restartOnTime('c');
    h.exit('a'); // a is restarting (down) when c exits again
    h.exit('c');
    expect(h.state()).toBe('gaveUp');
    expect(h.stops()).toEqual(['d,b']);
    expect(['a', 'b', 'c', 'd'].map((id) => h.child(id).state)).toEqual(['stopped', 'stopped', 'exited', 'stopped']);
    expect(pendingRestarts(h.snapshot())).toEqual([]);
    const effects = h.effects.length;
    h.elapse(3_600_000); // a's timer dies with the actor
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      h.exit('b');
      h.start();
      h.stop();
      // XState (development build) says why: the actor is done.
      expect(warn.mock.calls.map((call) => String(call[0]))).toEqual(Array.from({ length: 3 }, () => expect.stringContaining('has already reached its final state')));
    } finally {
      warn.mockRestore();
    }
    expect(h.effects).toHaveLength(effects);
    expect(h.of('escalate')).toHaveLength(1);
    expect(h.snapshot().status).toBe('done');
  });
});

describe('stopping', () => {
  it('stops the running children in reverse start order and drops pending restarts', () => {
    const h = harness();
    h.start();
    h.elapse(1_000);
    h.exit('b');
    h.stop();
    expect(h.state()).toBe('stopped');
    expect(h.stops()).toEqual(['d,c,a']);
    expect(['a', 'b', 'c', 'd'].map((id) => h.child(id).state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
    expect(h.child('a').upMs).toBe(1_000);
    expect(pendingRestarts(h.snapshot())).toEqual([]);
    h.elapse(3_600_000);
    expect(h.starts()).toEqual(['a,b,c,d']);
    expect(h.of('escalate')).toHaveLength(0);
    expect(h.snapshot().output).toEqual({ gaveUp: null });
  });

  it('before START: stopped, nothing started or stopped', () => {
    const h = harness();
    h.stop();
    expect(h.state()).toBe('stopped');
    expect(h.effects).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------

describe('persisted snapshot', () => {
  it('keeps the deadline in context; re-armed from pendingRestarts it replays the straight run', () => {
    const input = { seed: 5, intensity: { maxRestarts: 50 }, children: [{ id: 'a' }, { id: 'b' }] };
    const straight = harness(input);
    straight.start();
    const straightDelays = crashLoop(straight, 'a', 6).map((r) => r.delayMs);

    const first = harness(input);
    first.start();
    const firstDelays = crashLoop(first, 'a', 3).map((r) => r.delayMs);
    first.exit('a'); // 4th exit: restart pending
    firstDelays.push(first.lastExit().delayMs);
    const persisted: unknown = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot()));
    const [timer, ...more] = pendingRestarts(first.snapshot());
    first.actor.stop();
    expect(more).toEqual([]);
    expect(timer?.at).toBe(first.child('a').restartAt);

    const restored = harness({ ...input, seed: 1 /* ignored: the snapshot wins */ }, { snapshot: persisted, startAt: first.clock.now() });
    expect(restored.child('a')).toMatchObject({ state: 'restarting', restartAt: timer!.at });
    restored.clock.set(timer!.at);
    expect(restored.starts()).toEqual([]); // XState did not re-arm it
    restored.send(timer!.event);
    expect(restored.starts()).toEqual(['a']);
    const resumed = crashLoop(restored, 'a', 2).map((r) => r.delayMs);
    expect([...firstDelays, ...resumed]).toEqual(straightDelays);
  });
});

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

describe('input', () => {
  it.each<[string, Partial<SupervisorInput>]>([
    ['a duplicate child id', { children: [{ id: 'a' }, { id: 'a' }] }],
    ['an empty child id', { children: [{ id: '' }] }],
    ['an unknown restart type', { children: [{ id: 'a', restart: 'always' as RestartType }] }],
    ['an unknown strategy', { strategy: 'one_for_all' as 'one_for_one' }],
    ['a negative maxRestarts', { intensity: { maxRestarts: -1 } }],
    ['a zero period', { intensity: { periodMs: 0 } }],
    ['a jitter of 1', { backoff: { jitter: 1 } }],
    ['a zero base delay', { backoff: { baseMs: 0 } }],
    ['a zero quiet period', { quietPeriodMs: 0 }],
    ['a fractional seed', { seed: 1.5 }],
  ])('refuses %s', (_, input) => {
    const actor = createActor(supervisorMachine, { input: { id: 'sup', seed: 1, children: CHILDREN, ...input } });
    expect(actor.getSnapshot().status).toBe('error');
    expect(actor.getSnapshot().error).toBeInstanceOf(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// The transition table (last: it checks what the tests above took)
// ---------------------------------------------------------------------------------------------

describe('transition table', () => {
  const table = [
    'supervisor.idle --START--> supervisor.running',
    'supervisor.idle --STOP--> supervisor.stopped',
    'supervisor.running --CHILD_EXITED--> (self) [exitIsStale]',
    'supervisor.running --CHILD_EXITED--> (self) [exitIsFinal]',
    'supervisor.running --CHILD_EXITED--> supervisor.gaveUp [intensityExceeded]',
    'supervisor.running --CHILD_EXITED--> (self)',
    'supervisor.running --RESTART_DUE--> (self) [restartIsDue]',
    'supervisor.running --STOP--> supervisor.stopped',
  ];

  it('is the one docs/supervision.md describes', () => {
    expect(definitionTransitions(supervisorMachine)).toEqual(table);
  });

  it('every edge was taken by the tests above', () => {
    expect([...taken].sort()).toEqual([...table].sort());
  });
});
