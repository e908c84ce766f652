// Reads a configuration file (YAML or JSON) and picks the grid a command works on.
// A file holds either one grid's keys at its top level, or the service's full configuration
// with a `grids` list (each entry a grid, the other top-level keys belong to the service).
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { parseGridConfig, type GridConfig } from './grid-config.js';

/**
 * Parses a config file's text: a `.json` file as JSON; anything else as YAML (a superset of JSON,
 * so flow mappings work too). The yaml package is loaded only when needed: it costs ~20 ms.
 */
export async function parseConfigText(text: string, file: string): Promise<unknown> {
  const json = file.toLowerCase().endsWith('.json');
  try {
    return json ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot read the config file (${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}); check the --config path`);
  }
  return parseConfigText(text, file);
}

/** The grid entries of a config document (a single grid counts as a list of one). */
function gridEntries(document: unknown, file: string): unknown[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ConfigError(`${file}: the config must be a mapping of keys (a grid, or a service config with "grids")`);
  }
  if (!('grids' in document)) return [document];
  const grids = (document as { grids: unknown }).grids;
  if (!Array.isArray(grids)) throw new ConfigError(`${file}: "grids" must be a list of grid configurations`);
  return grids;
}

/** Every grid of a config file, validated; grid ids must be unique (they go into client order ids). */
export function parseGrids(document: unknown, file: string): GridConfig[] {
  const entries = gridEntries(document, file);
  const grids = entries.map((entry, i) => parseGridConfig(entry, entries.length > 1 ? `${file}: grids[${i}]: ` : `${file}: `));
  const ids = grids.map((g) => g.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined) {
    throw new ConfigError(`${file}: two grids have the id "${repeated}" (ids go into client order ids); give each grid its own "id"`);
  }
  return grids;
}

/**
 * The one grid a command runs: the only grid in the file, or the one whose `id` is `gridId`.
 * Throws ConfigError naming the file, the grid and every invalid key.
 */
export async function loadGridConfig(file: string, gridId?: string): Promise<GridConfig> {
  const grids = parseGrids(await readConfigFile(file), file);
  if (gridId !== undefined) {
    const grid = grids.find((g) => g.id === gridId);
    if (!grid) throw new ConfigError(`${file}: no grid with id "${gridId}" (ids: ${grids.map((g) => g.id).join(', ')})`);
    return grid;
  }
  if (grids.length !== 1) {
    throw new ConfigError(`${file}: names ${grids.length} grids; choose one with --grid ID (ids: ${grids.map((g) => g.id).join(', ') || 'none'})`);
  }
  return grids[0]!;
}
