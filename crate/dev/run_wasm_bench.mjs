// Runs a dev/*.rs benchmark compiled to a bare wasm32 module: supplies the clock and a print.
//   node run_wasm_bench.mjs MODULE.wasm [EXPORT [INTEGER_ARGS...]]   (default export: run)
// The clock is this process's CPU time (user + system), so time the scheduler gives to
// other processes on a shared machine is not counted; BENCH_CLOCK=wall uses
// performance.now() instead.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [file, entry = 'run', ...args] = process.argv.slice(2);
const bytes = readFileSync(file);
let memory;
const { instance } = await WebAssembly.instantiate(bytes, {
  env: {
    now_ms:
      process.env.BENCH_CLOCK === 'wall'
        ? () => performance.now()
        : () => {
            const { user, system } = process.cpuUsage();
            return (user + system) / 1000;
          },
    print: (ptr, len) => console.log(new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len))),
  },
});
memory = instance.exports.memory;
instance.exports[entry](...args.map(Number));
