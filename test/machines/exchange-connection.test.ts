import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createActor,
  fromPromise,
  SimulatedClock,
  type AnyEventObject,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type SnapshotFrom,
} from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph';
import {
  backoffDelay,
  classifyConnectError,
  ConnectError,
  DEFAULT_BACKOFF,
  exchangeConnectionMachine,
  mulberry32,
  pendingTimer,
  TIMER_EVENTS,
  type ConnectErrorKind,
  type ConnectInput,
  type ConnectOutput,
  type ExchangeConnectionEvent,
  type ExchangeConnectionInput,
} from '../../src/machines/exchange-connection.machine.js';

type Snapshot = SnapshotFrom<typeof exchangeConnectionMachine>;
type StateName = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

const T0 = 1_700_000_000_000;
const DONE = 'xstate.done.actor.connect';
const ERROR = 'xstate.error.actor.connect';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// Harness: the machine on a SimulatedClock with a controllable fake `connect` actor
// ---------------------------------------------------------------------------------------------

interface PendingConnect {
  readonly input: ConnectInput;
  readonly signal: AbortSignal;
  readonly resolve: (output: ConnectOutput) => void;
  readonly reject: (error: unknown) => void;
  /** Still in flight: neither answered by the test nor cancelled by the machine. */
  readonly live: () => boolean;
}

function harness(input: Partial<ExchangeConnectionInput> = {}, options: { snapshot?: unknown; startAt?: number } = {}) {
  const clock = new SimulatedClock();
  clock.set(options.startAt ?? T0);
  const connects: PendingConnect[] = [];
  const connect = fromPromise<ConnectOutput, ConnectInput>(
    ({ input: connectInput, signal }) =>
      new Promise((resolve, reject) => {
        let settled = false;
        connects.push({
          input: connectInput,
          signal,
          resolve: (output) => ((settled = true), resolve(output)),
          reject: (error) => ((settled = true), reject(error)),
          live: () => !settled && !signal.aborted,
        });
      }),
  );
  const taken: AnyTransitionDefinition[] = [];
  const machine = exchangeConnectionMachine.provide({ actors: { connect } });
  const actor = createActor(machine, {
    input: { seed: 42, ...input },
    clock,
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot as Snapshot }),
    inspect: (ev) => {
      if (ev.type === '@xstate.microstep' && ev.actorRef === actor) taken.push(...ev._transitions);
    },
  });
  actor.start();

  const currentConnect = (): PendingConnect => {
    const last = connects.at(-1);
    if (!last) throw new Error('no connect attempt was started');
    return last;
  };
  const h = {
    actor,
    clock,
    connects,
    taken,
    snapshot: (): Snapshot => actor.getSnapshot(),
    state: (): StateName => actor.getSnapshot().value,
    ctx: () => actor.getSnapshot().context,
    send: (event: ExchangeConnectionEvent) => actor.send(event),
    elapse: (ms: number) => clock.increment(ms),
    connect: () => actor.send({ type: 'CONNECT', at: clock.now() }),
    async succeed() {
      currentConnect().resolve({ at: clock.now() });
      await flush();
    },
    async fail(kind: ConnectErrorKind = 'transient', reason = 'ECONNRESET') {
      currentConnect().reject(new ConnectError(kind, reason, clock.now()));
      await flush();
    },
    async rejectWith(error: unknown) {
      currentConnect().reject(error);
      await flush();
    },
    /** Lets the pending backoff run out. */
    waitOutBackoff() {
      const delay = actor.getSnapshot().context.retryDelayMs;
      if (delay === null) throw new Error(`no backoff pending in ${h.state()}`);
      clock.increment(delay);
    },
  };
  return h;
}

type Harness = ReturnType<typeof harness>;

/** Drives a fresh harness into `target` with the fewest steps. */
async function driveTo(target: StateName, input: Partial<ExchangeConnectionInput> = {}): Promise<Harness> {
  const h = harness(input);
  if (target === 'disconnected') return h;
  h.connect();
  if (target === 'connecting') return h;
  if (target === 'failed') {
    await h.fail('auth', 'invalid api key');
    return h;
  }
  if (target === 'reconnecting') {
    await h.fail();
    return h;
  }
  await h.succeed();
  return h;
}

