/** Runs the real binding against a library given in argv[2] and prints what it saw as JSON (env configures the fake). */
import { dlopen, FFIType } from 'bun:ffi';
import { GPU_WIDTH } from '../../shared/catalog.ts';
import { Nvml } from '../../cli/gpu/nvml/binding.ts';

const lib = process.argv[2]!;
const ticks = Number(process.argv[3] ?? 3);
try {
  const nv = new Nvml(lib);
  const state = nv.devices.map(() => ({ pstate: null as string | null, throttle: [] as string[], lost: false, mig: null as boolean | null }));
  const reads: number[][] = [];
  for (let t = 0; t < ticks; t++) {
    const out = new Float64Array(nv.devices.length * GPU_WIDTH).fill(NaN);
    nv.readFast(out, state);
    reads.push(Array.from(out, (v) => (Number.isNaN(v) ? -1 : v)));
  }
  const counter = dlopen(lib, { fake_nvml_count: { args: [FFIType.cstring], returns: FFIType.u32 } });
  const count = (n: string) => counter.symbols.fake_nvml_count(Buffer.from(n + '\0'));
  console.log(JSON.stringify({
    ok: true, driver: nv.driverVersion, cuda: nv.cudaVersion, processApi: nv.processApi,
    devices: nv.devices.map((d) => ({ index: d.index, name: d.name, uuid: d.uuid, busId: d.busId, memTotal: d.memTotal, mig: d.mig })),
    reads, state, lost: nv.drainLost(), disabled: nv.devices.map((_, i) => nv.disabled(i)),
    processes: nv.devices.map((_, i) => nv.readProcesses(i)), putil: nv.devices.map((_, i) => nv.readProcessUtil(i)), pcie: nv.devices.map((_, i) => nv.readPcie(i)), ecc: nv.devices.map((_, i) => nv.readEcc(i)),
    xid: nv.pollXid(0), calls: { fan: count('fan'), util: count('util') },
  }));
  nv.close();
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: (e as Error).message }));
}
