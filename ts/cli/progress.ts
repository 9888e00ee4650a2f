/**
 * Training progress: a bar per epoch (batches done, loss, ETA, images/s; cli-progress)
 * when stdout is a terminal, one plain line per epoch when it is not (CI logs, pipes).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  startEpoch(epoch: number, batches: number): void;
  batch(done: number, loss: number, images: number): void;
  endEpoch(line: string): void;
  stop(): void;
}

export function progress(epochs: number, out: NodeJS.WriteStream = process.stdout): Progress {
  if (!out.isTTY) {
    return { startEpoch() {}, batch() {}, endEpoch: (line) => void out.write(`${line}\n`), stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `epoch {epoch}/${epochs} [{bar}] {value}/{total} batches | loss {loss} | ETA {eta_formatted} | {speed} images/s`,
      hideCursor: true,
      clearOnComplete: true,
      stream: out,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let epochNumber = 0;
  return {
    startEpoch(epoch, batches) {
      epochNumber = epoch + 1;
      started = performance.now();
      bar.start(batches, 0, { epoch: epochNumber, loss: '-', speed: '-' });
    },
    batch(done, loss, images) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, { loss: loss.toFixed(5), speed: seconds > 0 ? Math.round(images / seconds) : '-' });
    },
    endEpoch(line) {
      bar.stop();
      out.write(`${line}\n`);
    },
    stop: () => bar.stop(),
  };
}
