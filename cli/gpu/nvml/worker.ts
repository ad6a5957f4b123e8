/**
 * NVML off the main thread. Two roles, one file:
 *  - fast: answers each tick's read request (utilization, memory, temps, power, clocks, …);
 *  - slow: loops on its own every `slowMs` over the calls that block (PCIe samples 20 ms per
 *    direction per GPU), processes and ECC, and waits on the XID event set between rounds.
 * A hung driver call stalls only its worker; the agent's HTTP keeps answering.
 */
import { GPU_WIDTH } from '../../../shared/catalog.ts';
import { Nvml, type FastCounters } from './binding.ts';

declare const self: Worker;

type Init = { op: 'init'; lib: string | null; role: 'fast' | 'slow'; slowMs: number; lostRetryMs: number };
let nvml: Nvml | null = null;

self.onmessage = (e: MessageEvent<Init | { op: 'read'; seq: number }>) => {
  const m = e.data;
  if (m.op === 'init') {
    try {
      nvml = new Nvml(m.lib);
      nvml.lostRetryMs = m.lostRetryMs;
    } catch (err) {
      postMessage({ op: 'fail', message: (err as Error).message });
      return;
    }
    postMessage({
      op: 'ready', driver: nvml.driverVersion, cuda: nvml.cudaVersion, processApi: nvml.processApi,
      devices: nvml.devices.map((d) => ({ index: d.index, name: d.name, uuid: d.uuid, pci_bus_id: d.busId, memory_total: d.memTotal, mig: d.mig })),
    });
    if (m.role === 'slow') void slowLoop(nvml, m.slowMs);
    return;
  }
  if (m.op === 'read' && nvml) {
    const n = nvml.devices.length;
    const values = new Float64Array(n * GPU_WIDTH).fill(NaN);
    const state = nvml.devices.map(() => ({ pstate: null as string | null, throttle: [] as string[], lost: false, mig: null as boolean | null }));
    const fast: FastCounters[] = nvml.devices.map(() => ({ fbFree: NaN, fbReserved: NaN, throttleMask: NaN }));
    nvml.readFast(values, state, fast);
    postMessage({ op: 'reading', seq: m.seq, values, state, fast, lost: nvml.drainLost(), recovered: nvml.drainRecovered(), disabled: nvml.devices.map((_, i) => nvml!.disabled(i)) }, [values.buffer]);
  }
};

async function slowLoop(nv: Nvml, slowMs: number) {
  // Register for XIDs before the first round, so its message can say which devices are watched.
  const early = nv.pollXid(0);
  if (early.length) postMessage({ op: 'xid', xids: early });
  for (;;) {
    const started = Date.now();
    const n = nv.devices.length;
    const pcie = new Float64Array(n * 2);
    const processes = [];
    const ecc = [];
    const counters = [];
    for (let i = 0; i < n; i++) {
      const [rx, tx] = nv.readPcie(i);
      pcie[2 * i] = rx; pcie[2 * i + 1] = tx;
      processes.push(nv.readProcesses(i));
      ecc.push(nv.readEcc(i));
      counters.push(nv.readCounters(i));
    }
    postMessage({ op: 'slow', pcie, processes, ecc, counters, xidWatched: nv.devices.map((_, i) => nv.xidWatched[i] ?? false), lost: nv.drainLost() }, [pcie.buffer]);
    // Wait out the rest of the period on the event set, so an XID arrives within a second.
    while (Date.now() - started < slowMs) {
      const xids = nv.pollXid(Math.min(1000, Math.max(1, slowMs - (Date.now() - started))));
      if (xids.length) postMessage({ op: 'xid', xids });
      await Bun.sleep(0);
    }
  }
}
