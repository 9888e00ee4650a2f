// The examples' own numerics against independent references: ROC AUC against the
// Mann–Whitney statistic counted pair by pair, and PCA against data with known axes.
import { describe, expect, it } from 'vitest';
import { pcaProject } from '../examples/lib/pca.js';
import { rocCurve, thin } from '../examples/lib/roc.js';

/** AUC by definition: over all (positive, negative) pairs, 1 when the positive scores higher, ½ on a tie. */
function aucByPairs(scores: number[], positive: boolean[]): number {
  let sum = 0;
  let pairs = 0;
  scores.forEach((p, i) => {
    if (!positive[i]) return;
    scores.forEach((q, j) => {
      if (positive[j]) return;
      sum += p > q ? 1 : p === q ? 0.5 : 0;
      pairs++;
    });
  });
  return sum / pairs;
}

describe('rocCurve', () => {
  it('known cases: perfect, inverted, all tied', () => {
    expect(rocCurve([3, 2, 1, 0], [true, true, false, false]).auc).toBe(1);
    expect(rocCurve([0, 1, 2, 3], [true, true, false, false]).auc).toBe(0);
    const tied = rocCurve([5, 5, 5, 5], [true, false, true, false]);
    expect(tied.auc).toBe(0.5);
    expect(tied.points).toEqual([
      { fpr: 0, tpr: 0 },
      { fpr: 1, tpr: 1 },
    ]);
  });

  it('equals the pairwise count on random scores with many ties, and its curve is monotone', () => {
    let state = 7;
    const rand = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + trial * 7;
      const positive = Array.from({ length: n }, () => rand() < 0.3);
      positive[0] = true;
      positive[1] = false;
      const scores = positive.map((p) => Math.round((rand() + (p ? 0.3 : 0)) * 10)); // coarse: ties
      const { auc, points } = rocCurve(scores, positive);
      expect(auc).toBeCloseTo(aucByPairs(scores, positive), 12);
      for (let i = 1; i < points.length; i++) {
        expect(points[i].fpr).toBeGreaterThanOrEqual(points[i - 1].fpr);
        expect(points[i].tpr).toBeGreaterThanOrEqual(points[i - 1].tpr);
      }
      expect(points.at(-1)).toEqual({ fpr: 1, tpr: 1 });
    }
  });

  it('refuses mismatched lengths and a single class', () => {
    expect(() => rocCurve([1, 2], [true])).toThrow(/2 scores but 1 labels/);
    expect(() => rocCurve([1, 2], [true, true])).toThrow(/both positive and negative/);
  });

  it('thin keeps both ends and at most max points', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => i);
    const t = thin(pts, 10);
    expect(t).toHaveLength(10);
    expect([t[0], t.at(-1)]).toEqual([0, 999]);
  });
});

describe('pcaProject', () => {
  it('finds the axes of data spread along known directions, largest first', () => {
    // 3-D points: variance 9 along u = (1, 2, 2)/3, variance 1 along v = (2, 1, -2)/3, none along the third axis.
    const u = [1 / 3, 2 / 3, 2 / 3];
    const v = [2 / 3, 1 / 3, -2 / 3];
    const n = 400;
    const rows = new Float32Array(n * 3);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = 3 * Math.sin(i * 1.7);
      const t = Math.cos(i * 0.9);
      a.push(s);
      b.push(t);
      for (let j = 0; j < 3; j++) rows[i * 3 + j] = 5 + s * u[j] + t * v[j];
    }
    const [p1, p2] = pcaProject(rows, n, 3);
    const corr = (x: ArrayLike<number>, y: number[]) => {
      const mx = Array.from(x).reduce((s, q) => s + q, 0) / n;
      const my = y.reduce((s, q) => s + q, 0) / n;
      let sxy = 0;
      let sxx = 0;
      let syy = 0;
      for (let i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) ** 2;
        syy += (y[i] - my) ** 2;
      }
      return sxy / Math.sqrt(sxx * syy);
    };
    expect(Math.abs(corr(p1, a))).toBeGreaterThan(0.99);
    expect(Math.abs(corr(p2, b))).toBeGreaterThan(0.99);
  });
});
