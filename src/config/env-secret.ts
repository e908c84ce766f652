// A secret from the environment: VAR, or VAR_FILE naming a file that holds it (Docker secrets,
// mounted under /run/secrets). Shared by the exchange's API keys, the notification targets and the API token.
// A file's trailing newline is dropped. Errors name the variable or the file, never a value.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';

/** The secret from `name` or `name`_FILE; undefined when neither is set. */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
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
