// The grid part of the configuration, as docs/grid-rules.md ("Configuration") describes it.
// Every violation becomes one line naming the key and the rule; all of them are reported at once.
import { z } from 'zod';
import { ConfigError } from './config-error.js';

const positive = (key: string) =>
  z.number({ error: `${key} must be a number` }).finite({ error: `${key} must be a finite number` }).positive({ error: `${key} must be > 0` });

const feeRate = (key: string) =>
  z
    .number({ error: `${key} must be a number (a fraction, e.g. 0.001 for 0.1%)` })
    .min(0, { error: `${key} must be >= 0` })
    .lt(0.1, { error: `${key} must be < 0.1 (it is a fraction: 0.001 means 0.1%)` });

export const gridConfigSchema = z
  .strictObject({
    id: z
      .string({ error: 'id must be a string' })
      .regex(/^[A-Za-z0-9]{1,12}$/, { error: 'id must be 1 to 12 letters or digits (it goes into client order ids)' })
      .optional(),
    symbol: z
      .string({ error: 'symbol is required: a ccxt unified symbol such as "BTC/USDT"' })
      .regex(/^[A-Za-z0-9]+\/[A-Za-z0-9]+(:[A-Za-z0-9]+)?$/, { error: 'symbol must be a ccxt unified symbol such as "BTC/USDT"' }),
    lower: positive('lower'),
    upper: positive('upper'),
    levels: z
      .number({ error: 'levels must be a number' })
      .int({ error: 'levels must be an integer' })
      .min(2, { error: 'levels must be >= 2' })
      .max(500, { error: 'levels must be <= 500' }),
    spacing: z.enum(['arithmetic', 'geometric'], { error: 'spacing must be "arithmetic" or "geometric"' }).default('arithmetic'),
    quantityPerLevel: positive('quantityPerLevel').optional(),
    investment: positive('investment').optional(),
    fees: z
      .strictObject({ maker: feeRate('fees.maker').default(0.001), taker: feeRate('fees.taker').default(0.001) })
      .default({ maker: 0.001, taker: 0.001 }),
    market: z
      .strictObject({
        priceStep: positive('market.priceStep').default(0.01),
        amountStep: positive('market.amountStep').default(0.00001),
        minNotional: z.number({ error: 'market.minNotional must be a number' }).min(0, { error: 'market.minNotional must be >= 0' }).default(5),
      })
      .default({ priceStep: 0.01, amountStep: 0.00001, minNotional: 5 }),
    stopLoss: positive('stopLoss').optional(),
    takeProfit: positive('takeProfit').optional(),
    balance: z
      .strictObject({
        quote: z.number({ error: 'balance.quote must be a number' }).min(0, { error: 'balance.quote must be >= 0' }).optional(),
        base: z.number({ error: 'balance.base must be a number' }).min(0, { error: 'balance.base must be >= 0' }).optional(),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.lower >= c.upper) ctx.addIssue({ code: 'custom', path: ['upper'], message: `lower (${c.lower}) must be < upper (${c.upper})` });
    const sized = Number(c.quantityPerLevel !== undefined) + Number(c.investment !== undefined);
    if (sized !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['quantityPerLevel'],
        message: `set exactly one of quantityPerLevel and investment (${sized === 0 ? 'neither is set' : 'both are set'})`,
      });
    }
    if (c.stopLoss !== undefined && c.takeProfit !== undefined && c.stopLoss >= c.takeProfit) {
      ctx.addIssue({ code: 'custom', path: ['stopLoss'], message: `stopLoss (${c.stopLoss}) must be < takeProfit (${c.takeProfit})` });
    }
  });

export type GridConfigInput = z.input<typeof gridConfigSchema>;
export type GridConfig = z.output<typeof gridConfigSchema> & { id: string };

/** Default grid id: the symbol's letters and digits, e.g. "BTC/USDT" -> "btcusdt". */
function defaultGridId(symbol: string): string {
  return symbol.replace(/[^A-Za-z0-9]/g, '').toLowerCase().slice(0, 12);
}

function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${[...issue.path, k].join('.')}"`).join(', ')} (check the spelling; see README "Configuration")`;
  }
  const message = issue.message.startsWith(key) || key === '' ? issue.message : `${key}: ${issue.message}`;
  return `${where}${message}`;
}

/** Validates one grid's configuration; throws ConfigError listing every problem. */
export function parseGridConfig(raw: unknown, where = ''): GridConfig {
  const result = gridConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, where));
    throw new ConfigError(`invalid grid configuration:\n  - ${problems.join('\n  - ')}`, problems);
  }
  return { ...result.data, id: result.data.id ?? defaultGridId(result.data.symbol) };
}
