// `btcbot status [--url URL] [--json]`: a running bot's grids as a table (GET /api/v1/grids), for
// `docker exec btcbot btcbot status`. It finds the bot as `btcbot health` does (HTTP_HOST /
// HTTP_PORT) and sends API_TOKEN (or API_TOKEN_FILE), the bot's own token in its container.
import { apiToken } from '../config/api-token.js';
import { ConfigError } from '../config/config-error.js';
import type { GridView } from '../domain/grid-control.js';
import { askBot, askBotOptions, botRequest } from './shared/ask-bot.js';
import { parseCommandArgs } from './shared/command-args.js';
import { UsageError } from '../config/usage-error.js';

const help = `usage: btcbot status [--url URL] [--json] [--timeout MS]

  --url URL         the bot's base URL (default http://127.0.0.1:$HTTP_PORT, port 8080;
                    HTTP_HOST when it is not 0.0.0.0)
  --json            print the answer of GET /api/v1/grids as it came (JSON)
  --timeout MS      how long to wait for the answer (default 3000)

Needs the bot's control API token: API_TOKEN or API_TOKEN_FILE (docs/control-api.md).
Exit code 0: printed; 1: the bot did not answer or refused (wrong token, API off, not running);
2: a usage error or no token.
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(args, { ...askBotOptions, json: { type: 'boolean', default: false } }, help);
  if (values === undefined) return 0;
  const { base, timeoutMs } = botRequest(values, process.env);
  const token = apiToken(process.env);
  if (token === undefined) throw new ConfigError("no token: set API_TOKEN (or API_TOKEN_FILE) to the running bot's control API token");
  let url: URL;
  try {
    url = new URL('/api/v1/grids', base);
  } catch {
    throw new UsageError(`--url must be a URL such as http://127.0.0.1:8080, got "${base}"`);
  }
  const response = await askBot(url, timeoutMs, { authorization: `Bearer ${token}` });
  if (!(response instanceof Response)) {
    process.stdout.write(`unreachable: ${url.href}: ${response.unanswered}; is btcbot running there (HTTP_HOST, HTTP_PORT, --url)?\n`);
    return 1;
  }
  const text = await response.text();
  if (response.status !== 200) {
    process.stdout.write(`${refusal(response, errorOf(text))}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${text}\n`);
    return 0;
  }
  let grids: GridView[];
  try {
    grids = (JSON.parse(text) as { grids: GridView[] }).grids;
    if (!Array.isArray(grids)) throw new Error('no grids');
  } catch {
    process.stdout.write(`unexpected answer from ${url.href}: not a list of grids (is it btcbot?)\n`);
    return 1;
  }
  process.stdout.write(gridTable(grids));
  return 0;
}

function errorOf(text: string): string | undefined {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    return typeof error === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}

/** Why the bot did not give the grids, and what to do. */
function refusal(response: Response, error: string | undefined): string {
  const said = error === undefined ? '' : `: ${error}`;
  switch (response.status) {
    case 401:
      return `refused (HTTP 401)${said}: API_TOKEN is not the token the bot was started with`;
    case 404:
      return error?.startsWith('the control API is off') ? `the bot's control API is off (HTTP 404): start btcbot with API_TOKEN set` : `not found (HTTP 404)${said}: is --url a btcbot?`;
    case 429:
      return `refused (HTTP 429): too many failed authentications from this address; retry in ${response.headers.get('retry-after') ?? '?'} s`;
    case 503:
      return `not running (HTTP 503)${said}`;
    default:
      return `failed (HTTP ${response.status})${said}`;
  }
}

/** A number for the table: at most `decimals` decimals, trailing zeros dropped; '-' when unknown. */
function figure(value: number | null | undefined, decimals: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return String(Number(value.toFixed(decimals)));
}

/** The grids as a fixed-width table, one line each, then the reason of every grid in ERROR or RECOVERING. */
export function gridTable(grids: readonly GridView[]): string {
  if (grids.length === 0) return 'no grids\n';
  const header = ['GRID', 'SYMBOL', 'STATE', 'ORDERS', 'FILLS', 'ROUND TRIPS', 'PROFIT', 'FEES', 'POSITION', 'LAST PRICE'];
  const rows = grids.map((grid) => {
    const stats = grid.stats;
    return [
      grid.id,
      grid.symbol,
      grid.state,
      figure(stats?.openOrders, 0),
      figure(stats?.fills, 0),
      figure(stats?.roundTrips, 0),
      figure(stats?.gridProfit, 8),
      figure(stats?.fees, 8),
      figure(stats?.position, 8),
      figure(stats?.lastPrice, 8),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  // Names left, figures right.
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  const notes = grids.filter((grid) => grid.reason !== undefined).map((grid) => `${grid.id}: ${grid.state}: ${grid.reason}`);
  return `${[line(header), ...rows.map(line)].join('\n')}\n${notes.length > 0 ? `\n${notes.join('\n')}\n` : ''}`;
}
