/**
 * Our NVML binding over bun:ffi. Init once, keep handles, read into preallocated buffers.
 * NOT_SUPPORTED / NO_PERMISSION / FUNCTION_NOT_FOUND disable that field for that device for good
 * (no retry every tick); GPU_IS_LOST marks the device lost and it is not called again.
 * Runs inside the NVML worker (worker.ts): FFI calls are synchronous and real ones can block.
 */
import { dlopen, type Library } from 'bun:ffi';
import { G, GPU_WIDTH } from '../../../shared/catalog.ts';
import { decodeThrottle } from '../provider.ts';
import {
  BUF,
  CLOCK,
  ECC,
  EVENT_DATA,
  EVENT_XID_CRITICAL,
  FI,
  FIELD_VALUE,
  MEMORY_V1,
  MEMORY_V2,
  PCI_INFO_V3,
  PCIE,
  PROCESS,
  PROCESS_UTIL_SAMPLE,
  RET,
  RET_NAMES,
  UTILIZATION,
  VALUE_TYPE,
} from './structs.ts';
import { unknownSlow, type FastCounters, type ProcessUtil, type SlowCounters } from '../../../shared/nvml-messages.ts';
import { OPTIONAL, REQUIRED, type OptionalName } from './symbols.ts';

export class NvmlError extends Error {
  override name = 'NvmlError';
  constructor(
    readonly code: number,
    readonly fn: string,
  ) {
    super(`${fn}: ${RET_NAMES[code] ?? `error ${code}`}`);
  }
}

/** Fields that can be switched off per device once the driver says it will never answer them. */
const F = {
  util: 0,
  mem: 1,
  temp: 2,
  power: 3,
  limit: 4,
  fan: 5,
  clockSm: 6,
  clockMem: 7,
  enc: 8,
  dec: 9,
  energy: 10,
  pcie: 11,
  pstate: 12,
  throttle: 13,
  procs: 14,
  gprocs: 15,
  ecc: 16,
  mig: 17,
  eccAgg: 18,
  replay: 19,
  remap: 20,
  memTemp: 21,
  putil: 22,
} as const;
type Field = keyof typeof F;

interface Dev {
  index: number;
  handle: number;
  name: string;
  uuid: string;
  busId: string | null;
  memTotal: number | null;
  lost: boolean;
  lostAt: number;
  off: number;
  mig: boolean | null;
  utilSeen: bigint;
}

type Syms = Record<string, (...a: unknown[]) => number>;

const dec = new TextDecoder();
const cstr = (b: Uint8Array) => {
  const z = b.indexOf(0);
  return dec.decode(z < 0 ? b : b.subarray(0, z));
};

export interface ProcessInfo {
  pid: number;
  gpu_mem: number | null;
  type: 'compute' | 'graphics';
}

/** What the per-tick read learns besides the catalog columns (see GpuCounters). NaN = unknown. */
export type { FastCounters, SlowCounters } from '../../../shared/nvml-messages.ts';

export class Nvml {
  readonly devices: Dev[] = [];
  readonly driverVersion: string | null;
  readonly cudaVersion: string | null;
  readonly has: ReadonlySet<OptionalName>;
  /** Process struct stride chosen from the exported symbols (nvml.md §5). */
  readonly processApi: { compute: string | null; graphics: string | null; stride: number };
  #lib: Library<Record<string, never>>;
  #s: Syms;
  #u32 = new Uint32Array(2);
  #u64 = new BigUint64Array(1);
  #mem = new Uint8Array(MEMORY_V2.size);
  #memView = new DataView(this.#mem.buffer);
  #util = new Uint32Array(UTILIZATION.size / 4);
  #lostEvents: number[] = [];
  #recoveredEvents: number[] = [];
  /** How often a lost GPU is probed again (a reset, `nvidia-smi -r`, can bring it back). */
  lostRetryMs = 30_000;
  #eventSet: number | null = null;
  #eventBuf = new Uint8Array(EVENT_DATA.size);
  /** Per device: registered for XID events (so "no XID yet" can be told from "cannot know"). */
  readonly xidWatched: boolean[] = [];
  #field = new Uint8Array(FIELD_VALUE.size);
  #fieldView = new DataView(this.#field.buffer);
  #rows = new Uint32Array(4);

