/**
 * Runs one example by name: `npm run example -- <name> [flags]` (or `npx tsx examples/run.ts`).
 * The examples import the built package ('wasm-autoencoders', i.e. dist/) as a user would.
 *
 *   tutorial                      the four tutorial models (--models to pick), figures + table
 *   vanilla | deep | convolutional | denoising    one of them
 *   anomalies                     reconstruction error as an anomaly score (ROC AUC)
 *   code-space                    the code space projected to 2-D, coloured by digit
 *
 * `--help` after a name lists its flags. Exit code 2 for a usage error, 1 for a failure.
 */
export {};

const EXAMPLES = ['tutorial', 'vanilla', 'deep', 'convolutional', 'denoising', 'anomalies', 'code-space'] as const;

async function run(name: string, argv: string[]): Promise<void> {
  switch (name) {
    case 'tutorial':
      return (await import('./tutorial.js')).main(argv);
    case 'vanilla':
    case 'deep':
    case 'convolutional':
    case 'denoising':
      return (await import('./tutorial.js')).main(argv, name);
    case 'anomalies':
      return (await import('./anomalies.js')).main(argv);
    case 'code-space':
      return (await import('./code-space.js')).main(argv);
  }
}

const [example, ...rest] = process.argv.slice(2);
if (!example || !(EXAMPLES as readonly string[]).includes(example)) {
  console.error(`usage: npm run example -- <${EXAMPLES.join('|')}> [--help] [flags]`);
  process.exit(2);
}
try {
  await run(example, rest);
} catch (e) {
  const err = e as Error & { code?: string };
  console.error(`${example}: ${err.message}`);
  process.exit(err.code?.startsWith('ERR_PARSE_ARGS') || err.code === 'ERR_USAGE' ? 2 : 1);
}
