// Each target's request as the local receiver sees it: Telegram's sendMessage under its bot path,
// Discord's {content}, the webhook's {app, environment, event, text}.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Notifier } from '../../../src/domain/notifications.js';
import { createNotifier } from '../../../src/adapters/notify/notifier.js';
import { recordingLogger, startReceiver, type Receiver } from './receiver.js';

const TOKEN = '123456:SECRET-token';
let receiver: Receiver;
let notifier: Notifier | undefined;

beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await notifier?.close(100);
  await receiver.close();
});

describe('notification targets', () => {
  test('one event reaches Telegram, Discord and the webhook, each in its own format', async () => {
    const logger = recordingLogger();
    notifier = createNotifier(
      {
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_CHAT_ID: '-10042',
        TELEGRAM_API_URL: `${receiver.url}/telegram`,
        DISCORD_WEBHOOK_URL: `${receiver.url}/api/webhooks/1/SECRET`,
        NOTIFY_WEBHOOK_URL: `${receiver.url}/hook?key=SECRET`,
      },
      { logger, environment: 'live' },
    );
    notifier.notify({ kind: 'priceTrigger', grid: 'g1', trigger: 'stopLoss', price: 55000 });
    await receiver.waitFor(3);

    const text = '[btcbot live] grid g1: stop-loss triggered at 55000';
    const byPath = Object.fromEntries(receiver.received.map((request) => [request.path, request]));
    expect(Object.keys(byPath).sort()).toEqual(['/api/webhooks/1/SECRET', `/hook?key=SECRET`, `/telegram/bot${TOKEN}/sendMessage`]);
    expect(byPath[`/telegram/bot${TOKEN}/sendMessage`]?.body).toEqual({ chat_id: '-10042', text });
    expect(byPath['/api/webhooks/1/SECRET']?.body).toEqual({ content: text });
    expect(byPath['/hook?key=SECRET']?.body).toEqual({
      app: 'btcbot',
      environment: 'live',
      event: { kind: 'priceTrigger', grid: 'g1', trigger: 'stopLoss', price: 55000 },
      text,
    });
    for (const request of receiver.received) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
    }
    // The start-up line names the targets and nothing more.
    expect(logger.lines).toEqual([{ level: 'info', fields: { targets: ['telegram', 'discord', 'webhook'] }, message: 'notifications on' }]);
  });
});
