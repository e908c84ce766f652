#!/usr/bin/env -S node --max-semi-space-size=16
// btcbot's command line: one file per command, loaded only when that command runs (start-up
// time matters: `btcbot backtest` over a year of candles must finish in under 2 s).
// The shebang caps V8's young generation at 16 MB: a backtest makes much short-lived garbage,
// and the default lets the heap grow to ~250 MB RSS for no gain in speed (measured: 170 MB).
import { ConfigError } from '../config/config-error.js';

const commands: Record<string, { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> }> = {
  backtest: { summary: 'run a grid over candles on the paper exchange and report', load: () => import('./backtest.js') },
  'exchange-sim': {
    summary: 'serve a simulated BingX spot exchange on 127.0.0.1 (point EXCHANGE_URL at it)',
    load: () => import('../adapters/exchange/sim/bingx-sim-cli.js'),
  },
  health: { summary: "ask a running bot's /health: exit 0 healthy, 1 not (the container healthcheck)", load: () => import('./health.js') },
  migrate: { summary: 'apply the database migrations (DATABASE_URL, else the embedded database)', load: () => import('./migrate.js') },
  run: { summary: 'run the configured grids until SIGTERM (paper, demo or live mode)', load: () => import('./run.js') },
  status: { summary: "print a running bot's grids (GET /api/v1/grids; needs API_TOKEN)", load: () => import('./status.js') },
  'update-guard': {
    summary: "Watchtower's pre-update hook: exit 75 (skip) while an order is in flight or a grid recovers, else 0",
    load: () => import('./update-guard.js'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(12)} ${command.summary}`);
  return `usage: btcbot <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nbtcbot <command> --help shows a command's options.\n`;
}

/** An error a user can fix: shown as one clear message, exit code 2, no stack trace. */
export function isUserError(error: unknown): error is Error {
  return error instanceof ConfigError || (error instanceof Error && ['CandleFileError', 'UsageError'].includes(error.name));
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`btcbot: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(args);
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`btcbot ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof Error && error.name === 'ExchangeError') {
      // Already worded for the user, without secrets; refused keys are the user's to fix (2).
      const { kind, code } = error as Error & { kind?: string; code?: string };
      process.stderr.write(`btcbot ${name}: the exchange failed (${kind}${code ? `, ${code}` : ''}): ${error.message}\n`);
      return kind === 'auth' || code === 'BAD_EXCHANGE_ID' || code === 'NO_SANDBOX' ? 2 : 1;
    }
    process.stderr.write(`btcbot ${name}: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
