// The baseline of bench/backtest.mjs: parse the candle file and run the spec's walk as one plain
// loop (no actors). The reference is TypeScript run through Node 24's type stripping.
// Usage: node bench/plain-loop.mjs CONFIG.json DATA.csv
import { readFileSync } from 'node:fs';
import { readCandleFile } from '../dist/adapters/feed/candle-csv.js';
import { referenceBacktest } from '../test/reference/grid-reference.ts';

const [configFile, dataFile] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configFile, 'utf8'));
process.stdout.write(`${JSON.stringify(referenceBacktest(config, readCandleFile(dataFile)))}\n`);
