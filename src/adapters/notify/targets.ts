// The three notification targets as request builders: each turns a message's text (and event) into
// the HTTP request its service expects. No sending here: the notifier's target queues do that.
import type { DiscordTargetConfig, NotifyTargetsConfig, TelegramTargetConfig, WebhookTargetConfig } from './notify-config.js';
import type { DeliveredEvent } from './messages.js';

/** The name logs use for a target: its URL holds a secret, so the name is all they show. */
export type TargetName = 'telegram' | 'discord' | 'webhook';

export interface NotifyTarget {
  readonly name: TargetName;
  request(text: string, event: DeliveredEvent): Request;
}

function postJson(url: string, body: unknown): Request {
  return new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Bot API sendMessage, as plain text (no parse_mode: a reason can hold any character). */
export function telegramTarget(config: TelegramTargetConfig): NotifyTarget {
  return {
    name: 'telegram',
    request: (text) => postJson(`${config.apiUrl}/bot${config.token}/sendMessage`, { chat_id: config.chatId, text }),
  };
}

/** An execute-webhook call of a Discord channel. */
export function discordTarget(config: DiscordTargetConfig): NotifyTarget {
  return {
    name: 'discord',
    request: (text) => postJson(config.webhookUrl, { content: text }),
  };
}

/** Any HTTP endpoint: the event as data for programs, the text for people. */
export function webhookTarget(config: WebhookTargetConfig, environment: string): NotifyTarget {
  return {
    name: 'webhook',
    request: (text, event) => postJson(config.url, { app: 'btcbot', environment, event, text }),
  };
}

/** The configured targets, in a fixed order. */
export function targetsFrom(config: NotifyTargetsConfig, environment: string): NotifyTarget[] {
  return [
    ...(config.telegram ? [telegramTarget(config.telegram)] : []),
    ...(config.discord ? [discordTarget(config.discord)] : []),
    ...(config.webhook ? [webhookTarget(config.webhook, environment)] : []),
  ];
}
