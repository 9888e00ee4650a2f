// @ts-check
// `npm run interop:keras`: our .keras files against the real Keras 3 (JAX backend), both
// ways. Installs Keras 3, JAX and h5py into .venv-keras (gitignored) when they are missing,
// then runs tools/keras/interop.ts, which imports from ts/ and prints the report. Needs the Wasm build (`npm run build`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const VENV = '.venv-keras';
const PYTHON = `${VENV}/bin/python`;
// Pinned: the versions the committed fixtures and the issue note's run were made with.
const PACKAGES = ['keras==3.15.1', 'jax==0.10.2', 'jaxlib==0.10.2', 'h5py==3.16.0'];
// Keras 3 defaults to TensorFlow, which we do not install.
const env = { ...process.env, KERAS_BACKEND: 'jax' };

/** @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  execFileSync(cmd, args, { stdio: 'inherit', env });
}

function kerasReady() {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import keras, jax, h5py; assert keras.__version__.startswith("3")'], {
      stdio: 'ignore',
      env,
    });
    return true;
  } catch {
    return false;
  }
}

if (!kerasReady()) {
  console.log(`installing ${PACKAGES.join(', ')} into ${VENV} ...`);
  if (!existsSync(PYTHON)) run('python3', ['-m', 'venv', VENV]);
  run(PYTHON, ['-m', 'pip', 'install', '--quiet', ...PACKAGES]);
  if (!kerasReady()) {
    console.error(`${VENV} still has no Keras 3 with JAX: see pip's output above`);
    process.exit(1);
  }
}
try {
  run('npx', ['tsx', 'tools/keras/interop.ts']);
} catch {
  process.exit(1);
}
