import { describe, expect, it } from 'vitest';
import { fromCallback, SimulatedClock } from 'xstate';
import { actorChild, startSupervisor, supervisorChild, type RestartEvent } from '../../../src/actors/supervision/supervisor.js';
import { createMetrics } from '../../../src/adapters/telemetry/metrics.js';
import type { GiveUpReason } from '../../../src/machines/supervisor.machine.js';

const restart: RestartEvent = {
  supervisor: 'grid-btc',
  systemId: 'grid-btc/orders',
  child: 'orders',
  cause: 'orders',
  at: 1_700_000_000_000,
  restarts: 1,
  delayMs: 1_000,
  error: 'boom',
};

/** The value of one sample line, e.g. `btcbot_supervisor_restarts_total{supervisor="a",child="b"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('renders the restart counter, incremented per supervisor and child', async () => {
    const metrics = createMetrics();
    metrics.recordRestart(restart);
    metrics.recordRestart({ ...restart, restarts: 2 });
    metrics.recordRestart({ ...restart, child: 'feed', systemId: 'feed', cause: 'orders' });
    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE btcbot_supervisor_restarts_total counter');
    expect(sample(text, 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBe(2);
    expect(sample(text, 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="feed"}')).toBe(1);
    // the default process metrics, under the app's prefix
    expect(text).toMatch(/^btcbot_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^btcbot_nodejs_eventloop_lag_seconds \d/m);
  });

  it('keeps each registry to itself (not the global default one)', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recordRestart(restart);
    expect(sample(await a.render(), 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBe(1);
    expect(sample(await b.render(), 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBeUndefined();
    expect(await b.render()).not.toContain('btcbot_process_');
  });

  it('counts give-ups: the root, and a nested supervisor whose give-up its parent sees', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const reason: GiveUpReason = {
      supervisor: 'root',
      child: 'grid',
      error: 'boom',
      restarts: 3,
      intensity: { maxRestarts: 3, periodMs: 5_000 },
      at: 0,
      downMs: 0,
      message: "supervisor 'root' gave up",
    };
    metrics.recordGiveUp(reason);
    const text = await metrics.render();
    expect(sample(text, 'btcbot_supervisor_gave_up_total{supervisor="root"}')).toBe(1);
    expect(text).not.toContain('btcbot_supervisor_gave_up_total{supervisor="grid"}');
  });

  it('reports a real tree: restarts, nested give-ups, and which actors and supervisors are up', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const clock = new SimulatedClock();
    clock.set(1_700_000_000_000);
    const gaveUp: GiveUpReason[] = [];
    // An exchange session that is refused at every start: its supervisor gives up at the first exit,
    // the root restarts that supervisor once, then gives up itself.
    const refusing = fromCallback(() => {
      throw new Error('ECONNREFUSED');
    });
    const steady = fromCallback(() => () => {});
    const root = startSupervisor(
      {
        id: 'root',
        seed: 1,
        intensity: { maxRestarts: 1, periodMs: 60_000 },
        children: [
          { id: 'grid', start: actorChild(steady) },
          supervisorChild({ id: 'exchange', intensity: { maxRestarts: 0 }, children: [{ id: 'session', systemId: 'exchange/session', start: actorChild(refusing) }] }),
        ],
      },
      { clock, onRestart: (event) => metrics.recordRestart(event), onGiveUp: (reason) => (gaveUp.push(reason), metrics.recordGiveUp(reason)) },
    );
    const untrack = metrics.trackSupervisor(root);

    // The nested supervisor gave up at once; the root is waiting out its backoff to restart it.
    let text = await metrics.render();
    expect(sample(text, 'btcbot_actor_up{system_id="grid"}')).toBe(1);
    expect(sample(text, 'btcbot_actor_up{system_id="exchange"}')).toBe(0);
    expect(sample(text, 'btcbot_supervisor_up{supervisor="root"}')).toBe(1);

    clock.increment(5_000); // the restart: refused again, and the root gives up
    expect(gaveUp).toHaveLength(1);
    text = await metrics.render();
    expect(sample(text, 'btcbot_supervisor_restarts_total{supervisor="root",child="exchange"}')).toBe(1);
    // once when the root restarted it, once when the root gave up because of it
    expect(sample(text, 'btcbot_supervisor_gave_up_total{supervisor="exchange"}')).toBe(2);
    expect(sample(text, 'btcbot_supervisor_gave_up_total{supervisor="root"}')).toBe(1);
    expect(sample(text, 'btcbot_supervisor_up{supervisor="root"}')).toBe(0);
    expect(sample(text, 'btcbot_actor_up{system_id="grid"}')).toBe(0);

    untrack();
    text = await metrics.render();
    expect(text).not.toContain('btcbot_actor_up{');
  });

  it('leaves out a tracked tree whose status throws, and scrapes the rest', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.trackSupervisor({
      status: () => {
        throw new Error('broken');
      },
    });
    metrics.recordRestart(restart);
    expect(sample(await metrics.render(), 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBe(1);
  });
});
