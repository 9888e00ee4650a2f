/**
 * Fuzzes every parser we ship (issue 13, point 1): IDX files (plain and gzip), model files,
 * the CLI's code files and PNG input, with the cases of test/fuzz/ (which the test suite runs
 * a few thousand of), here ≥ 100,000 per parser. Each parser runs in its own child process,
 * so its memory peak is its own and a hang is caught (no progress for --stall seconds).
 *
 *   npx tsx scripts/fuzz.ts [--cases 100000] [--parsers idx,model,code-file,png] [--seed 1]
 *                           [--time-limit 2000] [--largest] [--json out.json]
 *
 * Per parser it prints the cases, how many loaded, how many were refused with a typed error
 * (AutoencoderError), the other failures (untyped errors, wrong results, allocations over the
 * bound, cases over --time-limit ms) with the first few, the slowest case and the peak RSS.
 * --largest also loads the largest IDX and PNG files the caps accept, each in a process of
 * its own (written to $TMPDIR/wasm-autoencoders-fuzz-largest/). Exits 1 when anything failed.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    parsers: { type: 'string', default: 'idx,model,code-file,png' },
    seed: { type: 'string', default: '1' },
    'time-limit': { type: 'string', default: '2000' },
    largest: { type: 'boolean', default: false },
    stall: { type: 'string', default: '300' },
    json: { type: 'string' },
    child: { type: 'string' },
  },
});

const MiB = 2 ** 20;

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

/** In the child: one parser (or one set of largest inputs); progress and the result as lines on stdout. */
async function child(name: string): Promise<void> {
  const peak = () => (process.resourceUsage().maxRSS * 1024) / MiB;
  if (name === 'largest-write') {
    const { writeLargest } = await import('../test/fuzz/largest.js');
    console.log(`result ${JSON.stringify({ files: await writeLargest(), peakRssMiB: peak() })}`);
    return;
  }
  if (name.startsWith('largest:')) {
    const { loadLargest } = await import('../test/fuzz/largest.js');
    console.log(`result ${JSON.stringify(await loadLargest(Number(name.slice(8))))}`);
    return;
  }
  const { TARGETS } = await import('../test/fuzz/targets.js');
  const { fuzzCount } = await import('../test/fuzz/run.js');
  const target = TARGETS[name];
  const ctx = await target.setup();
  const report = await fuzzCount(target, ctx, {
    cases: positive('cases', values.cases!),
    seed: positive('seed', values.seed!),
    timeLimitMs: positive('time-limit', values['time-limit']!),
    thorough: true,
    progress: (done) => console.log(`progress ${done}`),
  });
  await target.teardown?.(ctx);
  let wasmMiB: number | undefined;
  if (name === 'model') {
    const { wasmMemoryBytes } = await import('../test/fuzz/model-target.js');
    wasmMiB = wasmMemoryBytes() / MiB;
  }
  console.log(`result ${JSON.stringify({ ...report, peakRssMiB: peak(), wasmMiB })}`);
}

interface ChildResult {
  [key: string]: unknown;
  peakRssMiB: number;
}

/** Runs one child, watching its progress; undefined (and a message) if it died or stalled. */
function runChild(name: string, stallSeconds: number): Promise<ChildResult | undefined> {
  const self = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, self, ...process.argv.slice(2), '--child', name];
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let result: ChildResult | undefined;
    let done = 0;
    let last = Date.now();
    let buffered = '';
    const watchdog = setInterval(() => {
      if (Date.now() - last > stallSeconds * 1000) {
        console.log(`  ${name}: no progress for ${stallSeconds} s after ${done} cases: a hang; killing it`);
        proc.kill('SIGKILL');
      }
    }, 1000);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (text: string) => {
      buffered += text;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        last = Date.now();
        if (line.startsWith('progress ')) {
          done = Number(line.slice(9));
          if (done % 10000 === 0) process.stdout.write(`  ${name}: ${done} cases\n`);
        } else if (line.startsWith('result ')) result = JSON.parse(line.slice(7));
        else console.log(`  ${name}| ${line}`);
      }
    });
    proc.on('exit', (code, signal) => {
      clearInterval(watchdog);
      if (!result) console.log(`  ${name}: the child process ended (${signal ?? `exit ${code}`}) without a result`);
      resolve(result);
    });
  });
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

async function main(): Promise<void> {
  if (values.child) return child(values.child);
  const parsers = values.parsers!.split(',').filter(Boolean);
  const stall = positive('stall', values.stall!);
  console.log(
    `fuzz: ${fmt(positive('cases', values.cases!))} cases per parser, seed ${values.seed}, ` +
      `time bound ${values['time-limit']} ms a case; ` +
      `node ${process.version}, ${new Date().toISOString()}`,
  );
  const results: Record<string, ChildResult | undefined> = {};
  let failed = false;
  for (const name of parsers) {
    console.log(`\n${name}:`);
    const r = await runChild(name, stall);
    results[name] = r;
    if (!r) {
      failed = true;
      continue;
    }
    const kinds = r.kinds as Record<
      string,
      { cases: number; ok: number; typed: number; failures: number; maxMs: number }
    >;
    console.log(`  ${r.title}`);
    console.log(
      `  cases ${fmt(r.cases as number)}: loaded ${fmt(r.ok as number)}, typed errors ${fmt(r.typed as number)}, ` +
        `other failures ${fmt(r.failures as number)}  (${(r.seconds as number).toFixed(0)} s)`,
    );
    console.log(`  max time per case ${(r.maxMs as number).toFixed(1)} ms (${r.slowestCase})`);
    console.log(
      `  peak RSS ${r.peakRssMiB.toFixed(0)} MiB` +
        (r.wasmMiB === undefined ? '' : `; Wasm memory at the end ${(r.wasmMiB as number).toFixed(0)} MiB`),
    );
    for (const [kind, k] of Object.entries(kinds)) {
      console.log(
        `    ${kind.padEnd(12)} ${fmt(k.cases).padStart(7)} cases: ${fmt(k.ok)} loaded, ${fmt(k.typed)} typed, ` +
          `${fmt(k.failures)} failed; max ${k.maxMs.toFixed(1)} ms`,
      );
    }
    if ((r.failures as number) > 0) {
      failed = true;
      console.log('  failures by kind:');
      for (const [k, n] of Object.entries(r.failureKinds as Record<string, number>))
        console.log(`    ${fmt(n)} × ${k}`);
      console.log('  first failures:');
      for (const f of r.firstFailures as string[]) console.log(`    - ${f}`);
    }
  }
  if (values.largest) {
    console.log('\nthe largest files the caps accept, each loaded in a process of its own:');
    const written = await runChild('largest-write', stall);
    const files = (written?.files ?? []) as unknown[];
    if (!written) failed = true;
    for (let i = 0; i < files.length; i++) {
      const r = await runChild(`largest:${i}`, stall);
      results[`largest:${i}`] = r;
      if (!r) {
        failed = true;
        continue;
      }
      console.log(
        `  ${r.name} (${fmt(r.bytes as number)}-byte file): ${r.result}; ${(r.ms as number).toFixed(0)} ms, ` +
          `RSS ${(r.rssBeforeMiB as number).toFixed(0)} MiB before, peak ${r.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  }
  if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2));
  console.log(failed ? '\nfuzz: FAILURES (above)' : '\nfuzz: no failures');
  process.exitCode = failed ? 1 : 0;
}

await main();
