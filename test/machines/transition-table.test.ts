// The documented transition tables (docs/grid-engine.md) are the machines' expected edges: each
// machine must have exactly the edges its table lists, with the same targets, guards, actions and
// branch order. The model-based tests derive their expectations from the machine itself and would
// not notice, say, a STOP retargeted to stay in paused.
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { gridMachine } from '../../src/machines/grid.machine.js';
import { orderMachine } from '../../src/machines/order.machine.js';
import { definitionTable, documentedTable, edgeLines } from './transition-table.js';

const DOC = new URL('../../docs/grid-engine.md', import.meta.url);

describe.each([
  { machine: gridMachine, heading: '## The grid lifecycle (`grid.machine.ts`)' },
  { machine: orderMachine, heading: '## The order lifecycle (`order.machine.ts`)' },
])('the $machine.id machine', ({ machine, heading }) => {
  const documented = documentedTable(DOC, heading);

  it('has exactly the edges of its table in docs/grid-engine.md', () => {
    expect(edgeLines(definitionTable(machine))).toEqual(edgeLines(documented));
  });

  it('every documented edge says why it exists', () => {
    expect(documented.filter((row) => row.why === '')).toEqual([]);
  });
});

describe('the table check', () => {
  // A machine that differs from its table in one edge's target only.
  const machine = createMachine({
    id: 'toy',
    initial: 'a',
    states: { a: { on: { GO: 'b' } }, b: { on: { GO: 'a' } } },
  });
  const table = [
    { from: 'a', event: 'GO', guard: '', to: 'b', actions: '' },
    { from: 'b', event: 'GO', guard: '', to: 'b', actions: '' },
  ];

  it('names the edge the machine has and the table lacks, and the reverse', () => {
    const actual = edgeLines(definitionTable(machine));
    const expected = edgeLines(table);
    expect(actual.filter((line) => !expected.includes(line))).toEqual(['b --GO--> a {} #1']);
    expect(expected.filter((line) => !actual.includes(line))).toEqual(['b --GO--> b {} #1']);
  });
});
