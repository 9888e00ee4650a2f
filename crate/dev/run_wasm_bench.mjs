// Runs dev/gemm_bench.rs compiled to a bare wasm32 module: supplies the clock and a print.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const bytes = readFileSync(process.argv[2]);
let memory;
const { instance } = await WebAssembly.instantiate(bytes, {
  env: {
    now_ms: () => performance.now(),
    print: (ptr, len) => console.log(new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len))),
  },
});
memory = instance.exports.memory;
instance.exports.run();
