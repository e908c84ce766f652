// The --log-level / --log-format flags every long-running or reporting command takes.
import { createLogger, type Logger, type LogLevel } from '../adapters/telemetry/logger.js';
import { UsageError } from '../config/usage-error.js';

const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** parseArgs options for the two flags, with the command's defaults. */
export function logFlagOptions(defaults: { level: LogLevel; format: 'json' | 'text' }) {
  return {
    'log-level': { type: 'string', default: defaults.level },
    'log-format': { type: 'string', default: defaults.format },
  } as const;
}

/** The logger the flags ask for; a bad value is a UsageError naming the flag. */
export function loggerFromFlags(values: { 'log-level': string; 'log-format': string }): Logger {
  const level = values['log-level'] as LogLevel;
  if (!levels.includes(level)) throw new UsageError(`--log-level must be ${levels.slice(0, -1).join(', ')} or silent, got "${level}"`);
  const format = values['log-format'];
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, got "${format}"`);
  return createLogger({ format, level });
}
