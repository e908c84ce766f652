import { expect } from 'vitest';
import { ExchangeError } from '../../src/adapters/exchange/port.js';

/** The ExchangeError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function exchangeErrorOf(promise: Promise<unknown>): Promise<ExchangeError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ExchangeError);
  return error as ExchangeError;
}
