// Which notification targets the environment configures: Telegram (TELEGRAM_BOT_TOKEN and
// TELEGRAM_CHAT_ID, TELEGRAM_API_URL to point elsewhere), Discord (DISCORD_WEBHOOK_URL) and a
// generic webhook (NOTIFY_WEBHOOK_URL). The token and both webhook URLs are secrets (a webhook URL
// embeds its own token): they may come from *_FILE, and no error ever shows them.
import { ConfigError } from '../../config/config-error.js';
import { secretFromEnv } from '../../config/env-secret.js';

export interface TelegramTargetConfig {
  /** The Bot API's base URL, without a trailing slash. */
  readonly apiUrl: string;
  readonly token: string;
  readonly chatId: string;
}

export interface DiscordTargetConfig {
  readonly webhookUrl: string;
}

export interface WebhookTargetConfig {
  readonly url: string;
}

/** The configured targets; an absent key is a target that is off. */
export interface NotifyTargetsConfig {
  readonly telegram?: TelegramTargetConfig;
  readonly discord?: DiscordTargetConfig;
  readonly webhook?: WebhookTargetConfig;
}

export const defaultTelegramApiUrl = 'https://api.telegram.org';

/** The targets the environment configures; a half-configured target is a ConfigError. */
export function notifyTargetsFromEnv(env: NodeJS.ProcessEnv): NotifyTargetsConfig {
  const telegram = telegramFromEnv(env);
  const discordUrl = secretFromEnv(env, 'DISCORD_WEBHOOK_URL');
  const webhookUrl = secretFromEnv(env, 'NOTIFY_WEBHOOK_URL');
  return {
    ...(telegram ? { telegram } : {}),
    ...(discordUrl === undefined ? {} : { discord: { webhookUrl: secretHttpUrl(env, 'DISCORD_WEBHOOK_URL', discordUrl) } }),
    ...(webhookUrl === undefined ? {} : { webhook: { url: secretHttpUrl(env, 'NOTIFY_WEBHOOK_URL', webhookUrl) } }),
  };
}

function telegramFromEnv(env: NodeJS.ProcessEnv): TelegramTargetConfig | undefined {
  const token = secretFromEnv(env, 'TELEGRAM_BOT_TOKEN');
  const chatId = env.TELEGRAM_CHAT_ID || undefined;
  if (token === undefined && chatId === undefined) return undefined;
  if (token === undefined) throw new ConfigError('TELEGRAM_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: set both (the token may come from TELEGRAM_BOT_TOKEN_FILE) to notify on Telegram, or neither');
  if (chatId === undefined) throw new ConfigError('TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHAT_ID is not: set both to notify on Telegram, or neither');
  // The token goes into the request's path: anything but a BotFather token could change the URL.
  if (!/^\d+:[\w-]+$/.test(token)) {
    throw new ConfigError(`${setBy(env, 'TELEGRAM_BOT_TOKEN')} does not hold a bot token (digits, a colon, then letters, digits, _ or -, as @BotFather gives it); the value is not shown`);
  }
  if (!/^(-?\d+|@\w+)$/.test(chatId)) {
    throw new ConfigError(`TELEGRAM_CHAT_ID must be a chat's numeric id (e.g. -1001234567890) or a channel's @username, not ${JSON.stringify(chatId)}`);
  }
  const apiUrl = env.TELEGRAM_API_URL || defaultTelegramApiUrl;
  if (!isHttpUrl(apiUrl)) throw new ConfigError(`TELEGRAM_API_URL must be an http:// or https:// URL, not ${JSON.stringify(apiUrl)}; leave it unset for ${defaultTelegramApiUrl}`);
  return { apiUrl: apiUrl.replace(/\/+$/, ''), token, chatId };
}

function secretHttpUrl(env: NodeJS.ProcessEnv, name: string, value: string): string {
  if (!isHttpUrl(value)) throw new ConfigError(`${setBy(env, name)} must hold an http:// or https:// URL; the value is not shown (it holds a secret)`);
  return value;
}

function isHttpUrl(value: string): boolean {
  // Checked first so that new URL never throws: its error quotes the (secret) input.
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

/** The variable that gave a secret, for an error that points at the right place. */
function setBy(env: NodeJS.ProcessEnv, name: string): string {
  return env[`${name}_FILE`] ? `the file of ${name}_FILE` : name;
}
