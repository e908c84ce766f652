// A machine's documented transition table, checked against its definition. The table lives in the
// docs (a markdown table, one row per edge), apart from the machine: a test that derives its
// expectations from the machine itself cannot see an edge retargeted, re-guarded or stripped of an
// action, and a table in the docs that nothing checks drifts from the code.
//
// Columns (any order; backticks are ignored): `from` and `to` are state paths below the machine
// root (`active.running`, `(root)` for the root itself); `to` is `(stays)` for a targetless edge and `<state> (re-entered)` for
// `reenter: true`. `event` is the event type, `always`, `after(<delay>)`, `done(<actor>)` or
// `error(<actor>)`. `guard` is the guard as written (`and(hasPlan, not(gridPlaced))`, `(inline)`
// for an anonymous function), empty when there is none. `actions` lists the action names in order.
// `why` must say why the edge exists. Rows with the same `from` and `event` are the guarded
// branches of one transition, in the order the machine tries them.
import { readFileSync } from 'node:fs';
import type { AnyStateMachine, AnyTransitionDefinition } from 'xstate';
import { eventLabel, guardLabel, stateNodesOf } from './model-coverage.js';

const COLUMNS = ['from', 'event', 'guard', 'to', 'actions', 'why'] as const;

export type TableRow = Record<(typeof COLUMNS)[number], string>;

/** The table that follows `heading` in the markdown file `path`, one row per edge. */
export function documentedTable(path: URL, heading: string): TableRow[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`${path}: no heading "${heading}"`);
  const first = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  const [header, , ...body] = lines.slice(first, end < 0 ? undefined : end).map(cellsOf);
  const index = COLUMNS.map((column) => header!.indexOf(column));
  if (index.includes(-1)) throw new Error(`${path}: the table after "${heading}" needs the columns ${COLUMNS.join(', ')}, has ${header!.join(', ')}`);
  return body.map((cells) => Object.fromEntries(COLUMNS.map((column, i) => [column, cells[index[i]!] ?? ''])) as TableRow);
}

function cellsOf(line: string): string[] {
  return line
    .slice(1, line.endsWith('|') ? -1 : undefined)
    .split('|')
    .map((cell) => cell.replaceAll('`', '').trim());
}

/** Every edge of the machine's definition as a table row (without `why`), in definition order. */
export function definitionTable(machine: AnyStateMachine): Omit<TableRow, 'why'>[] {
  const path = (id: string) => (id === machine.id ? '(root)' : id.slice(machine.id.length + 1));
  return [machine.root, ...stateNodesOf(machine)].flatMap((node) =>
    [...[...node.transitions.values()].flat(), ...(node.always ?? [])].map((t: AnyTransitionDefinition) => {
      const target = (t.target ?? []).map((state) => path(state.id)).join(', ');
      return {
        from: path(node.id),
        event: eventLabel(node, t.eventType),
        guard: typeof t.guard === 'function' && !('guards' in t.guard) ? '(inline)' : guardLabel(t.guard),
        to: target === '' ? '(stays)' : t.reenter ? `${target} (re-entered)` : target,
        actions: (t.actions ?? []).map(actionName).join(', '),
      };
    }),
  );
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') return action.name || '(inline)';
  return String((action as { type: unknown }).type);
}

/**
 * One line per edge, `from --event--> to [guard] {actions} #branch` with its branch number among
 * the edges of the same `from` and `event`, sorted: two tables agree when these lists are equal.
 */
export function edgeLines(rows: readonly Omit<TableRow, 'why'>[]): string[] {
  const branches = new Map<string, number>();
  return rows
    .map((row) => {
      const source = `${row.from} --${row.event}-->`;
      const branch = (branches.get(source) ?? 0) + 1;
      branches.set(source, branch);
      const guard = row.guard.replaceAll(/\s/g, '');
      return `${source} ${row.to}${guard ? ` [${guard}]` : ''} {${row.actions.replaceAll(/\s/g, '')}} #${branch}`;
    })
    .sort();
}