  constructor(libPath: string | null) {
    const candidates = libPath ? [libPath] : ['libnvidia-ml.so.1', 'libnvidia-ml.so'];
    let lib: Library<typeof REQUIRED> | null = null;
    let path = '';
    const errors: string[] = [];
    for (const c of candidates) {
      try {
        lib = dlopen(c, REQUIRED);
        path = c;
        break;
      } catch (e) {
        const msg = (e as Error).message.split('\n')[0]!;
        // Bun's message names a cwd-relative path even for a bare name the loader searched for: say what matters.
        errors.push(/cannot open shared object file/.test(msg) ? `${c} not found` : `${c}: ${msg}`);
      }
    }
    if (!lib) throw new Error(`cannot load NVML (${errors.join('; ')}${libPath ? '' : ': is the NVIDIA driver installed?'})`);
    lib.close();
    const has = new Set<OptionalName>();
    for (const name of Object.keys(OPTIONAL) as OptionalName[]) {
      try {
        dlopen(path, { [name]: OPTIONAL[name] }).close();
        has.add(name);
      } catch {
        /* older driver: symbol absent */
      }
    }
    this.has = has;
    const table: Record<string, (typeof OPTIONAL)[OptionalName] | (typeof REQUIRED)[keyof typeof REQUIRED]> = { ...REQUIRED };
    for (const n of has) table[n] = OPTIONAL[n];
    this.#lib = dlopen(path, table) as never;
    this.#s = this.#lib.symbols as unknown as Syms;

    const r = this.#s.nvmlInit_v2!();
    if (r !== RET.SUCCESS) {
      this.#lib.close();
      throw new NvmlError(r, 'nvmlInit_v2');
    }

    const vb = new Uint8Array(BUF.driverVersion);
    this.driverVersion = this.#s.nvmlSystemGetDriverVersion!(vb, vb.length) === 0 ? cstr(vb) : null;
    let cuda: string | null = null;
    if (has.has('nvmlSystemGetCudaDriverVersion') && this.#s.nvmlSystemGetCudaDriverVersion!(this.#u32) === 0) {
      const v = this.#u32[0]!;
      cuda = `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
    }
    this.cudaVersion = cuda;

    // nvitop's rule: the detail-list symbol means _v3 is back to 24 bytes; _v3 plus the
    // confidential-compute symbol without it is the 535.43–535.86 window with 32-byte entries.
    const v3 = has.has('nvmlDeviceGetComputeRunningProcesses_v3');
    const v2 = has.has('nvmlDeviceGetComputeRunningProcesses_v2');
    const cc535 = v3 && !has.has('nvmlDeviceGetRunningProcessDetailList') && has.has('nvmlDeviceGetConfComputeMemSizeInfo');
    this.processApi = v3
      ? {
          compute: 'nvmlDeviceGetComputeRunningProcesses_v3',
          graphics: has.has('nvmlDeviceGetGraphicsRunningProcesses_v3') ? 'nvmlDeviceGetGraphicsRunningProcesses_v3' : null,
          stride: cc535 ? PROCESS.CC535 : PROCESS.V2,
        }
      : v2
        ? {
            compute: 'nvmlDeviceGetComputeRunningProcesses_v2',
            graphics: has.has('nvmlDeviceGetGraphicsRunningProcesses_v2') ? 'nvmlDeviceGetGraphicsRunningProcesses_v2' : null,
            stride: PROCESS.V2,
          }
        : { compute: has.has('nvmlDeviceGetComputeRunningProcesses') ? 'nvmlDeviceGetComputeRunningProcesses' : null, graphics: null, stride: PROCESS.V1 };

    this.#check(this.#s.nvmlDeviceGetCount_v2!(this.#u32), 'nvmlDeviceGetCount_v2');
    const count = this.#u32[0]!;
    for (let i = 0; i < count; i++) {
      // A device NVML may not talk to (NO_PERMISSION, lost at start) is skipped; the rest still work.
      const dev = this.#openDevice(i);
      if (dev) this.devices.push(dev);
    }
  }

  #openDevice(i: number): Dev | null {
    const hbuf = new BigUint64Array(1);
    if (this.#s.nvmlDeviceGetHandleByIndex_v2!(i, hbuf) !== RET.SUCCESS) return null;
    const handle = Number(hbuf[0]);
    const nb = new Uint8Array(BUF.name),
      ub = new Uint8Array(BUF.uuid);
    const name = this.#s.nvmlDeviceGetName!(handle, nb, nb.length) === 0 ? cstr(nb) : `GPU ${i}`;
    const uuid = this.#s.nvmlDeviceGetUUID!(handle, ub, ub.length) === 0 ? cstr(ub) : `GPU-index-${i}`;
    let busId: string | null = null;
    if (this.has.has('nvmlDeviceGetPciInfo_v3')) {
      const pb = new Uint8Array(PCI_INFO_V3.size);
      if (this.#s.nvmlDeviceGetPciInfo_v3!(handle, pb) === 0) busId = cstr(pb.subarray(PCI_INFO_V3.busId, PCI_INFO_V3.busId + PCI_INFO_V3.busIdLen));
    }
    const dev: Dev = { index: i, handle, name, uuid, busId, memTotal: null, lost: false, lostAt: 0, off: 0, mig: null, utilSeen: 0n };
    if (this.has.has('nvmlDeviceGetMigMode') && this.#ok(dev, 'mig', this.#s.nvmlDeviceGetMigMode!(handle, this.#u32, this.#u32.subarray(1))))
      dev.mig = this.#u32[0] === 1;
    this.#readMemory(dev);
    return dev;
  }

  /**
   * Devices the driver now reports that we do not have (a GPU that appeared): opened and appended,
   * in index order. Devices never leave: one that falls off the bus stays, marked lost.
   */
  addDevices(): Dev[] {
    if (this.#s.nvmlDeviceGetCount_v2!(this.#u32) !== RET.SUCCESS) return [];
    const count = this.#u32[0]!;
    const added: Dev[] = [];
    for (let i = 0; i < count; i++) {
      if (this.devices.some((d) => d.index === i)) continue;
      const dev = this.#openDevice(i);
      if (!dev) continue;
      this.devices.push(dev);
      added.push(dev);
      // Already watching for XIDs: watch the newcomer too.
      const reg = this.#s.nvmlDeviceRegisterEvents;
      if (this.#eventSet !== null && reg) this.xidWatched[this.devices.length - 1] = reg(dev.handle, EVENT_XID_CRITICAL, this.#eventSet) === RET.SUCCESS;
    }
    return added;
  }

  #check(r: number, fn: string) {
    if (r !== RET.SUCCESS) throw new NvmlError(r, fn);
  }

  /** true on success; remembers permanent refusals per device and field, and loss of the device. */
  #ok(d: Dev, f: Field, r: number): boolean {
    if (r === RET.SUCCESS) return true;
    if (r === RET.NOT_SUPPORTED || r === RET.NO_PERMISSION || r === RET.FUNCTION_NOT_FOUND) d.off |= 1 << F[f];
    else if (r === RET.GPU_IS_LOST && !d.lost) {
      d.lost = true;
      d.lostAt = Date.now();
      this.#lostEvents.push(d.index);
    }
    return false;
  }
  #on(d: Dev, f: Field) {
    return !d.lost && !(d.off & (1 << F[f]));
  }
  /** Which fields a device has stopped answering (for tests and /v1/info debugging). */
  disabled(i: number): string[] {
    const d = this.devices[i]!;
    return (Object.keys(F) as Field[]).filter((f) => d.off & (1 << F[f]));
  }
  drainLost(): number[] {
    return this.#lostEvents.splice(0);
  }
  drainRecovered(): number[] {
    return this.#recoveredEvents.splice(0);
  }

  /** Re-probes a lost device: a fresh handle and one cheap call; success clears the lost state. */
  #probeLost(d: Dev) {
    if (Date.now() - d.lostAt < this.lostRetryMs) return;
    d.lostAt = Date.now();
    const hb = new BigUint64Array(1);
    if (this.#s.nvmlDeviceGetHandleByIndex_v2!(d.index, hb) !== RET.SUCCESS) return;
    if (this.#s.nvmlDeviceGetTemperature!(Number(hb[0]), 0, this.#u32) !== RET.SUCCESS) return;
    d.handle = Number(hb[0]);
    d.lost = false;
    d.off = 0; // a reset GPU may support what it refused before
    this.#recoveredEvents.push(d.index);
  }

  /** [used, total, free, reserved] in bytes; reserved is NaN from the v1 struct, which counts it as used. */
  #readMemory(d: Dev): [number, number, number, number] | null {
    if (!this.#on(d, 'mem')) return null;
    const s = this.#s;
    if (this.has.has('nvmlDeviceGetMemoryInfo_v2')) {
      this.#mem.fill(0);
      this.#memView.setUint32(MEMORY_V2.version, MEMORY_V2.VERSION, true);
      const r = s.nvmlDeviceGetMemoryInfo_v2!(d.handle, this.#mem);
      if (r === RET.SUCCESS) {
        const total = Number(this.#memView.getBigUint64(MEMORY_V2.total, true));
        d.memTotal = total;
        const v = this.#memView;
        return [
          Number(v.getBigUint64(MEMORY_V2.used, true)),
          total,
          Number(v.getBigUint64(MEMORY_V2.free, true)),
          Number(v.getBigUint64(MEMORY_V2.reserved, true)),
        ];
      }
      if (r === RET.GPU_IS_LOST) {
        this.#ok(d, 'mem', r);
        return null;
      }
      // Any other refusal of v2 (e.g. an old driver's FUNCTION_NOT_FOUND): fall back to v1 for good.
      (this.has as Set<OptionalName>).delete('nvmlDeviceGetMemoryInfo_v2');
    }
    if (!this.#ok(d, 'mem', s.nvmlDeviceGetMemoryInfo!(d.handle, this.#mem))) return null;
    const total = Number(this.#memView.getBigUint64(MEMORY_V1.total, true));
    d.memTotal = total;
    return [Number(this.#memView.getBigUint64(MEMORY_V1.used, true)), total, Number(this.#memView.getBigUint64(MEMORY_V1.free, true)), NaN];
  }

  #u32call(d: Dev, f: Field, fn: string, ...args: unknown[]): number {
    const sym = this.#s[fn];
    if (!sym || !this.#on(d, f)) return NaN;
    return this.#ok(d, f, sym(d.handle, ...args, this.#u32)) ? this.#u32[0]! : NaN;
  }

  /**
   * The per-tick read: writes GPU_WIDTH values per device into `out` (NaN = unsupported or lost)
   * and the cheap non-numeric state into `state`; with `fast`, also the framebuffer free/reserved
   * bytes and the raw throttle mask the same calls returned. PCIe is left to readPcie().
   */
  readFast(out: Float64Array, state: { pstate: string | null; throttle: string[]; lost: boolean; mig: boolean | null }[], fast?: FastCounters[]) {
    const s = this.#s;
    for (let i = 0; i < this.devices.length; i++) {
      const d = this.devices[i]!;
      const o = i * GPU_WIDTH;
      out.fill(NaN, o, o + GPU_WIDTH - 2); // keep the two PCIe columns the slow reader filled
      out[o + G.energy] = NaN;
      const st = state[i]!;
      if (d.lost) this.#probeLost(d);
      if (this.#on(d, 'util') && this.#ok(d, 'util', s.nvmlDeviceGetUtilizationRates!(d.handle, this.#util))) {
        out[o + G.util] = this.#util[0]!;
        out[o + G['mem_bw.util']] = this.#util[1]!;
      }
      const mem = this.#readMemory(d);
      if (mem) {
        out[o + G['mem.used']] = mem[0];
        out[o + G['mem.total']] = mem[1];
      }
      const fc = fast?.[i];
      if (fc) {
        fc.fbFree = mem ? mem[2] : NaN;
        fc.fbReserved = mem ? mem[3] : NaN;
        fc.throttleMask = NaN;
      }
      out[o + G.temp] = this.#u32call(d, 'temp', 'nvmlDeviceGetTemperature', 0);
      out[o + G.power] = this.#u32call(d, 'power', 'nvmlDeviceGetPowerUsage') / 1000;
      out[o + G['power.limit']] = this.#u32call(d, 'limit', 'nvmlDeviceGetEnforcedPowerLimit') / 1000;
      out[o + G.fan] = this.#u32call(d, 'fan', 'nvmlDeviceGetFanSpeed');
      out[o + G['clock.sm']] = this.#u32call(d, 'clockSm', 'nvmlDeviceGetClockInfo', CLOCK.SM);
      out[o + G['clock.mem']] = this.#u32call(d, 'clockMem', 'nvmlDeviceGetClockInfo', CLOCK.MEM);
      out[o + G['enc.util']] = this.#encDec(d, 'enc', 'nvmlDeviceGetEncoderUtilization');
      out[o + G['dec.util']] = this.#encDec(d, 'dec', 'nvmlDeviceGetDecoderUtilization');
      if (
        this.has.has('nvmlDeviceGetTotalEnergyConsumption') &&
        this.#on(d, 'energy') &&
        this.#ok(d, 'energy', s.nvmlDeviceGetTotalEnergyConsumption!(d.handle, this.#u64))
      ) {
        out[o + G.energy] = Number(this.#u64[0]) / 1000; // mJ → J
      }
      const ps = this.#u32call(d, 'pstate', 'nvmlDeviceGetPerformanceState');
      st.pstate = Number.isFinite(ps) && ps < 32 ? `P${ps}` : null;
      const reasons = this.has.has('nvmlDeviceGetCurrentClocksEventReasons')
        ? 'nvmlDeviceGetCurrentClocksEventReasons'
        : 'nvmlDeviceGetCurrentClocksThrottleReasons';
      const masked = !!this.#s[reasons] && this.#on(d, 'throttle') && this.#ok(d, 'throttle', this.#s[reasons]!(d.handle, this.#u64));
      st.throttle = masked ? decodeThrottle(this.#u64[0]!) : [];
      if (fc && masked) fc.throttleMask = Number(this.#u64[0]!);
      st.lost = d.lost;
      st.mig = d.mig;
      if (d.lost) {
        out.fill(NaN, o, o + GPU_WIDTH);
        if (fc) fc.fbFree = fc.fbReserved = fc.throttleMask = NaN;
      }
    }
  }

  #encDec(d: Dev, f: 'enc' | 'dec', fn: string): number {
    const sym = this.#s[fn];
    if (!sym || !this.#on(d, f)) return NaN;
    return this.#ok(d, f, sym(d.handle, this.#u32, this.#u32.subarray(1))) ? this.#u32[0]! : NaN;
  }

  /** PCIe throughput: each call samples for ~20 ms inside the driver, hence the slow cadence. Writes B/s. */
  readPcie(i: number): [number, number] {
    const d = this.devices[i]!;
    const tx = this.#u32call(d, 'pcie', 'nvmlDeviceGetPcieThroughput', PCIE.TX_BYTES);
    const rx = this.#u32call(d, 'pcie', 'nvmlDeviceGetPcieThroughput', PCIE.RX_BYTES);
    return [rx * 1000, tx * 1000]; // KB/s → B/s
  }

  readEcc(i: number): { corrected: number | null; uncorrected: number | null } | null {
    const d = this.devices[i]!;
    if (!this.has.has('nvmlDeviceGetTotalEccErrors') || !this.#on(d, 'ecc')) return null;
    const s = this.#s.nvmlDeviceGetTotalEccErrors!;
    // errorType CORRECTED=0 / UNCORRECTED=1, counterType VOLATILE=0 (since driver load).
    const c = this.#ok(d, 'ecc', s(d.handle, 0, 0, this.#u64)) ? Number(this.#u64[0]) : null;
    const u = this.#on(d, 'ecc') && this.#ok(d, 'ecc', s(d.handle, 1, 0, this.#u64)) ? Number(this.#u64[0]) : null;
    return c === null && u === null ? null : { corrected: c, uncorrected: u };
  }

  /**
   * The slow round's dcgm-exporter counters: PCIe replays, aggregate ECC, remapped rows and the
   * memory temperature (a field value: NVML has no direct getter). Each is switched off per device
   * once the driver says it will never answer it, as for the per-tick fields.
   */
  readCounters(i: number): SlowCounters {
    const d = this.devices[i]!;
    const c = unknownSlow();
    c.pcieReplay = this.#u32call(d, 'replay', 'nvmlDeviceGetPcieReplayCounter');
    const ecc = this.#s.nvmlDeviceGetTotalEccErrors;
    if (ecc && this.#on(d, 'eccAgg') && this.#ok(d, 'eccAgg', ecc(d.handle, ECC.CORRECTED, ECC.AGGREGATE, this.#u64))) c.eccSbeAgg = Number(this.#u64[0]);
    if (ecc && this.#on(d, 'eccAgg') && this.#ok(d, 'eccAgg', ecc(d.handle, ECC.UNCORRECTED, ECC.AGGREGATE, this.#u64))) c.eccDbeAgg = Number(this.#u64[0]);
    const rows = this.#s.nvmlDeviceGetRemappedRows;
    const r = this.#rows;
    if (rows && this.#on(d, 'remap') && this.#ok(d, 'remap', rows(d.handle, r, r.subarray(1), r.subarray(2), r.subarray(3)))) {
      c.remapCorrectable = r[0]!;
      c.remapUncorrectable = r[1]!;
      c.remapFailure = r[3]!;
    }
    c.memTempC = this.#fieldValue(d, 'memTemp', FI.MEMORY_TEMP);
    return c;
  }

  /** One field through nvmlDeviceGetFieldValues; the call's SUCCESS only says some entry was filled, so the entry's own return decides. */
  #fieldValue(d: Dev, f: Field, fieldId: number): number {
    const sym = this.#s.nvmlDeviceGetFieldValues;
    if (!sym || !this.#on(d, f)) return NaN;
    const v = this.#fieldView;
    this.#field.fill(0);
    v.setUint32(FIELD_VALUE.fieldId, fieldId, true);
    if (!this.#ok(d, f, sym(d.handle, 1, this.#field)) || !this.#ok(d, f, v.getUint32(FIELD_VALUE.nvmlReturn, true))) return NaN;
    const at = FIELD_VALUE.value;
    switch (v.getUint32(FIELD_VALUE.valueType, true)) {
      case VALUE_TYPE.DOUBLE:
        return v.getFloat64(at, true);
      case VALUE_TYPE.UINT:
        return v.getUint32(at, true);
      case VALUE_TYPE.ULONG:
      case VALUE_TYPE.ULONGLONG:
        return Number(v.getBigUint64(at, true));
      case VALUE_TYPE.SLONGLONG:
        return Number(v.getBigInt64(at, true));
      case VALUE_TYPE.SINT:
        return v.getInt32(at, true);
      case VALUE_TYPE.USHORT:
        return v.getUint16(at, true);
      default:
        return NaN;
    }
  }

  /** Running compute and graphics processes; sanity-checks entries against a wrong stride. */
  readProcesses(i: number): ProcessInfo[] {
    const d = this.devices[i]!;
    const out: ProcessInfo[] = [];
    const api = this.processApi;
    if (api.compute && this.#on(d, 'procs')) this.#listProcs(d, 'procs', api.compute, 'compute', out);
    if (api.graphics && this.#on(d, 'gprocs')) this.#listProcs(d, 'gprocs', api.graphics, 'graphics', out);
    // A process that is both compute and graphics shows once, as compute.
    const seen = new Set<number>();
    return out.filter((p) => (seen.has(p.pid) ? false : (seen.add(p.pid), true)));
  }

  #listProcs(d: Dev, f: Field, fn: string, type: 'compute' | 'graphics', out: ProcessInfo[]) {
    const sym = this.#s[fn]!;
    const count = new Uint32Array(1);
    let r = sym(d.handle, count, null);
    if (r === RET.SUCCESS) return; // none running
    for (let attempt = 0; attempt < 3 && r === RET.INSUFFICIENT_SIZE; attempt++) {
      const cap = count[0]! * 2 + 5; // the list changes between calls: over-allocate
      const buf = new Uint8Array(cap * this.processApi.stride);
      count[0] = cap;
      r = sym(d.handle, count, buf);
      if (r === RET.SUCCESS) {
        const v = new DataView(buf.buffer);
        for (let k = 0; k < count[0]!; k++) {
          const o = k * this.processApi.stride;
          const pid = v.getUint32(o + PROCESS.pid, true);
          const mem = v.getBigUint64(o + PROCESS.usedGpuMemory, true);
          if (pid === 0) continue;
          // ULLONG_MAX = not available (WDDM); more than the card holds = a stride mismatch.
          const bytes = mem === 0xffffffffffffffffn || (d.memTotal !== null && Number(mem) > d.memTotal) ? null : Number(mem);
          out.push({ pid, gpu_mem: bytes, type });
        }
        return;
      }
    }
    this.#ok(d, f, r);
  }

  /**
   * Per-process SM and memory utilization since the previous call (nvmlDeviceGetProcessUtilization):
   * the driver lists only processes with non-zero utilization in its sample buffer newer than the
   * timestamp we pass, so a running process missing here was idle (0 %). Samples over 100 % are
   * dropped (nvtop's guard against bogus entries). null = not available (unsupported, MIG, no symbol).
   */
  readProcessUtil(i: number): ProcessUtil[] | null {
    const d = this.devices[i]!;
    const sym = this.#s.nvmlDeviceGetProcessUtilization;
    if (!sym || !this.#on(d, 'putil')) return null;
    const count = new Uint32Array(1);
    let r = sym(d.handle, null, count, d.utilSeen);
    if (r === RET.NOT_FOUND) return [];
    for (let attempt = 0; attempt < 3 && (r === RET.INSUFFICIENT_SIZE || r === RET.SUCCESS); attempt++) {
      const cap = count[0]! * 2 + 8; // the buffer fills between calls: over-allocate
      const buf = new Uint8Array(cap * PROCESS_UTIL_SAMPLE.size);
      count[0] = cap;
      r = sym(d.handle, buf, count, d.utilSeen);
      if (r === RET.NOT_FOUND) return [];
      if (r !== RET.SUCCESS) continue;
      const v = new DataView(buf.buffer);
      const acc = new Map<number, { sm: number; mem: number; n: number }>();
      let newest = d.utilSeen;
      for (let k = 0; k < Math.min(count[0]!, cap); k++) {
        const o = k * PROCESS_UTIL_SAMPLE.size;
        const pid = v.getUint32(o + PROCESS_UTIL_SAMPLE.pid, true);
        const ts = v.getBigUint64(o + PROCESS_UTIL_SAMPLE.timeStamp, true);
        const sm = v.getUint32(o + PROCESS_UTIL_SAMPLE.smUtil, true),
          mem = v.getUint32(o + PROCESS_UTIL_SAMPLE.memUtil, true);
        if (pid === 0 || ts <= d.utilSeen || sm > 100 || mem > 100) continue;
        if (ts > newest) newest = ts;
        const a = acc.get(pid) ?? { sm: 0, mem: 0, n: 0 };
        a.sm += sm;
        a.mem += mem;
        a.n++;
        acc.set(pid, a);
      }
      d.utilSeen = newest;
      // The samples in the buffer cover the time since the last call: their mean is that period's utilization.
      return [...acc].map(([pid, a]) => ({ pid, sm: a.sm / a.n, mem: a.mem / a.n }));
    }
    this.#ok(d, 'putil', r);
    return null;
  }

  /**
   * Whether this driver cannot give per-process utilization for device i at all (no symbol, or
   * the call answered NOT_SUPPORTED / NO_PERMISSION), as opposed to a lost GPU or a passing
   * error: the case for nvidia-smi pmon's fallback. Not on MIG, which pmon cannot see into either.
   */
  processUtilUnsupported(i: number): boolean {
    const d = this.devices[i]!;
    return !d.lost && d.mig !== true && (!this.#s.nvmlDeviceGetProcessUtilization || !this.#on(d, 'putil'));
  }

  /** XID critical errors through an event set; polls with timeout 0 unless `waitMs` is given (only in the worker). */
  pollXid(waitMs = 0): { index: number; xid: number }[] {
    const s = this.#s;
    if (!s.nvmlEventSetCreate || !s.nvmlEventSetWait_v2 || !s.nvmlDeviceRegisterEvents) return [];
    if (this.#eventSet === null) {
      const b = new BigUint64Array(1);
      if (s.nvmlEventSetCreate(b) !== 0) return [];
      this.#eventSet = Number(b[0]);
      for (const d of this.devices)
        this.xidWatched[this.devices.indexOf(d)] = s.nvmlDeviceRegisterEvents(d.handle, EVENT_XID_CRITICAL, this.#eventSet) === RET.SUCCESS;
    }
    const out: { index: number; xid: number }[] = [];
    const v = new DataView(this.#eventBuf.buffer);
    for (let k = 0; k < 16; k++) {
      const r = s.nvmlEventSetWait_v2(this.#eventSet, this.#eventBuf, k === 0 ? waitMs : 0);
      if (r !== RET.SUCCESS) break;
      if ((v.getBigUint64(EVENT_DATA.eventType, true) & EVENT_XID_CRITICAL) === 0n) continue;
      const handle = Number(v.getBigUint64(EVENT_DATA.device, true));
      const d = this.devices.find((x) => x.handle === handle);
      if (d) out.push({ index: d.index, xid: Number(v.getBigUint64(EVENT_DATA.eventData, true)) });
    }
    return out;
  }

  close() {
    try {
      if (this.#eventSet !== null) this.#s.nvmlEventSetFree?.(this.#eventSet);
      this.#s.nvmlShutdown!();
    } catch {
      /* shutting down */
    }
    this.#lib.close();
  }
}
