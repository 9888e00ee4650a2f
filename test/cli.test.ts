// The `wasm-autoencoders` command line, end to end: the built dist/cli.js spawned as a user
// runs it (npx runs the same file), in a temporary directory, on a small MNIST subset.
// Exit codes: 0 success, 1 runtime error, 2 usage error, 130 stopped by Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../ts/mnist.js';
import { assertBuilt, DIST } from './support/dist.js';
import { writeMnistSubset } from './support/mnist-subset.js';

const CLI = join(DIST, 'cli.js');
let dir: string;
let data: string;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStdout` sees its output as it comes (to send Ctrl-C at the right moment). */
function cli(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** A 28×28 MNIST test digit as a PNG, dark on white and enlarged 3× (as a user would draw it). */
async function digitPng(path: string, index: number, noise = 0): Promise<void> {
  const { test } = await loadMnist();
  const png = new PNG({ width: 84, height: 84 });
  let state = index + 1;
  const rand = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  for (let y = 0; y < 84; y++) {
    for (let x = 0; x < 84; x++) {
      const v = test.data[index * 784 + Math.floor(y / 3) * 28 + Math.floor(x / 3)] + noise * (rand() - 0.5);
      const g = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
      png.data.set([g, g, g, 255], (y * 84 + x) * 4);
    }
  }
  await writeFile(path, PNG.sync.write(png));
}

function pngSize(bytes: Buffer): [number, number] {
  const png = PNG.sync.read(bytes);
  return [png.width, png.height];
}

beforeAll(async () => {
  assertBuilt(['cli.js', 'browser/models/convolutional.wae', 'browser/models/denoising.wae']);
  dir = await mkdtemp(join(tmpdir(), 'wae-cli-'));
  data = await writeMnistSubset(join(dir, 'mnist'), { train: 600, test: 200 });
  await mkdir(join(dir, 'digits'));
  for (const i of [0, 1, 2]) await digitPng(join(dir, 'digits', `d${i}.png`), i);
  await digitPng(join(dir, 'noisy.png'), 3, 0.6);
  await writeFile(join(dir, 'corrupt.png'), 'this is not a PNG at all');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('help and usage errors', () => {
  it('--help lists every command; each command has its own --help', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    const commands = ['train', 'evaluate', 'summary', 'reconstruct', 'denoise', 'encode', 'decode'];
    for (const c of commands) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    for (const c of commands) {
      const h = await cli([c, '--help']);
      expect([c, h.code]).toEqual([c, 0]);
      expect(h.stdout).toContain(`usage: wasm-autoencoders ${c}`);
    }
  });

  it('an unknown command, an unknown flag, a missing or bad value: exit 2, one line', async () => {
    const cases: [string[], RegExp][] = [
      [[], /usage/],
      [['fly'], /unknown command 'fly'/],
      [['train', '--model', 'vanilla', '--out', 'm.wae', '--colour', 'red'], /colour/],
      [['train', '--model', 'vanilla'], /--out is required/],
      [['train', '--model', 'huge', '--out', 'm.wae'], /--model must be one of/],
      [['train', '--model', 'vanilla', '--out', 'm.wae', '--epochs', 'two'], /--epochs must be an integer/],
      [['denoise', '--model', 'a.wae', '--pretrained', 'denoising', '--input', 'x.png', '--out', 'y.png'], /not both/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect([args, r.code]).toEqual([args, 2]);
      const out = args.length === 0 ? r.stdout : r.stderr;
      expect(out).toMatch(message);
      if (args.length > 0) expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a corrupt PNG, a missing file, a corrupt model: exit 1, one line; --verbose adds the stack', async () => {
    const corrupt = await cli([
      'reconstruct',
      '--pretrained',
      'convolutional',
      '--input',
      'corrupt.png',
      '--out',
      'g.png',
    ]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr).toMatch(/corrupt\.png is not a PNG/);
    const missing = await cli(['summary', '--model', 'nowhere.wae']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read nowhere\.wae: ENOENT/);
    await writeFile(join(dir, 'bad.wae'), 'WAAE garbage garbage garbage');
    const bad = await cli(['summary', '--model', 'bad.wae']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not a valid model file/);
    const verbose = await cli(['summary', '--model', 'bad.wae', '--verbose']);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

describe('commands end to end', () => {
  it('train (not a terminal: one line per epoch) → summary → evaluate', async () => {
    const r = await cli([
      'train',
      '--model',
      'vanilla',
      '--epochs',
      '2',
      '--data',
      data,
      '--out',
      'v.wae',
      '--threads',
      '1',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const epochLines = r.stdout.split('\n').filter((l) => /^epoch \d\/2: loss [\d.]+, val loss [\d.]+/.test(l));
    expect(epochLines).toHaveLength(2);
    expect(r.stdout).not.toMatch(/\r|\u001b\[/); // no progress-bar redraws in a pipe
    expect(r.stdout).toMatch(/wrote v\.wae \(2 epochs trained\)/);
    const s = await cli(['summary', '--model', 'v.wae']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/Total params: 101,200/);
    const e = await cli(['evaluate', '--model', 'v.wae', '--data', data]);
    expect(e.code).toBe(0);
    const m = /test MSE:\s+([\d.]+)\s+PSNR ([\d.]+) dB/.exec(e.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![1])).toBeLessThan(0.2);
    expect(e.stdout).toMatch(/test images: 200/);
  });

  it('Ctrl-C during train stops after the current batch, writes the model trained so far, exits 130', async () => {
    let sent = false;
    const r = await cli(
      [
        'train',
        '--model',
        'vanilla',
        '--epochs',
        '500',
        '--batch-size',
        '32',
        '--data',
        data,
        '--out',
        'int.wae',
        '--threads',
        '1',
      ],
      (out, child) => {
        if (!sent && /epoch 1\/500/.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(
      /interrupted: stopping after the current batch, then writing the model trained so far to int\.wae/,
    );
    expect(r.stdout).toMatch(/wrote int\.wae \(\d+ epochs? trained, stopped by Ctrl-C\)/);
    const s = await cli(['summary', '--model', 'int.wae']);
    expect(s.code).toBe(0);
  });

  it('evaluate --pretrained denoising reports the denoised and the noisy input MSE', async () => {
    const r = await cli(['evaluate', '--pretrained', 'denoising', '--data', data]);
    expect(r.code).toBe(0);
    const denoised = Number(/test MSE:\s+([\d.]+)/.exec(r.stdout)![1]);
    const noisy = Number(/noisy input \(σ = 0.25\): MSE ([\d.]+)/.exec(r.stdout)![1]);
    expect(denoised).toBeLessThan(noisy / 2);
  });

  it('reconstruct a directory of PNGs into one grid', async () => {
    const r = await cli(['reconstruct', '--pretrained', 'convolutional', '--input', 'digits', '--out', 'grid.png']);
    expect(r.code).toBe(0);
    // 3 columns, 2 rows of 28×28 at 4× with 8-pixel gaps.
    expect(pngSize(await readFile(join(dir, 'grid.png')))).toEqual([3 * 112 + 4 * 8, 2 * 112 + 3 * 8]);
  });

  it('denoise --pretrained denoising on one noisy PNG (no training)', async () => {
    const r = await cli([
      'denoise',
      '--pretrained',
      'denoising',
      '--input',
      'noisy.png',
      '--out',
      'clean.png',
      '--scale',
      '2',
    ]);
    expect(r.code).toBe(0);
    expect(pngSize(await readFile(join(dir, 'clean.png')))).toEqual([56, 56]);
  });

  it('encode → decode round trip; decoding with another model is refused', async () => {
    const e = await cli(['encode', '--pretrained', 'convolutional', '--input', 'digits', '--out', 'codes.waec']);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/3 code\(s\) of 128 numbers \[4, 4, 8\]/);
    const d = await cli(['decode', '--pretrained', 'convolutional', '--input', 'codes.waec', '--out', 'decoded']);
    expect(d.code).toBe(0);
    for (const n of ['d0.png', 'd1.png', 'd2.png'])
      expect(pngSize(await readFile(join(dir, 'decoded', n)))).toEqual([28, 28]);
    // The decoded digits are the reconstruct command's bottom row: same model, same codes.
    const wrong = await cli(['decode', '--pretrained', 'denoising', '--input', 'codes.waec', '--out', 'x']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/encoded with another model/);
    const truncated = (await readFile(join(dir, 'codes.waec'))).subarray(0, 40);
    await writeFile(join(dir, 'cut.waec'), truncated);
    const cut = await cli(['decode', '--pretrained', 'convolutional', '--input', 'cut.waec', '--out', 'x']);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/not a code file/);
  });
});
