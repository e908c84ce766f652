// API keys of the exchange account, from the environment only: EXCHANGE_API_KEY and
// EXCHANGE_API_SECRET, or EXCHANGE_API_KEY_FILE and EXCHANGE_API_SECRET_FILE (Docker secrets,
// mounted under /run/secrets). A file's trailing newline is dropped. Errors name the variable or
// the file, never a value.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';

export interface ExchangeCredentials {
  readonly apiKey: string;
  readonly secret: string;
}

/** One secret from VAR or VAR_FILE; undefined when neither is set. */
function secretFrom(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new ConfigError(`both ${name} and ${name}_FILE are set: set only one`);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(`${name}_FILE: cannot read ${file} (${reason}); check the secret's mount path and permissions`);
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '' || /\s/.test(value)) throw new ConfigError(`${name}_FILE: ${file} must hold the secret alone on one line (it is empty or has spaces)`);
    return value;
  }
  return direct || undefined;
}

/** The account's keys, or undefined when none is set; one without the other is an error. */
export function exchangeCredentials(env: NodeJS.ProcessEnv = process.env): ExchangeCredentials | undefined {
  const apiKey = secretFrom(env, 'EXCHANGE_API_KEY');
  const secret = secretFrom(env, 'EXCHANGE_API_SECRET');
  if (apiKey === undefined && secret === undefined) return undefined;
  if (apiKey === undefined) throw new ConfigError('EXCHANGE_API_SECRET is set but EXCHANGE_API_KEY is not: set both (or their _FILE forms)');
  if (secret === undefined) throw new ConfigError('EXCHANGE_API_KEY is set but EXCHANGE_API_SECRET is not: set both (or their _FILE forms)');
  return { apiKey, secret };
}
