// `btcbot health [--url URL]`: asks a running bot's /health and exits 0 when it is healthy, 1 when
// not (or when it does not answer), with one line saying why. It is the container healthcheck
// (the image needs no curl): it reads HTTP_PORT / HTTP_HOST as `btcbot run` does.
import { askBot, askBotOptions, botRequest } from './shared/ask-bot.js';
import { parseCommandArgs } from './shared/command-args.js';

const help = `usage: btcbot health [--url URL] [--timeout MS]

  --url URL         the bot's base URL (default http://127.0.0.1:$HTTP_PORT, port 8080;
                    HTTP_HOST when it is not 0.0.0.0)
  --timeout MS      how long to wait for the answer (default 3000)

Exit code 0: healthy; 1: unhealthy, or no answer. One line on stdout says which.
`;

interface HealthAnswer {
  status?: string;
  problems?: string[];
  parts?: Record<string, { state?: string }>;
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(args, askBotOptions, help);
  if (values === undefined) return 0;
  const { base, timeoutMs } = botRequest(values, process.env);
  const response = await askBot(new URL('/health', base), timeoutMs);
  if (!(response instanceof Response)) {
    process.stdout.write(`unreachable: ${base}/health: ${response.unanswered}\n`);
    return 1;
  }
  const answer = (await response.json().catch(() => ({}))) as HealthAnswer;
  if (response.status === 200 && answer.status === 'healthy') {
    const states = Object.entries(answer.parts ?? {}).map(([name, part]) => `${name} ${part.state ?? '?'}`);
    process.stdout.write(`healthy: ${states.join(', ')}\n`);
    return 0;
  }
  process.stdout.write(`unhealthy (HTTP ${response.status}): ${(answer.problems ?? ['no health report in the answer']).join('; ')}\n`);
  return 1;
}
