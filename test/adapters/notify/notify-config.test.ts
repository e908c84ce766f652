// Which targets the environment turns on, secrets from env or *_FILE, and the errors of a
// half-configured target: each names the variable and never shows a secret.
import { describe, expect, test } from 'vitest';
import { noopNotifier } from '../../../src/domain/notifications.js';
import { createNotifier } from '../../../src/adapters/notify/notifier.js';
import { notifyTargetsFromEnv } from '../../../src/adapters/notify/notify-config.js';
import { silentLogger } from '../../../src/adapters/telemetry/logger.js';
import { configErrorOf } from '../../support/config-error.js';
import { useTempDir } from '../../support/temp-dir.js';

const temp = useTempDir('btcbot-notify-config-');
const TOKEN = '123456:SECRET-token_value';

describe('notifyTargetsFromEnv', () => {
  test('nothing set: no target, and createNotifier gives the no-op notifier', () => {
    expect(notifyTargetsFromEnv({})).toEqual({});
    expect(createNotifier({}, { logger: silentLogger, environment: 'paper' })).toBe(noopNotifier);
  });

  test('each target from its variables; the Telegram API defaults to api.telegram.org', () => {
    expect(
      notifyTargetsFromEnv({
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_CHAT_ID: '-1001234567890',
        DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/SECRET',
        NOTIFY_WEBHOOK_URL: 'http://hooks.local/btcbot?key=SECRET',
      }),
    ).toEqual({
      telegram: { apiUrl: 'https://api.telegram.org', token: TOKEN, chatId: '-1001234567890' },
      discord: { webhookUrl: 'https://discord.com/api/webhooks/1/SECRET' },
      webhook: { url: 'http://hooks.local/btcbot?key=SECRET' },
    });
    expect(notifyTargetsFromEnv({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '@btc_alerts', TELEGRAM_API_URL: 'http://127.0.0.1:8081/' }).telegram).toEqual({
      apiUrl: 'http://127.0.0.1:8081',
      token: TOKEN,
      chatId: '@btc_alerts',
    });
  });

  test('secrets from *_FILE (Docker secrets): the trailing newline is dropped', () => {
    const env = {
      TELEGRAM_BOT_TOKEN_FILE: temp.file('token', `${TOKEN}\n`),
      TELEGRAM_CHAT_ID: '42',
      DISCORD_WEBHOOK_URL_FILE: temp.file('discord', 'https://discord.com/api/webhooks/1/SECRET\r\n'),
      NOTIFY_WEBHOOK_URL_FILE: temp.file('webhook', 'https://hooks.local/SECRET'),
    };
    expect(notifyTargetsFromEnv(env)).toEqual({
      telegram: { apiUrl: 'https://api.telegram.org', token: TOKEN, chatId: '42' },
      discord: { webhookUrl: 'https://discord.com/api/webhooks/1/SECRET' },
      webhook: { url: 'https://hooks.local/SECRET' },
    });
  });

  test('a half-configured or malformed target is a ConfigError naming the variable, never the secret', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ TELEGRAM_BOT_TOKEN: TOKEN }, /TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHAT_ID is not: set both/],
      [{ TELEGRAM_CHAT_ID: '42' }, /TELEGRAM_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: set both \(the token may come from TELEGRAM_BOT_TOKEN_FILE\)/],
      [{ TELEGRAM_BOT_TOKEN_FILE: temp.path('missing'), TELEGRAM_CHAT_ID: '42' }, /TELEGRAM_BOT_TOKEN_FILE: cannot read .*missing \(ENOENT\)/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_BOT_TOKEN_FILE: '/run/secrets/x', TELEGRAM_CHAT_ID: '42' }, /both TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are set/],
      [{ TELEGRAM_BOT_TOKEN: 'SECRET/../../x', TELEGRAM_CHAT_ID: '42' }, /^TELEGRAM_BOT_TOKEN does not hold a bot token/],
      [{ TELEGRAM_BOT_TOKEN_FILE: temp.file('bad-token', 'SECRET\n'), TELEGRAM_CHAT_ID: '42' }, /^the file of TELEGRAM_BOT_TOKEN_FILE does not hold a bot token/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: 'my chat' }, /TELEGRAM_CHAT_ID must be a chat's numeric id .* not "my chat"/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '42', TELEGRAM_API_URL: 'api.telegram.org' }, /TELEGRAM_API_URL must be an http:\/\/ or https:\/\/ URL, not "api.telegram.org"/],
      [{ DISCORD_WEBHOOK_URL: 'discord.com/api/webhooks/1/SECRET' }, /^DISCORD_WEBHOOK_URL must hold an http:\/\/ or https:\/\/ URL; the value is not shown/],
      [{ DISCORD_WEBHOOK_URL: 'ftp://discord.com/SECRET' }, /^DISCORD_WEBHOOK_URL must hold an http:\/\/ or https:\/\/ URL/],
      [{ NOTIFY_WEBHOOK_URL_FILE: temp.file('bad-url', 'file:///SECRET\n') }, /^the file of NOTIFY_WEBHOOK_URL_FILE must hold an http:\/\/ or https:\/\/ URL/],
      [{ NOTIFY_WEBHOOK_URL_FILE: temp.file('two-lines', 'https://a/SECRET\nhttps://b\n') }, /NOTIFY_WEBHOOK_URL_FILE: .* must hold the secret alone on one line/],
    ];
    for (const [env, message] of cases) {
      const error = configErrorOf(() => notifyTargetsFromEnv(env));
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('SECRET');
      // createNotifier refuses the same environment rather than run without the target.
      expect(configErrorOf(() => createNotifier(env, { logger: silentLogger, environment: 'live' })).message).toBe(error.message);
    }
  });
});
