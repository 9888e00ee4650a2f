#!/usr/bin/env node
/**
 * `wasm-autoencoders`, the command line: train, evaluate and use the tutorial's models.
 * Exit codes: 0 success, 1 runtime error (a bad file, bad data), 2 usage error (unknown
 * command or flag, missing argument), 130 training stopped by Ctrl-C (the model trained so
 * far is written). Errors are one line; --verbose adds the stack trace.
 */
import { UsageError, helpText, parseFlags, type Command } from './args.js';
import { decode, encode } from './commands/codes.js';
import { denoise } from './commands/denoise.js';
import { evaluate } from './commands/evaluate.js';
import { reconstruct } from './commands/reconstruct.js';
import { summary } from './commands/summary.js';
import { train } from './commands/train.js';

const COMMANDS: Command[] = [train, evaluate, summary, reconstruct, denoise, encode, decode];

function toolHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'wasm-autoencoders: autoencoders on the CPU (WebAssembly SIMD), from the command line',
    '',
    'usage: wasm-autoencoders <command> [flags]    (wasm-autoencoders <command> --help for its flags)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'exit codes: 0 success, 1 runtime error, 2 usage error, 130 stopped by Ctrl-C',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      console.log(toolHelp());
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command)
      throw new UsageError(`unknown command '${name}'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    const flags = parseFlags(command, rest);
    if (flags.help) {
      console.log(helpText(command));
      return 0;
    }
    return (await command.run(flags)) ?? 0;
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof UsageError;
    console.error(`wasm-autoencoders: ${err.message.split('\n')[0]}${usage ? ' (--help for usage)' : ''}`);
    if (verbose && err.stack) console.error(err.stack);
    return usage ? 2 : 1;
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
