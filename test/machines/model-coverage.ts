// Shared helpers for model-based machine tests: a readable label for every transition of a
// machine's definition (including eventless `always`, `after` and invoke onDone/onError edges),
// and an inspection hook that records the transitions an actor really takes.
//
// Coverage is asserted by comparing the two sets of labels: a test that drives an actor through
// its model and ends with `taken == definitionTransitions(machine)` has exercised every edge the
// statechart has, each guard branch separately.
import type { AnyActorRef, AnyMachineSnapshot, AnyStateMachine, AnyStateNode, AnyTransitionDefinition, InspectionEvent, StateValue } from 'xstate';

/** Every state node below the root (compound and atomic), depth first. */
export function stateNodesOf(machine: AnyStateMachine): AnyStateNode[] {
  const out: AnyStateNode[] = [];
  const walk = (node: AnyStateNode): void => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      out.push(child);
      walk(child);
    }
  };
  walk(machine.root);
  return out;
}

/** Ids of every state node below the root, e.g. `grid.active.running`. */
export function definitionStates(machine: AnyStateMachine): string[] {
  return stateNodesOf(machine).map((node) => node.id);
}

/** A guard as written: `name`, `name` for `{ type: name, params }`, `and(a,b)` for the higher-order ones. */
export function guardLabel(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const composite = guard as { name?: string; guards?: unknown[] };
    if (Array.isArray(composite.guards)) return `${composite.name ?? 'guard'}(${composite.guards.map(guardLabel).join(',')})`;
    return composite.name || 'inline';
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'inline';
}

/** `always`, `after(delayName)`, `done(actorSrc)`, `error(actorSrc)` or the event type. */
export function eventLabel(source: AnyStateNode, eventType: string): string {
  if (eventType === '') return 'always';
  const after = `xstate.after.`;
  if (eventType.startsWith(after)) return `after(${eventType.slice(after.length, eventType.length - source.id.length - 1)})`;
  for (const [prefix, name] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
  ] as const) {
    if (eventType.startsWith(prefix)) {
      const id = eventType.slice(prefix.length);
      const invoke = source.invoke.find((def) => def.id === id);
      return `${name}(${invoke ? String(invoke.src) : id})`;
    }
  }
  return eventType;
}

/** `source --event--> target [guard]` with full state ids; a targetless transition shows `(self)`. */
export function transitionLabel(t: AnyTransitionDefinition): string {
  const guard = guardLabel(t.guard);
  const targets = (t.target ?? []).map((node: AnyStateNode) => node.id).join(',') || '(self)';
  return `${t.source.id} --${eventLabel(t.source, t.eventType)}--> ${targets}${guard ? ` [${guard}]` : ''}`;
}

/** Every transition of the definition (root included), one label each, in definition order. */
export function definitionTransitions(machine: AnyStateMachine): string[] {
  return [machine.root, ...stateNodesOf(machine)].flatMap((node) => [
    ...[...node.transitions.values()].flat().map(transitionLabel),
    ...(node.always ?? []).map(transitionLabel),
  ]);
}

/** The event type of the onDone / onError of the invocation of `src` in the state `stateId`. */
export function invokeEventType(machine: AnyStateMachine, stateId: string, kind: 'done' | 'error'): string {
  const node = stateNodesOf(machine).find((n) => n.id === stateId);
  const invoke = node?.invoke[0];
  if (!invoke) throw new Error(`no invocation in ${stateId}`);
  return `xstate.${kind}.actor.${invoke.id}`;
}

/** The event type XState uses for the `after` transition `delay` of the state `stateId`. */
export function afterEventType(stateId: string, delay: string): string {
  return `xstate.after.${delay}.${stateId}`;
}

/** Ids of the state nodes a state value has active, e.g. `{ active: 'running' }` -> grid.active, grid.active.running. */
export function activeStateIds(machineId: string, value: StateValue): string[] {
  if (typeof value === 'string') return [`${machineId}.${value}`];
  return Object.entries(value).flatMap(([key, child]) => [
    `${machineId}.${key}`,
    ...(child === undefined ? [] : activeStateIds(`${machineId}.${key}`, child)),
  ]);
}

/**
 * Records the transitions one actor takes (from `@xstate.microstep` inspection events). Pass
 * `inspect` to createActor and `attach` the actor right after creating it (before start).
 */
export function transitionRecorder(taken: Set<string> = new Set(), states: Set<string> = new Set()) {
  let self: AnyActorRef | undefined;
  const visit = (snapshot: AnyMachineSnapshot) => {
    for (const id of activeStateIds(snapshot.machine.id, snapshot.value)) states.add(id);
  };
  return {
    taken,
    /** Every state node active at some microstep, transient ones (left at once by `always`) included. */
    states,
    attach(actor: AnyActorRef) {
      self = actor;
    },
    inspect(event: InspectionEvent) {
      if (event.actorRef !== self) return;
      if (event.type === '@xstate.microstep') {
        for (const t of event._transitions) taken.add(transitionLabel(t));
        visit(event.snapshot as AnyMachineSnapshot);
      } else if (event.type === '@xstate.snapshot') {
        visit(event.snapshot as AnyMachineSnapshot);
      }
    },
  };
}

/** Lets promise callbacks (fromPromise actors) run and their done/error events arrive. */
export const flush = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