// ---------------------------------------------------------------------------------------------
// backoffDelay and the PRNG
// ---------------------------------------------------------------------------------------------

describe('backoffDelay', () => {
  it('doubles from 1 s and caps the nominal delay at 30 s', () => {
    const nominal = [1, 2, 3, 4, 5, 6, 7, 20, 1_000].map((attempt) => backoffDelay(attempt, DEFAULT_BACKOFF, 0.5));
    expect(nominal).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('spreads the delay over nominal * (1 ± 0.2)', () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, 0)).toBe(800);
    expect(backoffDelay(1, DEFAULT_BACKOFF, 1)).toBe(1_200);
    expect(backoffDelay(10, DEFAULT_BACKOFF, 0)).toBe(24_000);
    expect(backoffDelay(10, DEFAULT_BACKOFF, 1)).toBe(36_000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, u01) => {
        const nominal = Math.min(30_000, 1_000 * 2 ** (attempt - 1));
        const delay = backoffDelay(attempt, DEFAULT_BACKOFF, u01);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.round(nominal * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.round(nominal * 1.2));
      }),
    );
  });

  it('honours other options', () => {
    const opts = { baseMs: 500, factor: 3, maxMs: 10_000, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts, 0.9))).toEqual([500, 1_500, 4_500, 10_000, 10_000]);
  });

  it('rejects an attempt below 1 and a draw outside [0, 1]', () => {
    expect(() => backoffDelay(0, DEFAULT_BACKOFF, 0.5)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, DEFAULT_BACKOFF, 0.5)).toThrow(RangeError);
    expect(() => backoffDelay(1, DEFAULT_BACKOFF, 1.01)).toThrow(RangeError);
    expect(() => backoffDelay(1, DEFAULT_BACKOFF, Number.NaN)).toThrow(RangeError);
  });
});

describe('mulberry32', () => {
  it('matches the reference closure form and stays in [0, 1)', () => {
    // The usual form: function mulberry32(a) { return () => { let t = a += 0x6D2B79F5; ... } }
    const reference = (seed: number) => {
      let a = seed;
      return () => {
        let t = (a += 0x6d2b79f5);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
      };
    };
    for (const seed of [0, 1, 42, -7, 2 ** 31 - 1]) {
      const next = reference(seed);
      let state = seed;
      for (let i = 0; i < 1_000; i++) {
        const draw = mulberry32(state);
        expect(draw.u01).toBe(next());
        expect(draw.u01).toBeGreaterThanOrEqual(0);
        expect(draw.u01).toBeLessThan(1);
        expect(draw.state | 0).toBe(draw.state);
        state = draw.state;
      }
    }
  });
});

describe('classifyConnectError', () => {
  it('trusts a ConnectError-shaped rejection and names anything else only by its type', () => {
    expect(classifyConnectError(new ConnectError('auth', 'invalid api key', 5), 1)).toEqual({ kind: 'auth', reason: 'invalid api key', at: 5 });
    expect(classifyConnectError({ kind: 'transient', message: 'timeout', at: 7 }, 1)).toEqual({ kind: 'transient', reason: 'timeout', at: 7 });
    expect(classifyConnectError({ kind: 'transient', message: 'timeout' }, 1)).toEqual({ kind: 'transient', reason: 'timeout', at: 1 });
    const leaky = new TypeError('GET https://api.exchange/v3/account?apiKey=SECRET&signature=abc failed');
    expect(classifyConnectError(leaky, 3)).toEqual({ kind: 'transient', reason: 'connect failed: TypeError', at: 3 });
    expect(classifyConnectError('boom', 3)).toEqual({ kind: 'transient', reason: 'connect failed: string', at: 3 });
    expect(classifyConnectError({ kind: 'fatal', message: 'x' }, 3).kind).toBe('transient');
  });
});

