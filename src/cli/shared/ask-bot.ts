// Asking a running `btcbot run` over HTTP, for the commands that do (`btcbot health`, `status`,
// `update-guard`): where it is (--url, else HTTP_HOST / HTTP_PORT), how long to wait (--timeout),
// and the request, with why it went unanswered in words.
import { UsageError } from '../../config/usage-error.js';
import { botUrl } from './bot-url.js';

/** parseArgs options of the bot's address and the wait. */
export const askBotOptions = { url: { type: 'string' }, timeout: { type: 'string', default: '3000' } } as const;

/** The bot's base URL and the wait in ms, from the flags (a bad --timeout is a UsageError). */
export function botRequest(values: { readonly url?: string | undefined; readonly timeout: string }, env: NodeJS.ProcessEnv): { base: string; timeoutMs: number } {
  const timeoutMs = Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds, got "${values.timeout}"`);
  return { base: values.url ?? botUrl(env), timeoutMs };
}

/** The bot's answer, or why there was none (no answer in time, refused, unknown host). */
export async function askBot(url: URL, timeoutMs: number, headers: Record<string, string> = {}): Promise<Response | { readonly unanswered: string }> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const why = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : error instanceof Error ? String(error.cause ?? error.message) : String(error);
    return { unanswered: why };
  }
}
