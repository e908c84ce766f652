// The --log-level / --log-format flags every long-running or reporting command takes.
//
// The level: --log-level when given, else the LOG_LEVEL environment variable, else the command's
// default. A bad value (flag or variable) is a UsageError naming where it came from.
import { createLogger, logLevels, parseLogLevel, type Logger, type LogLevel } from '../../adapters/telemetry/logger.js';
import { UsageError } from '../../config/usage-error.js';

const levelList = `${logLevels.slice(0, -1).join(', ')} or silent`;

/** parseArgs options for the two flags, with the command's default format (the level's default is applied by loggerFromFlags, after LOG_LEVEL). */
export function logFlagOptions(defaults: { format: 'json' | 'text' }) {
  return {
    'log-level': { type: 'string' },
    'log-format': { type: 'string', default: defaults.format },
  } as const;
}

/** The level asked for: the flag, else LOG_LEVEL, else the default; a bad value is a UsageError. */
export function logLevelFrom(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, defaultLevel: LogLevel): LogLevel {
  if (flag !== undefined) {
    const level = parseLogLevel(flag);
    if (level === undefined) throw new UsageError(`--log-level must be ${levelList}, got "${flag}"`);
    return level;
  }
  const variable = env.LOG_LEVEL?.trim();
  if (variable === undefined || variable === '') return defaultLevel;
  const level = parseLogLevel(variable.toLowerCase());
  if (level === undefined) throw new UsageError(`LOG_LEVEL must be ${levelList}, got "${variable}"`);
  return level;
}

/** The logger the flags (and LOG_LEVEL) ask for; a bad value is a UsageError naming the flag or the variable. */
export function loggerFromFlags(
  values: { 'log-level'?: string | undefined; 'log-format': string },
  defaultLevel: LogLevel,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Logger {
  const level = logLevelFrom(values['log-level'], env, defaultLevel);
  const format = values['log-format'];
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, got "${format}"`);
  return createLogger({ format, level });
}