// ---------------------------------------------------------------------------------------------
// Model-based: every state and every transition, replayed on the actor
// ---------------------------------------------------------------------------------------------

/** Concrete events for the abstract model; times are irrelevant to the model, the driver stamps real ones. */
const modelEvents = [
  { type: 'CONNECT', at: 0 },
  { type: 'DISCONNECT' },
  { type: 'CONNECTION_LOST', reason: 'socket closed', at: 0 },
  { type: 'MESSAGE', at: 0 },
  { type: 'AUTH_FAILED', reason: 'key revoked' },
  { type: 'RETRY', at: 0 },
  { type: DONE, output: { at: 0 } },
  { type: ERROR, error: new ConnectError('transient', 'ECONNRESET', 0) },
  { type: ERROR, error: new ConnectError('auth', 'invalid api key', 0) },
  { type: TIMER_EVENTS.retry },
  { type: TIMER_EVENTS.stale },
] as unknown as ExchangeConnectionEvent[];

function eventLabel(event: AnyEventObject): string {
  if (event.type === ERROR) return `error(${(event as unknown as { error: ConnectError }).error.kind})`;
  if (event.type === DONE) return 'done';
  if (event.type === TIMER_EVENTS.retry) return 'after(retryDelay)';
  if (event.type === TIMER_EVENTS.stale) return 'after(staleAfter)';
  return event.type;
}

/** The abstract state: where the machine is and how many failures it has counted (deadlines and PRNG state abstracted away). */
function stateKey(snapshot: Snapshot): string {
  return `${String(snapshot.value)}#${snapshot.context.attempt}`;
}

const edgeKey = (from: string, event: AnyEventObject, to: string) => `${from} --${eventLabel(event)}--> ${to}`;

/** Executes one abstract event on the real actor, the way the live system would produce it. */
async function perform(h: Harness, event: AnyEventObject): Promise<void> {
  const now = h.clock.now();
  switch (event.type) {
    case 'CONNECT':
    case 'MESSAGE':
    case 'RETRY':
      return void h.send({ type: event.type, at: now });
    case 'CONNECTION_LOST':
      return void h.send({ type: 'CONNECTION_LOST', reason: 'socket closed', at: now });
    case 'AUTH_FAILED':
      return void h.send({ type: 'AUTH_FAILED', reason: 'key revoked' });
    case 'DISCONNECT':
      return void h.send({ type: 'DISCONNECT' });
    case DONE:
      return h.succeed();
    case ERROR: {
      const { kind, message } = (event as unknown as { error: ConnectError }).error;
      return h.fail(kind, message);
    }
    case TIMER_EVENTS.retry:
      return h.waitOutBackoff();
    case TIMER_EVENTS.stale:
      return h.elapse(h.ctx().staleAfterMs);
    default:
      throw new Error(`no driver for ${event.type}`);
  }
}

function transitionLabel(t: AnyTransitionDefinition): string {
  const guard = t.guard === undefined ? '' : ` [${typeof t.guard === 'string' ? t.guard : (t.guard as { type?: string }).type ?? 'inline'}]`;
  const targets = (t.target ?? []).map((s: AnyStateNode) => s.key).join(',') || '(none)';
  return `${t.source.key} --${t.eventType}--> ${targets}${guard}`;
}

function allTransitionDefinitions(): string[] {
  const root = exchangeConnectionMachine.root;
  return [root, ...getStateNodes(root)].flatMap((node) => [...node.transitions.values()].flat().map(transitionLabel));
}

/**
 * Builds the abstract graph for `maxAttempts`, then for every edge (s, e, t) replays the shortest
 * path to s followed by e on a fresh actor, checking the actor's abstract state after every step.
 */
