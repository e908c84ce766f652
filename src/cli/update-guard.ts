// `btcbot update-guard`: Watchtower's pre-update lifecycle hook (the compose files' label
// com.centurylinklabs.watchtower.lifecycle.pre-update). Watchtower runs it inside the bot's
// container before it stops the container for a new image; exit code 75 (EX_TEMPFAIL) makes it
// skip this update and try again at its next poll. It asks the running bot's /health (HTTP_HOST,
// HTTP_PORT, as `btcbot health` does) and says "not now" while
//  - a grid is RECOVERING (a start or restart reconciling with the exchange), its actors crashed,
//    or it is `starting` (between a supervised restart's incarnations): a recovery, or
//  - an order is in flight: an order actor in a state other than resting on the exchange (`open`,
//    `partiallyFilled`) or finished (filled, canceled, rejected, expired): its intent stored but
//    not yet sent, sent but not acknowledged, being looked up or canceled, or a write to the store
//    backing off.
// A stop is safe then too (the recovery finds every order by its client id, so none is placed
// twice), but it costs a recovery for nothing; waiting a few seconds costs nothing.
//
// A bot that does not answer, or answers without a report this command can read, is updated
// (exit 0): there is nothing it could protect, and a guard that blocked there would keep a broken
// bot from ever getting the image that fixes it.
import { askBot, askBotOptions, botRequest } from './shared/ask-bot.js';
import { parseCommandArgs } from './shared/command-args.js';

/** sysexits.h EX_TEMPFAIL: Watchtower's "skip this update" answer from a pre-update hook. */
export const EX_TEMPFAIL = 75;

const help = `usage: btcbot update-guard [--url URL] [--timeout MS]

Watchtower's pre-update hook: exit ${EX_TEMPFAIL} (skip the update for now) while an order is in
flight or a grid recovers, 0 when the bot may be stopped for an update (also when it does not answer).

  --url URL         the bot's base URL (default http://127.0.0.1:$HTTP_PORT, port 8080;
                    HTTP_HOST when it is not 0.0.0.0)
  --timeout MS      how long to wait for /health's answer (default 3000)
`;

/** Order actor states in which nothing is in flight: resting on the exchange, or done with. */
const SETTLED_ORDER_STATES = new Set(['open', 'partiallyFilled', 'filled', 'canceled', 'rejected', 'expired']);
/** Grid part states that are a recovery under way (or about to be: `starting`, the supervisor restarting the grid). */
const RECOVERY_STATES = new Set(['RECOVERING', 'crashed', 'starting']);

interface HealthPart {
  state?: string;
  detail?: { orders?: Record<string, number> };
}

interface HealthAnswer {
  grids?: Record<string, { state?: string } | undefined>;
  parts?: Record<string, HealthPart | undefined>;
}

/** Why the bot should not be stopped now, one line each; empty when it may be. */
export function reasonsToWait(answer: HealthAnswer): string[] {
  const reasons: string[] = [];
  const recovering = new Set<string>();
  for (const [id, grid] of Object.entries(answer.grids ?? {})) {
    if (grid?.state !== undefined && RECOVERY_STATES.has(grid.state)) recovering.add(id);
  }
  for (const [name, part] of Object.entries(answer.parts ?? {})) {
    if (!name.startsWith('grid:') || part === undefined) continue;
    const id = name.slice('grid:'.length);
    if (part.state !== undefined && RECOVERY_STATES.has(part.state)) recovering.add(id);
    const inFlight = Object.entries(part.detail?.orders ?? {}).filter(([state, count]) => !SETTLED_ORDER_STATES.has(state) && count > 0);
    if (inFlight.length > 0) reasons.push(`grid ${id}: orders in flight (${inFlight.map(([state, count]) => `${count} ${state}`).join(', ')})`);
  }
  for (const id of [...recovering].sort()) reasons.push(`grid ${id}: recovering`);
  return reasons;
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(args, askBotOptions, help);
  if (values === undefined) return 0;
  const { base, timeoutMs } = botRequest(values, process.env);
  const response = await askBot(new URL('/health', base), timeoutMs);
  if (!(response instanceof Response)) {
    process.stdout.write(`update: the bot does not answer (${base}/health: ${response.unanswered}), nothing in flight to protect\n`);
    return 0;
  }
  // /health answers 503 while a grid recovers: its body is read whatever the status.
  const answer: unknown = await response.json().catch(() => undefined);
  if (typeof answer !== 'object' || answer === null || typeof (answer as HealthAnswer).parts !== 'object') {
    process.stdout.write(`update: ${base}/health gave no health report to read, nothing known in flight\n`);
    return 0;
  }
  const reasons = reasonsToWait(answer as HealthAnswer);
  if (reasons.length > 0) {
    process.stdout.write(`wait: ${reasons.join('; ')}\n`);
    return EX_TEMPFAIL;
  }
  process.stdout.write('update: no order in flight, no recovery under way\n');
  return 0;
}
