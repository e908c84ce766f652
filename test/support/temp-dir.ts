import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A temporary directory for the enclosing describe block (or file): made before its tests,
 * removed after them.
 */
export function useTempDir(prefix: string) {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    /** The directory itself. */
    get dir(): string {
      return dir;
    },
    /** A path inside it (the file need not exist). */
    path: (name: string): string => path.join(dir, name),
    /** Writes `text` to `name` inside it and returns the file's path. */
    file(name: string, text: string): string {
      const full = path.join(dir, name);
      writeFileSync(full, text);
      return full;
    },
  };
}