async function exploreModel(maxAttempts: number) {
  const input = { seed: 7, maxAttempts };
  const traversal = {
    input,
    events: modelEvents,
    filterEvents: (snapshot: Snapshot, event: ExchangeConnectionEvent) => snapshot.can(event),
    serializeState: (snapshot: Snapshot) => stateKey(snapshot),
    serializeEvent: (event: AnyEventObject) => eventLabel(event),
  };
  const adjacency = getAdjacencyMap(exchangeConnectionMachine, traversal);
  const modelEdges = adjacencyMapToArray(adjacency).map(({ state, event, nextState }) => ({
    from: stateKey(state),
    event: event as AnyEventObject,
    to: stateKey(nextState),
  }));
  const pathTo = new Map(
    getShortestPaths(exchangeConnectionMachine, traversal).map((path) => [
      stateKey(path.state),
      path.steps.map((step) => step.event as AnyEventObject).filter((event) => event.type !== 'xstate.init'),
    ]),
  );

  const observedEdges = new Set<string>();
  const takenTransitions = new Set<string>();
  const statesReached = new Set<string>();
  for (const edge of modelEdges) {
    const prefix = pathTo.get(edge.from);
    if (!prefix) throw new Error(`no path to ${edge.from}`);
    const h = harness(input);
    let before = stateKey(h.snapshot());
    statesReached.add(before);
    for (const event of [...prefix, edge.event]) {
      await perform(h, event);
      const after = stateKey(h.snapshot());
      observedEdges.add(edgeKey(before, event, after));
      statesReached.add(after);
      // The actor is where the pure model says it is, one live connect attempt exactly when connecting.
      const liveAttempts = h.connects.filter((c) => c.live()).length;
      expect(liveAttempts, `live connect attempts in ${after}`).toBe(h.state() === 'connecting' ? 1 : 0);
      before = after;
    }
    expect(before, `after ${edgeKey(edge.from, edge.event, edge.to)}`).toBe(edge.to);
    for (const t of h.taken) takenTransitions.add(transitionLabel(t));
    h.actor.stop();
  }
  return {
    modelEdges: new Set(modelEdges.map((e) => edgeKey(e.from, e.event, e.to))),
    /** (state, event) pairs the model accepts, attempts abstracted away. */
    acceptedPairs: new Set(modelEdges.map((e) => `${e.from.split('#')[0]} ${eventLabel(e.event)}`)),
    observedEdges,
    takenTransitions,
    statesReached: new Set([...statesReached].map((key) => key.split('#')[0])),
  };
}

