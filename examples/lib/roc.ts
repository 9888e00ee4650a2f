/**
 * ROC analysis of an anomaly score: the curve and its area, computed here (no library).
 * AUC is the probability that a random positive scores above a random negative, ties
 * counting one half (the Mann–Whitney U statistic over the two counts' product), which is
 * also the trapezoidal area under the curve drawn through tied scores.
 */
export interface RocPoint {
  fpr: number;
  tpr: number;
}

export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean>): { auc: number; points: RocPoint[] } {
  const n = scores.length;
  if (n !== positive.length) throw new Error(`rocCurve: ${n} scores but ${positive.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) if (positive[i]) positives++;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new Error('rocCurve needs both positive and negative samples');
  const points: RocPoint[] = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (let i = 0; i < n;) {
    // All samples tied at this score move the curve together (a diagonal step).
    let j = i;
    let dtp = 0;
    let dfp = 0;
    for (; j < n && scores[order[j]] === scores[order[i]]; j++) positive[order[j]] ? dtp++ : dfp++;
    area += dfp * (tp + dtp / 2);
    tp += dtp;
    fp += dfp;
    points.push({ fpr: fp / negatives, tpr: tp / positives });
    i = j;
  }
  return { auc: area / (positives * negatives), points };
}

/** At most `max` points of a curve, evenly spaced along it, keeping both ends (for a small SVG). */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => points[Math.round(k * step)]);
}
