// API keys of the exchange account, from the environment only: EXCHANGE_API_KEY and
// EXCHANGE_API_SECRET, or EXCHANGE_API_KEY_FILE and EXCHANGE_API_SECRET_FILE (Docker secrets,
// mounted under /run/secrets), read by secret-env.ts. Errors name the variable or the file, never
// a value.
import { ConfigError } from './config-error.js';
import { secretFromEnv } from './secret-env.js';

export interface ExchangeCredentials {
  readonly apiKey: string;
  readonly secret: string;
}

/** The account's keys, or undefined when none is set; one without the other is an error. */
export function exchangeCredentials(env: NodeJS.ProcessEnv = process.env): ExchangeCredentials | undefined {
  const apiKey = secretFromEnv(env, 'EXCHANGE_API_KEY');
  const secret = secretFromEnv(env, 'EXCHANGE_API_SECRET');
  if (apiKey === undefined && secret === undefined) return undefined;
  if (apiKey === undefined) throw new ConfigError('EXCHANGE_API_SECRET is set but EXCHANGE_API_KEY is not: set both (or their _FILE forms)');
  if (secret === undefined) throw new ConfigError('EXCHANGE_API_KEY is set but EXCHANGE_API_SECRET is not: set both (or their _FILE forms)');
  return { apiKey, secret };
}