describe('exchange connection model', () => {
  it.each([1, 2])('with maxAttempts %i the actor takes exactly the edges of the model', async (maxAttempts) => {
    const { modelEdges, observedEdges } = await exploreModel(maxAttempts);
    expect([...observedEdges].sort()).toEqual([...modelEdges].sort());
  });

  it('together the two models reach every state and take every transition of the definition', async () => {
    const one = await exploreModel(1);
    const two = await exploreModel(2);
    const allStates = Object.keys(exchangeConnectionMachine.root.states).sort();
    expect(allStates).toEqual(['connected', 'connecting', 'disconnected', 'failed', 'reconnecting']);
    expect([...new Set([...one.statesReached, ...two.statesReached])].sort()).toEqual(allStates);

    const definition = allTransitionDefinitions();
    expect(new Set(definition).size, 'transition labels are unique').toBe(definition.length);
    // The transition table, as the definition has it.
    expect([...definition].sort()).toEqual(
      [
        'exchangeConnection --DISCONNECT--> disconnected',
        'disconnected --CONNECT--> connecting',
        'connecting --xstate.done.actor.connect--> connected',
        'connecting --xstate.error.actor.connect--> failed [isAuthError]',
        'connecting --xstate.error.actor.connect--> failed [retriesExhausted]',
        'connecting --xstate.error.actor.connect--> reconnecting',
        'connecting --CONNECTION_LOST--> failed [retriesExhausted]',
        'connecting --CONNECTION_LOST--> reconnecting',
        'connecting --AUTH_FAILED--> failed',
        `connected --${TIMER_EVENTS.stale}--> failed [retriesExhausted]`,
        `connected --${TIMER_EVENTS.stale}--> reconnecting`,
        'connected --MESSAGE--> connected',
        'connected --CONNECTION_LOST--> failed [retriesExhausted]',
        'connected --CONNECTION_LOST--> reconnecting',
        'connected --AUTH_FAILED--> failed',
        `reconnecting --${TIMER_EVENTS.retry}--> connecting`,
        'reconnecting --AUTH_FAILED--> failed',
        'failed --RETRY--> connecting',
      ].sort(),
    );
    const taken = new Set([...one.takenTransitions, ...two.takenTransitions]);
    expect([...taken].sort()).toEqual([...definition].sort());
  });

  it('covers every (state, event) pair the machine accepts', async () => {
    const { acceptedPairs } = await exploreModel(2);
    expect([...acceptedPairs].sort()).toEqual(
      [
        'disconnected CONNECT',
        'disconnected DISCONNECT',
        'connecting done',
        'connecting error(transient)',
        'connecting error(auth)',
        'connecting CONNECTION_LOST',
        'connecting AUTH_FAILED',
        'connecting DISCONNECT',
        'connected MESSAGE',
        'connected after(staleAfter)',
        'connected CONNECTION_LOST',
        'connected AUTH_FAILED',
        'connected DISCONNECT',
        'reconnecting after(retryDelay)',
        'reconnecting AUTH_FAILED',
        'reconnecting DISCONNECT',
        'failed RETRY',
        'failed DISCONNECT',
      ].sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Targeted behaviour on a SimulatedClock
// ---------------------------------------------------------------------------------------------

/** Fails `count` consecutive connect attempts (starting from disconnected), returning the backoff chosen after each. */
async function failRepeatedly(h: Harness, count: number): Promise<number[]> {
  const delays: number[] = [];
  h.connect();
  for (let i = 0; i < count; i++) {
    await h.fail();
    if (h.state() !== 'reconnecting') break;
    delays.push(h.ctx().retryDelayMs ?? Number.NaN);
    h.waitOutBackoff();
  }
  return delays;
}

describe('backoff on the clock', () => {
  it('grows from ~1 s, doubles, caps at ~30 s, and waits exactly the chosen delay', async () => {
    const h = harness({ maxAttempts: 0 });
    h.connect();
    for (let attempt = 1; attempt <= 12; attempt++) {
      const failedAt = h.clock.now();
      await h.fail();
      const { retryDelayMs, nextAttemptAt } = h.ctx();
      const nominal = Math.min(30_000, 1_000 * 2 ** (attempt - 1));
      expect(h.state()).toBe('reconnecting');
      expect(h.ctx().attempt).toBe(attempt);
      expect(retryDelayMs).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(retryDelayMs).toBeLessThanOrEqual(nominal * 1.2);
      expect(nextAttemptAt).toBe(failedAt + (retryDelayMs ?? 0));
      expect(pendingTimer(h.snapshot())).toEqual({ event: { type: TIMER_EVENTS.retry }, at: nextAttemptAt });

      h.elapse((retryDelayMs ?? 0) - 1);
      expect(h.state()).toBe('reconnecting');
      expect(h.connects).toHaveLength(attempt);
      h.elapse(1);
      expect(h.state()).toBe('connecting');
      expect(h.ctx().attemptStartedAt).toBe(nextAttemptAt);
      expect(h.connects).toHaveLength(attempt + 1);
      expect(h.connects.at(-1)?.input).toEqual({ attempt });
    }
  });

  it('keeps jitter within ±20% over many seeds and retries', async () => {
    for (const seed of [1, 2, 3, 99, 123_456_789, -5]) {
      const delays = await failRepeatedly(harness({ seed, maxAttempts: 0 }), 15);
      delays.forEach((delay, i) => {
        const nominal = Math.min(30_000, 1_000 * 2 ** i);
        expect(delay).toBeGreaterThanOrEqual(nominal * 0.8);
        expect(delay).toBeLessThanOrEqual(nominal * 1.2);
      });
      // Jitter actually jitters: not every capped delay is the nominal 30 s.
      expect(new Set(delays.slice(6)).size).toBeGreaterThan(1);
    }
  });

  it('is deterministic for a seed and follows mulberry32 from that seed', async () => {
    const a = await failRepeatedly(harness({ seed: 2024, maxAttempts: 0 }), 10);
    const b = await failRepeatedly(harness({ seed: 2024, maxAttempts: 0 }), 10);
    const other = await failRepeatedly(harness({ seed: 2025, maxAttempts: 0 }), 10);
    expect(a).toEqual(b);
    expect(other).not.toEqual(a);

    let state = 2024;
    const expected = a.map((_, i) => {
      const draw = mulberry32(state);
      state = draw.state;
      return backoffDelay(i + 1, DEFAULT_BACKOFF, draw.u01);
    });
    expect(a).toEqual(expected);
  });

  it('replays identically from a persisted snapshot (the runtime re-arms the timer from nextAttemptAt)', async () => {
    const straight = harness({ seed: 77, maxAttempts: 0 });
    const straightDelays = await failRepeatedly(straight, 6);

    const first = harness({ seed: 77, maxAttempts: 0 });
    const firstDelays = await failRepeatedly(first, 3); // ends in connecting after the third backoff
    await first.fail(); // fourth failure: reconnecting, timer pending
    const persisted: unknown = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot()));
    const timer = pendingTimer(first.snapshot());
    first.actor.stop();
    expect(timer?.event.type).toBe(TIMER_EVENTS.retry);

    const restored = harness({ seed: 1 /* ignored: the snapshot wins */ }, { snapshot: persisted, startAt: first.clock.now() });
    expect(restored.state()).toBe('reconnecting');
    const resumedDelays = [restored.ctx().retryDelayMs ?? Number.NaN];
    // Re-arm as the runtime would: send the timer's event at its deadline.
    restored.clock.set(timer?.at ?? Number.NaN);
    restored.actor.send(timer?.event as unknown as ExchangeConnectionEvent);
    for (let i = 0; i < 2; i++) {
      expect(restored.state()).toBe('connecting');
      await restored.fail();
      resumedDelays.push(restored.ctx().retryDelayMs ?? Number.NaN);
      restored.waitOutBackoff();
    }
    expect([...firstDelays, ...resumedDelays]).toEqual(straightDelays);
  });

  it('resets attempts after a successful connection', async () => {
    const h = harness({ maxAttempts: 3 });
    await failRepeatedly(h, 2);
    expect(h.state()).toBe('connecting');
    expect(h.ctx().attempt).toBe(2);
    await h.succeed();
    expect(h.state()).toBe('connected');
    expect(h.ctx()).toMatchObject({ attempt: 0, connectedSince: h.clock.now(), retryDelayMs: null, nextAttemptAt: null });

    // A fresh budget: the next drop backs off from ~1 s again, and two more failures do not give up.
    h.send({ type: 'CONNECTION_LOST', reason: 'socket closed', at: h.clock.now() });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx()).toMatchObject({ attempt: 1, lastError: 'socket closed', connectedSince: null, staleDeadline: null });
    expect(h.ctx().retryDelayMs).toBeLessThanOrEqual(1_200);
    h.waitOutBackoff();
    await h.fail();
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().attempt).toBe(2);
  });

  it('gives up after maxAttempts consecutive failures and then stays quiet', async () => {
    const h = harness({ maxAttempts: 4 });
    const delays = await failRepeatedly(h, 10);
    expect(delays).toHaveLength(3);
    expect(h.state()).toBe('failed');
    expect(h.ctx()).toMatchObject({ attempt: 4, lastError: 'ECONNRESET', retryDelayMs: null, nextAttemptAt: null });
    expect(pendingTimer(h.snapshot())).toBeNull();
    h.elapse(24 * 3_600_000);
    expect(h.state()).toBe('failed');
    expect(h.connects).toHaveLength(4);
  });

  it('defaults to 10 attempts and retries forever with maxAttempts 0', async () => {
    const bounded = harness();
    expect(bounded.ctx().maxAttempts).toBe(10);
    expect(await failRepeatedly(bounded, 20)).toHaveLength(9);
    expect(bounded.state()).toBe('failed');

    const forever = harness({ maxAttempts: 0 });
    expect(await failRepeatedly(forever, 60)).toHaveLength(60);
    expect(forever.state()).toBe('connecting');
    expect(forever.ctx().attempt).toBe(60);
  });

  it('goes straight to failed on an auth error, whatever the budget', async () => {
    const h = harness({ maxAttempts: 0 });
    await failRepeatedly(h, 2);
    await h.fail('auth', 'invalid api key');
    expect(h.state()).toBe('failed');
    expect(h.ctx().lastError).toBe('invalid api key');
    h.elapse(3_600_000);
    expect(h.connects).toHaveLength(3);
  });

  it('treats an unclassified rejection as transient and does not record its message', async () => {
    const h = harness();
    h.connect();
    const startedAt = h.clock.now();
    h.elapse(2_500); // the attempt hangs a while before failing
    await h.rejectWith(new Error('GET https://api.exchange/v3/account?apiKey=SECRET failed'));
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().lastError).toBe('connect failed: Error');
    // No time on the error: the deadline counts from the start of the attempt.
    expect(h.ctx().nextAttemptAt).toBe(startedAt + (h.ctx().retryDelayMs ?? 0));
  });

  it('uses the placeholder connect actor until the adapter provides one', async () => {
    const clock = new SimulatedClock();
    const actor = createActor(exchangeConnectionMachine, { input: { seed: 1 }, clock }).start();
    actor.send({ type: 'CONNECT', at: 0 });
    await flush();
    expect(actor.getSnapshot().value).toBe('reconnecting');
    expect(actor.getSnapshot().context.lastError).toBe('connect failed: Error');
    actor.stop();
  });
});

