/**
 * NVML off the main thread. Two roles, one file:
 *  - fast: answers each tick's read request (utilization, memory, temps, power, clocks, …);
 *  - slow: loops on its own every `slowMs` over the calls that block (PCIe samples 20 ms per
 *    direction per GPU), processes with their utilization (from `nvidia-smi pmon` where the
 *    driver has no per-process utilization), and ECC, and waits on the XID event set between rounds.
 * A hung driver call stalls only its worker; the agent's HTTP keeps answering.
 * Messages both ways are typed in shared/nvml-messages.ts.
 */
import { GPU_WIDTH } from '../../../shared/catalog.ts';
import {
  unknownFast,
  type FastState,
  type FromWorker,
  type ProcessUtil,
  type RawProcess,
  type SlowCounters,
  type ToWorker,
} from '../../../shared/nvml-messages.ts';
import { Nvml, type FastCounters } from './binding.ts';
import { PmonFallback } from './pmon-fallback.ts';

declare const self: Worker;

let nvml: Nvml | null = null;
let lookEveryMs = 30_000,
  lookedAt = Date.now();
const info = (d: Nvml['devices'][number]) => ({ index: d.index, name: d.name, uuid: d.uuid, pci_bus_id: d.busId, memory_total: d.memTotal, mig: d.mig });
const send = (m: FromWorker, transfer: Transferable[] = []) => postMessage(m, transfer);

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.op === 'init') {
    try {
      nvml = new Nvml(m.lib);
      nvml.lostRetryMs = m.lostRetryMs;
      lookEveryMs = m.lostRetryMs;
    } catch (err) {
      send({ op: 'fail', message: (err as Error).message });
      return;
    }
    send({
      op: 'ready',
      driver: nvml.driverVersion,
      cuda: nvml.cudaVersion,
      processApi: nvml.processApi,
      devices: nvml.devices.map(info),
    });
    if (m.role === 'slow') void slowLoop(nvml, m.slowMs);
    return;
  }
  if (m.op === 'read' && nvml) {
    // Now and then, ask the driver whether a GPU appeared; it joins this very reading.
    const added = Date.now() - lookedAt >= lookEveryMs ? ((lookedAt = Date.now()), nvml.addDevices()) : [];
    const n = nvml.devices.length;
    const values = new Float64Array(n * GPU_WIDTH).fill(NaN);
    const state: FastState[] = nvml.devices.map(() => ({ pstate: null, throttle: [], lost: false, mig: null }));
    const fast: FastCounters[] = nvml.devices.map(unknownFast);
    nvml.readFast(values, state, fast);
    send(
      {
        op: 'reading',
        seq: m.seq,
        values,
        state,
        fast,
        lost: nvml.drainLost(),
        recovered: nvml.drainRecovered(),
        disabled: nvml.devices.map((_, i) => nvml!.disabled(i)),
        added: added.map(info),
      },
      [values.buffer],
    );
  }
};

async function slowLoop(nv: Nvml, slowMs: number) {
  // Register for XIDs before the first round, so its message can say which devices are watched.
  const early = nv.pollXid(0);
  if (early.length) send({ op: 'xid', xids: early });
  const pmon = new PmonFallback();
  for (;;) {
    const started = Date.now();
    // Devices that appeared: the fast worker announces them; here they just join the slow round.
    nv.addDevices();
    const n = nv.devices.length;
    const pcie = new Float64Array(n * 2);
    const processes: RawProcess[][] = [];
    const putil: (ProcessUtil[] | null)[] = [];
    const ecc = [];
    const counters: SlowCounters[] = [];
    for (let i = 0; i < n; i++) {
      const [rx, tx] = nv.readPcie(i);
      pcie[2 * i] = rx;
      pcie[2 * i + 1] = tx;
      processes.push(nv.readProcesses(i));
      putil.push(nv.readProcessUtil(i));
      ecc.push(nv.readEcc(i));
      counters.push(nv.readCounters(i));
    }
    await pmon.fill(
      putil,
      (i) => nv.processUtilUnsupported(i),
      (i) => nv.devices[i]!.index,
    );
    send({ op: 'slow', pcie, processes, putil, ecc, counters, xidWatched: nv.devices.map((_, i) => nv.xidWatched[i] ?? false), lost: nv.drainLost() }, [
      pcie.buffer,
    ]);
    // Wait out the rest of the period on the event set, so an XID arrives within a second.
    while (Date.now() - started < slowMs) {
      const xids = nv.pollXid(Math.min(1000, Math.max(1, slowMs - (Date.now() - started))));
      if (xids.length) send({ op: 'xid', xids });
      await Bun.sleep(0);
    }
  }
}
