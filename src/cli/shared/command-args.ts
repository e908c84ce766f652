// A command's flags: node's parseArgs, strict, with --help and usage errors handled alike.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../../config/usage-error.js';

/**
 * The parsed flags, or undefined when --help was asked for (the help is then printed on stdout).
 * A flag that is unknown or malformed is a UsageError carrying the help text.
 */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(args: string[], options: T, help: string) {
  const withHelp = { ...options, help: { type: 'boolean', short: 'h', default: false } } as const;
  let parsed;
  try {
    parsed = parseArgs({ args, options: withHelp, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help);
    return undefined;
  }
  return parsed.values;
}