describe('stale stream detection', () => {
  it('fires after staleAfterMs without a MESSAGE', async () => {
    const h = await driveTo('connected');
    const connectedAt = h.clock.now();
    expect(h.ctx().staleDeadline).toBe(connectedAt + 30_000);
    expect(pendingTimer(h.snapshot())).toEqual({ event: { type: TIMER_EVENTS.stale }, at: connectedAt + 30_000 });
    h.elapse(29_999);
    expect(h.state()).toBe('connected');
    h.elapse(1);
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx()).toMatchObject({ lastError: 'stale', attempt: 1, connectedSince: null, staleDeadline: null });
    expect(h.ctx().nextAttemptAt).toBe(connectedAt + 30_000 + (h.ctx().retryDelayMs ?? 0));
  });

  it('does not fire while messages flow, and fires staleAfterMs after the last one', async () => {
    const h = await driveTo('connected', { staleAfterMs: 5_000 });
    const connectedSince = h.ctx().connectedSince;
    let lastMessageAt = h.clock.now();
    for (let i = 0; i < 600; i++) {
      h.elapse(4_999);
      lastMessageAt = h.clock.now();
      h.send({ type: 'MESSAGE', at: lastMessageAt });
      expect(h.state()).toBe('connected');
    }
    expect(h.ctx()).toMatchObject({ connectedSince, staleDeadline: lastMessageAt + 5_000, attempt: 0 });
    h.elapse(4_999);
    expect(h.state()).toBe('connected');
    h.elapse(1);
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().lastError).toBe('stale');
  });

  it('ignores MESSAGE outside connected', async () => {
    const h = await driveTo('reconnecting');
    const before = h.ctx();
    h.send({ type: 'MESSAGE', at: h.clock.now() });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx()).toEqual(before);
  });

  it('gives up on a stale stream when maxAttempts is 1', async () => {
    const h = await driveTo('connected', { maxAttempts: 1 });
    h.elapse(30_000);
    expect(h.state()).toBe('failed');
    expect(h.ctx().lastError).toBe('stale');
  });
});

