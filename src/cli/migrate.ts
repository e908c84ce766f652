// `btcbot migrate [--config FILE]`: applies the database migrations (db/migrations) and exits.
// `btcbot run` applies them at every start too; this is for deploys that migrate first.
import { openStore } from '../adapters/store/open-store.js';
import { databaseUrlOf, loadServiceConfig } from '../config/service-config.js';
import { parseCommandArgs } from './shared/command-args.js';
import { logFlagOptions, loggerFromFlags } from './shared/log-flags.js';

const help = `usage: btcbot migrate [--config FILE] [options]

  --config FILE     service configuration (for database.dataDir); optional
  --log-level L     debug, info (default), warn, error or silent (env LOG_LEVEL; the flag wins)
  --log-format F    json (default) or text

The database is DATABASE_URL (postgres://...; or DATABASE_URL_FILE), else the embedded PGlite in database.dataDir
(env DATA_DIR, default ./data).
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(args, { config: { type: 'string' }, ...logFlagOptions({ format: 'json' }) }, help);
  if (values === undefined) return 0;
  const logger = loggerFromFlags(values, 'info');
  const settings =
    values.config === undefined
      ? { dataDir: process.env.DATA_DIR || './data', ...databaseUrlOf(process.env) }
      : (await loadServiceConfig(values.config)).database;
  const { database } = await openStore(settings, logger);
  await database.close();
  return 0;
}
