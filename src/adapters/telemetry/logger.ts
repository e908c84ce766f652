// Logging: JSON lines (pino) for the service, so Loki can index them; short text lines for a
// person at a terminal. Both go to stderr: stdout belongs to command output (e.g. --json reports).
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function textLogger(level: LogLevel, write: (line: string) => void): Logger {
  const at =
    (name: Exclude<LogLevel, 'silent'>) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (rank[name] < rank[level]) return;
      const extra = Object.entries(fields)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      write(`${name}: ${message}${extra ? ` (${extra})` : ''}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function createLogger(options: { format: 'json' | 'text'; level: LogLevel; write?: (line: string) => void }): Logger {
  if (options.format === 'text') return textLogger(options.level, options.write ?? ((line) => process.stderr.write(line)));
  const log = pino({ level: options.level, base: { app: 'btcbot' } }, options.write ? { write: options.write } : pino.destination(2));
  return {
    debug: (fields, message) => log.debug(fields, message),
    info: (fields, message) => log.info(fields, message),
    warn: (fields, message) => log.warn(fields, message),
    error: (fields, message) => log.error(fields, message),
  };
}

export const silentLogger: Logger = textLogger('silent', () => {});