describe('DISCONNECT and RETRY', () => {
  it.each<StateName>(['disconnected', 'connecting', 'connected', 'reconnecting', 'failed'])(
    'DISCONNECT from %s goes to disconnected and leaves nothing pending',
    async (from) => {
      const h = await driveTo(from);
      expect(h.state()).toBe(from);
      h.send({ type: 'DISCONNECT' });
      expect(h.state()).toBe('disconnected');
      expect(h.ctx()).toMatchObject({
        attempt: 0,
        attemptStartedAt: null,
        connectedSince: null,
        staleDeadline: null,
        retryDelayMs: null,
        nextAttemptAt: null,
      });
      expect(pendingTimer(h.snapshot())).toBeNull();
      // A connect in flight is cancelled, and no timer survives.
      expect(h.connects.some((c) => c.live())).toBe(false);
      h.elapse(3_600_000);
      expect(h.state()).toBe('disconnected');
      // A late answer from the cancelled connect changes nothing.
      if (from === 'connecting') await h.succeed();
      expect(h.state()).toBe('disconnected');
    },
  );

  it('RETRY from failed starts a fresh attempt with a fresh budget', async () => {
    const h = harness({ maxAttempts: 2 });
    await failRepeatedly(h, 5);
    expect(h.state()).toBe('failed');
    expect(h.ctx().attempt).toBe(2);
    h.send({ type: 'RETRY', at: h.clock.now() });
    expect(h.state()).toBe('connecting');
    expect(h.ctx()).toMatchObject({ attempt: 0, attemptStartedAt: h.clock.now(), lastError: 'ECONNRESET' });
    expect(h.connects.at(-1)?.input).toEqual({ attempt: 0 });
    await h.fail();
    expect(h.state()).toBe('reconnecting'); // one failure of a budget of two
    h.waitOutBackoff();
    await h.succeed();
    expect(h.state()).toBe('connected');
  });

  it('RETRY and CONNECT are ignored where they do not apply', async () => {
    for (const from of ['connecting', 'connected', 'reconnecting'] as const) {
      const h = await driveTo(from);
      const before = h.snapshot();
      h.send({ type: 'RETRY', at: h.clock.now() });
      h.send({ type: 'CONNECT', at: h.clock.now() });
      expect(h.state()).toBe(from);
      expect(h.ctx()).toEqual(before.context);
    }
    const failed = await driveTo('failed');
    failed.send({ type: 'CONNECT', at: failed.clock.now() });
    expect(failed.state()).toBe('failed');
  });

  it('AUTH_FAILED from any live state goes to failed', async () => {
    for (const from of ['connecting', 'connected', 'reconnecting'] as const) {
      const h = await driveTo(from);
      h.send({ type: 'AUTH_FAILED', reason: 'key revoked' });
      expect(h.state()).toBe('failed');
      expect(h.ctx().lastError).toBe('key revoked');
      expect(h.connects.some((c) => c.live())).toBe(false);
    }
  });
});

describe('input', () => {
  it('applies defaults and rejects nonsense', () => {
    const actor = createActor(exchangeConnectionMachine, { input: { seed: 1 } });
    expect(actor.getSnapshot().context).toMatchObject({ maxAttempts: 10, staleAfterMs: 30_000, backoff: DEFAULT_BACKOFF });
    const bad: Array<Partial<ExchangeConnectionInput>> = [
      { maxAttempts: -1 },
      { maxAttempts: 1.5 },
      { staleAfterMs: 0 },
      { backoff: { jitter: 1 } },
      { backoff: { baseMs: -1 } },
      { seed: 0.5 },
    ];
    for (const input of bad) {
      const errors: unknown[] = [];
      const a = createActor(exchangeConnectionMachine, { input: { seed: 1, ...input } });
      a.subscribe({ error: (e) => errors.push(e) });
      a.start();
      expect(a.getSnapshot().status, JSON.stringify(input)).toBe('error');
      expect(errors[0], JSON.stringify(input)).toBeInstanceOf(RangeError);
    }
  });
});
