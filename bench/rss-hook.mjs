// Loaded with --import by bench/backtest.mjs: reports the process's peak RSS on exit, without
// touching the program under test.
process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\n`));
