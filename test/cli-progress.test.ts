// The training progress display: a cli-progress bar on a terminal (batches, loss, ETA,
// images/s), one plain line per epoch elsewhere. A fake stream stands in for stdout.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progress } from '../ts/cli/progress.js';

function stream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  let text = '';
  const s = new Writable({
    write(chunk, _enc, done) {
      text += chunk;
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(s, {
    isTTY,
    columns: 160,
    rows: 40,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  s.text = () => text;
  return s;
}

describe('progress', () => {
  it('on a terminal: a bar with batches, loss, ETA and images/s, then the epoch line', () => {
    const out = stream(true);
    const p = progress(3, out);
    p.startEpoch(0, 10);
    for (let b = 1; b <= 10; b++) p.batch(b, 0.05 / b, b * 256);
    p.endEpoch('epoch 1/3: loss 0.00500');
    p.stop();
    const text = out.text();
    expect(text).toMatch(/epoch 1\/3 \[[^\]]*\] \d+\/10 batches \| loss 0\.\d{5} \| ETA \S+ \| [\d-]+ images\/s/);
    expect(text).toContain('epoch 1/3: loss 0.00500\n');
  });

  it('elsewhere: only the epoch lines, no redraws', () => {
    const out = stream(false);
    const p = progress(2, out);
    p.startEpoch(0, 5);
    p.batch(1, 0.1, 256);
    p.endEpoch('epoch 1/2: loss 0.10000');
    p.stop();
    expect(out.text()).toBe('epoch 1/2: loss 0.10000\n');
  });
});
