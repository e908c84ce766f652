// The control API's bearer token (docs/control-api.md): API_TOKEN, or API_TOKEN_FILE (a Docker
// secret). Without one the control API is off. A short token is refused: the API pauses and stops
// grids that trade real funds. Errors name the variable, never the value.
import { ConfigError } from './config-error.js';
import { secretFromEnv } from './env-secret.js';

/** The shortest token accepted (characters): 16 random characters and more; `openssl rand -hex 32` makes 64. */
export const MIN_API_TOKEN_LENGTH = 16;

/** The token, or undefined when neither API_TOKEN nor API_TOKEN_FILE is set. */
export function apiToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = secretFromEnv(env, 'API_TOKEN');
  if (token === undefined) return undefined;
  const from = env.API_TOKEN_FILE ? 'API_TOKEN_FILE' : 'API_TOKEN';
  if (/\s/.test(token)) throw new ConfigError(`${from}: the token must not contain spaces or line breaks`);
  if (token.length < MIN_API_TOKEN_LENGTH) {
    throw new ConfigError(`${from}: the token is too short (${token.length} characters, at least ${MIN_API_TOKEN_LENGTH}): make one with \`openssl rand -hex 32\``);
  }
  return token;
}
