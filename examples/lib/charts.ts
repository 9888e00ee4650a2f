/**
 * Charts as SVG with Vega-Lite (compiled to Vega, rendered headless: no canvas, no native
 * code). GitHub shows SVG in the README. One renderer; the spec builders below are the
 * three charts the examples draw.
 */
import { writeFile } from 'node:fs/promises';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    // Positions to 1/100 pixel: the scatter plot's thousands of marks otherwise carry 15 digits each.
    return (await view.toSVG()).replace(
      /translate\(([^)]*)\)/g,
      (_, xy: string) =>
        `translate(${xy
          .split(',')
          .map((v) => String(Math.round(Number(v) * 100) / 100))
          .join(',')})`,
    );
  } finally {
    view.finalize();
  }
}

export async function writeSvg(path: string, spec: TopLevelSpec): Promise<void> {
  await writeFile(path, await renderSvg(spec));
}

const BASE = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, height: 260 } as const;

/** Training and validation loss per epoch (Keras's `history.history['loss']`, `['val_loss']`). */
export function lossChart(title: string, loss: number[], valLoss: number[]): TopLevelSpec {
  const values = [
    ...loss.map((v, i) => ({ epoch: i + 1, loss: v, series: 'training' })),
    ...valLoss.map((v, i) => ({ epoch: i + 1, loss: v, series: 'validation' })),
  ];
  return {
    ...BASE,
    title,
    data: { values },
    mark: { type: 'line', point: loss.length <= 20 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'loss', type: 'quantitative', title: 'MSE', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** An ROC curve with the chance diagonal. */
export function rocChart(title: string, points: { fpr: number; tpr: number }[]): TopLevelSpec {
  return {
    ...BASE,
    width: 300,
    height: 300,
    title,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false positive rate' },
          y: { field: 'tpr', type: 'quantitative', title: 'true positive rate' },
        },
      },
      {
        data: {
          values: [
            { fpr: 0, tpr: 0 },
            { fpr: 1, tpr: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: 'grey' },
        encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } },
      },
    ],
  };
}

/** 2-D points coloured by their digit. */
export function scatterChart(title: string, points: { x: number; y: number; digit: number }[]): TopLevelSpec {
  return {
    ...BASE,
    width: 480,
    height: 480,
    title,
    data: { values: points },
    // No per-point aria labels: 5,000 of them would triple the file.
    mark: { type: 'circle', size: 6, opacity: 0.6, aria: false },
    encoding: {
      x: { field: 'x', type: 'quantitative', axis: null, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', axis: null, scale: { zero: false } },
      color: { field: 'digit', type: 'nominal', scale: { scheme: 'category10' }, title: 'digit' },
    },
  };
}
