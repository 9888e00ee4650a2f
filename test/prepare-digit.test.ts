// prepareDigit: any picture of a digit → MNIST's 28×28 layout (bounding box into 20×20,
// centred by centre of mass, light on dark). Hand-made cases with known answers, and MNIST
// itself: a test digit drawn big into a 200×200 canvas comes back close to the original.
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareDigit } from '../ts/images/digit.js';
import { ShapeError, ValueError } from '../ts/errors.js';
import { loadMnist } from '../ts/mnist.js';
import type { Tensor } from '../ts/tensor.js';

type Rgba = { width: number; height: number; data: Uint8Array; channels: 4 };

/** A canvas of `w × h` RGBA pixels filled with grey `bg`, opaque. */
function canvas(w: number, h: number, bg: number): Rgba {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([bg, bg, bg, 255], i * 4);
  return { width: w, height: h, data, channels: 4 };
}

function fillRect(img: Rgba, x0: number, y0: number, w: number, h: number, v: number): void {
  for (let y = y0; y < y0 + h; y++)
    for (let x = x0; x < x0 + w; x++) img.data.set([v, v, v, 255], (y * img.width + x) * 4);
}

/** Centre of mass (x, y) of a 28×28 image by pixel index (MNIST's are at 14, 14), and its ink bounding box. */
function stats(t: Tensor) {
  let m = 0,
    mx = 0,
    my = 0,
    x0 = 28,
    x1 = -1,
    y0 = 28,
    y1 = -1;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = t.data[y * 28 + x];
      m += v;
      mx += v * x;
      my += v * y;
      if (v > 0.1) [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
    }
  }
  return { cx: mx / m, cy: my / m, w: x1 - x0 + 1, h: y1 - y0 + 1, mass: m };
}

describe('prepareDigit on hand-made images', () => {
  it('a dark bar on white paper, off-centre: inverted, scaled to 20 tall, centred', () => {
    const img = canvas(100, 60, 255);
    fillRect(img, 5, 10, 10, 40, 0); // 10 wide, 40 tall, near the left edge
    const t = prepareDigit(img);
    expect(t.shape).toEqual([1, 28, 28, 1]);
    const s = stats(t);
    expect(s.h).toBe(20);
    expect(s.w).toBe(5); // aspect ratio kept: 10 × 40 → 5 × 20
    expect(Math.abs(s.cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(s.cy - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...t.data)).toBeCloseTo(1, 5); // the bar's inside is full ink
    expect(t.data[0]).toBe(0); // the paper became the black background
  });

  it('light on dark is not inverted, and a grey background is subtracted', () => {
    const img = canvas(60, 60, 40); // dark grey paper
    fillRect(img, 20, 10, 20, 40, 240); // a light bar
    const t = prepareDigit(img);
    const s = stats(t);
    expect(s.h).toBe(20);
    expect(s.w).toBe(10);
    expect(t.data[0]).toBe(0); // the grey background became 0, not 40/255
    expect(Math.max(...t.data)).toBeCloseTo(200 / 215, 5); // 240 on 40: (240 − 40) / (255 − 40)
  });

  it('greyscale, grey + alpha, RGB and palette-like inputs agree; transparent pixels are paper', () => {
    const w = 30;
    const h = 30;
    const grey = new Uint8Array(w * h).fill(255);
    const rgb = new Uint8Array(w * h * 3).fill(255);
    const ga = new Uint8Array(w * h * 2); // fully transparent = white paper
    for (let y = 5; y < 25; y++) {
      for (let x = 12; x < 18; x++) {
        const p = y * w + x;
        grey[p] = 0;
        rgb.set([0, 0, 0], p * 3);
        ga.set([0, 255], p * 2); // opaque black ink
      }
    }
    const a = prepareDigit({ width: w, height: h, data: grey, channels: 1 });
    const b = prepareDigit({ width: w, height: h, data: rgb, channels: 3 });
    const c = prepareDigit({ width: w, height: h, data: ga, channels: 2 });
    expect(b.data).toEqual(a.data);
    expect(c.data).toEqual(a.data);
    expect(stats(a).h).toBe(20);
  });

  it('a tiny image (3×3 with one ink pixel) is enlarged into the 20×20 box and centred', () => {
    const data = new Uint8Array(9);
    data[4] = 255;
    const s = stats(prepareDigit({ width: 3, height: 3, data, channels: 1 }));
    // One pixel fills the whole box: a 20×20 square centred on (14, 14). The dark border
    // of a 3×3 image is its background, so it is not inverted.
    expect([s.w, s.h]).toEqual([20, 20]);
    expect(Math.abs(s.cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(s.cy - 14)).toBeLessThanOrEqual(0.5);
  });

  it('a huge image (3000×2000) is reduced with its aspect ratio', () => {
    const w = 3000;
    const h = 2000;
    const data = new Uint8Array(w * h);
    for (let y = 1000; y < 1800; y++) data.fill(255, y * w + 2000, y * w + 2400); // 400 wide, 800 tall
    const t = prepareDigit({ width: w, height: h, data, channels: 1 });
    const s = stats(t);
    expect([s.w, s.h]).toEqual([10, 20]);
    expect(Math.abs(s.cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(s.cy - 14)).toBeLessThanOrEqual(0.5);
  });

  it('no ink, wrong sizes and wrong types are typed errors naming the problem', () => {
    expect(() => prepareDigit(canvas(50, 50, 255))).toThrow(/no ink/);
    expect(() => prepareDigit(canvas(50, 50, 0))).toThrow(/no ink/);
    expect(() => prepareDigit({ width: 10, height: 10, data: new Uint8Array(7) })).toThrow(ShapeError);
    expect(() => prepareDigit({ width: 0, height: 10, data: new Uint8Array(0) })).toThrow(ValueError);
    expect(() => prepareDigit({ width: 2, height: 2, data: [1, 2, 3, 4] as never })).toThrow(ValueError);
    expect(() => prepareDigit(null as never)).toThrow(ValueError);
    expect(() => prepareDigit({ width: 100000, height: 100000, data: new Uint8Array(4) })).toThrow(ShapeError);
  });
});

describe('prepareDigit on MNIST itself', () => {
  let test: Tensor;
  beforeAll(async () => {
    ({ test } = await loadMnist());
  });

  it('a test digit drawn dark on white, 5× larger and off-centre in a 200×200 canvas, comes back close', () => {
    const errors: number[] = [];
    for (let k = 0; k < 20; k++) {
      const digit = test.data.subarray(k * 784, (k + 1) * 784);
      const img = canvas(200, 200, 255);
      const ox = 10 + k * 2;
      const oy = 50 - k;
      for (let y = 0; y < 140; y++) {
        for (let x = 0; x < 140; x++) {
          const v = Math.round(255 * (1 - digit[Math.floor(y / 5) * 28 + Math.floor(x / 5)]));
          img.data.set([v, v, v, 255], ((oy + y) * 200 + ox + x) * 4);
        }
      }
      const back = prepareDigit(img).data;
      let e = 0;
      for (let i = 0; i < 784; i++) e += (back[i] - digit[i]) ** 2;
      errors.push(e / 784);
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    // For scale: the tutorial's models reconstruct at MSE ≈ 0.007–0.011; an unrelated digit is ≈ 0.1.
    expect(mean).toBeLessThan(0.01);
    expect(Math.max(...errors)).toBeLessThan(0.03);
  });
});
