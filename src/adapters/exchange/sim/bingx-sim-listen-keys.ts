// Listen keys of the simulator's user data stream (POST / PUT /openApi/user/auth/userDataStream):
// a key opens the private WebSocket (/market?listenKey=K) and lives 60 minutes of the simulator's
// clock after its creation or last extension, as BingX documents. Kept in memory only: a
// restarted simulator knows none, and clients must ask for a new one.
import { randomBytes } from 'node:crypto';

export const LISTEN_KEY_TTL_MS = 60 * 60_000;

export class ListenKeys {
  /** Expiry time of each live key. */
  private readonly expiries = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** A new key (64 hex digits, like BingX's). */
  create(): string {
    const key = randomBytes(32).toString('hex');
    this.expiries.set(key, this.now() + LISTEN_KEY_TTL_MS);
    return key;
  }

  /** Extends a live key by the full lifetime; false if it is unknown or expired. */
  extend(key: string): boolean {
    if (!this.isLive(key)) return false;
    this.expiries.set(key, this.now() + LISTEN_KEY_TTL_MS);
    return true;
  }

  /** Whether the key exists and has not expired (an expired key is forgotten). */
  isLive(key: string): boolean {
    const expiry = this.expiries.get(key);
    if (expiry === undefined) return false;
    if (this.now() <= expiry) return true;
    this.expiries.delete(key);
    return false;
  }
}
