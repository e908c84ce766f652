#!/usr/bin/env node
// Secret scan of a unified diff (the pre-commit hook feeds it `git diff --cached -U0`): rejects added
// lines that carry a private key, an EXCHANGE_API_SECRET / EXCHANGE_API_KEY value (16+ characters), an AWS access key
// or secret, or a Telegram bot token. Prints one line per finding (file:line: what) and exits 1;
// exits 0 when the diff is clean.
//
// Allowed anyway:
//   - files matching a pattern in .secret-scan-allow at the repository root (one glob a line,
//     `#` comments; `*` stays within a path segment, `**` crosses them), e.g. test/fixtures/**
//   - a line that carries the marker `secret-scan: allow` (in a comment)
//   - placeholder values: empty, changeme, <...>, ${...}, xxx..., your-..., from a _FILE variable
//
// Usage: node scripts/secret-scan.mjs [--allow-file FILE] < diff
import { Buffer } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the scan looks for, each with the name a finding reports. */
export const detectors = [
  {
    name: 'private key',
    test: (line) => /-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----/.test(line),
  },
  {
    name: 'exchange API secret or key value',
    // An env-file, shell, YAML or JSON assignment of a literal that looks like a real key: 16 or
    // more key characters (exchanges issue 32 to 64). Short test values and ${...} are not.
    test: (line) => {
      const match = /\bEXCHANGE_API_(?:SECRET|KEY)["']?\s*[=:]\s*(["'`]?)([A-Za-z0-9_\-+/=.]{16,})\1(?![A-Za-z0-9_\-+/=.$])/.exec(line);
      return match !== null && !isPlaceholder(match[2]);
    },
  },
  { name: 'AWS access key id', test: (line) => /(?<![A-Z0-9])(AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Z0-9])/.test(line) },
  {
    name: 'AWS secret access key',
    test: (line) => {
      const match = /aws_?secret_?access_?key\s*[=:]\s*(.*)$/i.exec(line);
      return match !== null && /[A-Za-z0-9/+]{40}/.test(match[1]) && !isPlaceholder(match[1]);
    },
  },
  { name: 'Telegram bot token', test: (line) => /(?<=^|[^A-Za-z0-9_]|bot)\d{5,}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/.test(line) },
];

const ALLOW_MARKER = /secret-scan:\s*allow/;

/** A value that stands for a secret rather than being one. */
export function isPlaceholder(raw) {
  let value = raw.trim().replace(/\s+#.*$/, '').replace(/[,;]$/, '').trim();
  value = value.replace(/^(['"`])(.*)\1$/, '$2').trim();
  if (value === '' || value === "''" || value === '""') return true;
  return /^(change[-_]?me.*|replace[-_]?me.*|placeholder|dummy|example.*|secret|none|null|undefined|todo|x+|\*+|\.\.\.|<[^>]*>|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|your[-_].*|process\.env\.[A-Za-z0-9_]+.*|env\.[A-Za-z0-9_]+.*)$/i.test(value);
}

/** A glob of .secret-scan-allow as a RegExp over repository-relative paths. */
export function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern without a slash matches the name at any depth, as in .gitignore.
  return new RegExp(glob.includes('/') ? `^${re}$` : `(^|/)${re}$`);
}

export function parseAllowList(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(globToRegExp);
}

/** The findings in a unified diff: { file, line, what } for each added line that carries a secret. */
export function scanDiff(diff, allow = []) {
  const findings = [];
  let file = '';
  let lineNo = 0;
  let allowed = false;
  for (const raw of diff.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('+++ ')) {
      const name = line.slice(4).replace(/^"(.*)"$/, '$1');
      file = name === '/dev/null' ? '' : name.replace(/^[bw]\//, '');
      allowed = allow.some((re) => re.test(file));
      continue;
    }
    if (line.startsWith('--- ') || line.startsWith('diff --git ')) continue;
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      lineNo = Number(hunk[1]);
      continue;
    }
    if (line.startsWith('+')) {
      const added = line.slice(1);
      if (!allowed && !ALLOW_MARKER.test(added)) {
        for (const detector of detectors) {
          if (detector.test(added)) findings.push({ file, line: lineNo, what: detector.name });
        }
      }
      lineNo++;
    } else if (line.startsWith(' ')) {
      lineNo++;
    }
  }
  return findings;
}

async function main() {
  const args = process.argv.slice(2);
  const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
  let allowFile = path.join(root, '.secret-scan-allow');
  const at = args.indexOf('--allow-file');
  if (at >= 0) allowFile = args[at + 1];
  const allow = existsSync(allowFile) ? parseAllowList(readFileSync(allowFile, 'utf8')) : [];
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const findings = scanDiff(Buffer.concat(chunks).toString('utf8'), allow);
  if (findings.length === 0) return 0;
  for (const f of findings) console.error(`secret-scan: ${f.file}:${f.line}: ${f.what}`);
  console.error(
    `secret-scan: ${findings.length} possible secret(s) in the staged changes; commit refused.\n` +
      'secret-scan: remove them (and rotate any real secret that was ever staged), or, for a test fixture,\n' +
      "secret-scan: add its path to .secret-scan-allow or put 'secret-scan: allow' in a comment on the line.",
  );
  return 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
