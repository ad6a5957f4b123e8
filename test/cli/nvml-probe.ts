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
  const fast = nv.devices.map(() => ({ fbFree: NaN, fbReserved: NaN, throttleMask: NaN }));
  for (let t = 0; t < ticks; t++) {
    const out = new Float64Array(nv.devices.length * GPU_WIDTH).fill(NaN);
    nv.readFast(out, state, fast);
    reads.push(Array.from(out, (v) => (Number.isNaN(v) ? -1 : v)));
  }
  const counter = dlopen(lib, { fake_nvml_count: { args: [FFIType.cstring], returns: FFIType.u32 } });
  const count = (n: string) => counter.symbols.fake_nvml_count(Buffer.from(n + '\0'));
  // Read before `disabled` is reported, so the fields they switch off show there.
  const counters = nv.devices.map((_, i) => Object.fromEntries(Object.entries(nv.readCounters(i)).map(([k, v]) => [k, Number.isNaN(v) ? -1 : v])));
  console.log(
    JSON.stringify({
      ok: true,
      driver: nv.driverVersion,
      cuda: nv.cudaVersion,
      processApi: nv.processApi,
      devices: nv.devices.map((d) => ({ index: d.index, name: d.name, uuid: d.uuid, busId: d.busId, memTotal: d.memTotal, mig: d.mig })),
      reads,
      state,
      lost: nv.drainLost(),
      disabled: nv.devices.map((_, i) => nv.disabled(i)),
      processes: nv.devices.map((_, i) => nv.readProcesses(i)),
      putil: nv.devices.map((_, i) => nv.readProcessUtil(i)),
      // After the reads above, which is what tells the binding a call is unsupported.
      putilUnsupported: nv.devices.map((_, i) => nv.processUtilUnsupported(i)),
      pcie: nv.devices.map((_, i) => nv.readPcie(i)),
      ecc: nv.devices.map((_, i) => nv.readEcc(i)),
      xid: nv.pollXid(0),
      xidWatched: nv.xidWatched,
      calls: { fan: count('fan'), util: count('util') },
      // NaN (unknown) as -1, like the reads.
      fast: fast.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Number.isNaN(v) ? -1 : v]))),
      counters,
    }),
  );
  nv.close();
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: (e as Error).message }));
}
