import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { G, GPU_WIDTH } from '../../shared/catalog.ts';
import {
  EVENT_DATA,
  FI,
  FIELD_VALUE,
  MEMORY_V1,
  MEMORY_V2,
  PCI_INFO_V3,
  PROCESS,
  PROCESS_DETAIL_LIST_V1,
  PROCESS_UTIL_SAMPLE,
  UTILIZATION,
  VALUE_TYPE,
} from '../../cli/gpu/nvml/structs.ts';
import { withUtil } from '../../cli/gpu/nvml/provider.ts';
import { BUN, fakeNvml, ROOT } from '../helpers.ts';

function probe(variant: Parameters<typeof fakeNvml>[0], env: Record<string, string> = {}, ticks = 3) {
  const r = Bun.spawnSync([BUN, join(ROOT, 'test/cli/nvml-probe.ts'), fakeNvml(variant), String(ticks)], { env: { PATH: process.env.PATH!, ...env } });
  const out = r.stdout.toString().trim();
  if (!out) throw new Error(r.stderr.toString());
  return JSON.parse(out.split('\n').at(-1)!);
}

describe("struct layouts match NVIDIA's header (reference nvml.md §2, literal numbers)", () => {
  test('nvmlMemory_t / nvmlMemory_v2_t', () => {
    expect(MEMORY_V1).toEqual({ size: 24, total: 0, free: 8, used: 16 });
    expect(MEMORY_V2).toEqual({ size: 40, version: 0, total: 8, reserved: 16, free: 24, used: 32, VERSION: 0x02000028 });
    // NVML_STRUCT_VERSION(Memory, 2) = sizeof | 2 << 24
    expect(MEMORY_V2.VERSION as number).toBe((40 | (2 << 24)) >>> 0);
  });
  test('nvmlUtilization_t, nvmlPciInfo_t', () => {
    expect(UTILIZATION).toEqual({ size: 8, gpu: 0, memory: 4 });
    expect(PCI_INFO_V3.size).toBe(68);
    expect(PCI_INFO_V3.busId).toBe(36);
    expect(PCI_INFO_V3.domain).toBe(16);
  });
  test('process structs: 4-byte hole after pid; strides 16 / 24 / 32', () => {
    expect(PROCESS).toEqual({ pid: 0, usedGpuMemory: 8, gpuInstanceId: 16, computeInstanceId: 20, V1: 16, V2: 24, CC535: 32 });
    expect(PROCESS_DETAIL_LIST_V1).toMatchObject({ size: 24, numProcArrayEntries: 8, procArray: 16, VERSION: 0x01000018, entry: 32 });
  });
  test('nvmlEventData_t', () => expect(EVENT_DATA).toEqual({ size: 32, device: 0, eventType: 8, eventData: 16, gpuInstanceId: 24, computeInstanceId: 28 }));
  test('nvmlProcessUtilizationSample_t: 4-byte hole after pid, CPU µs timestamp at 8', () =>
    expect(PROCESS_UTIL_SAMPLE).toEqual({ size: 32, pid: 0, timeStamp: 8, smUtil: 16, memUtil: 20, encUtil: 24, decUtil: 28 }));
  test('nvmlFieldValue_t: 8-byte union at 32; value types; memory temperature is field 82', () => {
    expect(FIELD_VALUE).toEqual({ size: 40, fieldId: 0, scopeId: 4, timestamp: 8, latencyUsec: 16, valueType: 24, nvmlReturn: 28, value: 32 });
    expect(VALUE_TYPE).toEqual({ DOUBLE: 0, UINT: 1, ULONG: 2, ULONGLONG: 3, SLONGLONG: 4, SINT: 5, USHORT: 6 });
    expect(FI.MEMORY_TEMP).toBe(82);
  });
});

describe('NVML binding through a real dlopen of the fake library', () => {
  test('enumerates devices with name, UUID, PCI bus id, driver and CUDA versions', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '3', FAKE_NVML_NAMES: 'NVIDIA H100 80GB HBM3,NVIDIA A100-SXM4-40GB' });
    expect(p.ok).toBe(true);
    expect(p.driver).toBe('550.54.15-fake');
    expect(p.cuda).toBe('12.4');
    expect(p.devices.map((d: { name: string }) => d.name)).toEqual(['NVIDIA H100 80GB HBM3', 'NVIDIA A100-SXM4-40GB', 'NVIDIA A100-SXM4-40GB']);
    expect(p.devices[1].uuid).toBe('GPU-fa4e0001-0000-4000-8000-000000abc001');
    expect(p.devices[2].busId).toBe('00000000:19:00.0');
  });
  test('every contract metric in base units; memory from the v2 struct (used excludes reserved)', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '2' }, 1);
    const r = p.reads[0];
    const g1 = (k: keyof typeof G) => r[GPU_WIDTH + G[k]];
    expect(g1('mem.total')).toBe(85899345920);
    expect(g1('mem.used')).toBe(Math.floor(85899345920 * 0.3) - (Math.floor(85899345920 * 0.3) % 1048576));
    expect(g1('util')).toBe((10 + 10 + 7) % 101);
    expect(g1('temp')).toBe(42);
    expect(g1('power')).toBe(261); // 261000 mW
    expect(g1('power.limit')).toBe(700);
    expect(g1('fan')).toBe(31);
    expect(g1('clock.sm')).toBe(1980);
    expect(g1('clock.mem')).toBe(2619);
    expect(g1('enc.util')).toBe(0);
    expect(g1('dec.util')).toBe(6);
    expect(g1('energy')).toBe(1000250); // (1e9 + 250000) mJ → J
    expect(p.pcie[1]).toEqual([2001000, 1001000]); // KB/s → B/s, [rx, tx]
    expect(p.state[0].pstate).toBe('P0');
    expect(p.ecc[1]).toEqual({ corrected: 1, uncorrected: 0 });
  });
  test('an old driver without _v2 memory uses v1, whose used includes reserved', () => {
    const p = probe('no_v3', { FAKE_NVML_GPUS: '1' }, 1);
    const used = Math.floor(85899345920 * 0.25) - (Math.floor(85899345920 * 0.25) % 1048576);
    expect(p.reads[0][G['mem.used']]).toBe(used + 536870912);
    expect(p.processApi.compute).toBe('nvmlDeviceGetComputeRunningProcesses_v2');
    expect(p.state[0].throttle).toEqual([]);
  });
  test('NOT_SUPPORTED and NO_PERMISSION give null and are not retried every tick', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '2', FAKE_NVML_UNSUPPORTED: 'fan,enc', FAKE_NVML_NO_PERMISSION: 'energy' }, 5);
    for (const r of p.reads)
      for (const d of [0, 1]) {
        expect(r[d * GPU_WIDTH + G.fan]).toBe(-1);
        expect(r[d * GPU_WIDTH + G['enc.util']]).toBe(-1);
        expect(r[d * GPU_WIDTH + G.energy]).toBe(-1);
        expect(r[d * GPU_WIDTH + G.util]).toBeGreaterThanOrEqual(0);
      }
    expect(p.calls.fan).toBe(2); // once per device, then remembered
    expect(p.calls.util).toBe(10);
    expect(p.disabled[0]).toEqual(['fan', 'enc', 'energy']);
  });
  test('GPU_IS_LOST marks only that device lost; the others keep flowing', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '3', FAKE_NVML_LOST: '1:2' }, 4);
    expect(p.lost).toEqual([1]);
    const last = p.reads[3];
    for (let k = 0; k < GPU_WIDTH; k++) expect(last[GPU_WIDTH + k]).toBe(-1);
    expect(last[G.util]).toBeGreaterThanOrEqual(0);
    expect(last[2 * GPU_WIDTH + G.temp]).toBe(40 + 2 + 4); // temp follows the tick
    expect(p.reads[1][GPU_WIDTH + G.util]).toBeGreaterThanOrEqual(0); // before it was lost
    expect(p.state[1].lost).toBe(true);
  });
  test.each([
    ['default', 24, 'nvmlDeviceGetComputeRunningProcesses_v3'],
    ['cc535', 32, 'nvmlDeviceGetComputeRunningProcesses_v3'],
    ['detail', 24, 'nvmlDeviceGetComputeRunningProcesses_v3'],
    ['no_v3', 24, 'nvmlDeviceGetComputeRunningProcesses_v2'],
  ] as const)('processes on %p: stride %p via %p, pids and memory intact', (variant, stride, fn) => {
    const p = probe(variant, { FAKE_NVML_GPUS: '2', FAKE_NVML_PROCS: '0:4242:1024,0:777:10,1:31337:2048,0:555:64:g' }, 1);
    expect(p.processApi.stride).toBe(stride);
    expect(p.processApi.compute).toBe(fn);
    expect(p.processes[0]).toContainEqual({ pid: 4242, gpu_mem: 1024 * 1048576, type: 'compute' });
    expect(p.processes[0]).toContainEqual({ pid: 777, gpu_mem: 10 * 1048576, type: 'compute' });
    expect(p.processes[1]).toEqual([{ pid: 31337, gpu_mem: 2048 * 1048576, type: 'compute' }]);
    if (variant !== 'no_v3') expect(p.processes[0]).toContainEqual({ pid: 555, gpu_mem: 64 * 1048576, type: 'graphics' });
  });
  test('MIG: utilization is null (N/A), never 0, and MIG mode is reported', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '2', FAKE_NVML_MIG: '0' }, 2);
    expect(p.reads[1][G.util]).toBe(-1);
    expect(p.reads[1][G['enc.util']]).toBe(-1);
    expect(p.devices[0].mig).toBe(true);
    expect(p.devices[1].mig).toBe(false);
    expect(p.reads[1][G['mem.used']]).toBeGreaterThan(0);
  });
  test('throttle reasons are decoded to names; XID events come through the event set', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '2', FAKE_NVML_THROTTLE: '1:0x64', FAKE_NVML_XID: '1:79' }, 1);
    expect(p.state[1].throttle).toEqual(['sw_power_cap', 'sw_thermal', 'hw_thermal']);
    expect(p.xid).toEqual([{ index: 1, xid: 79 }]);
  });
  test('dcgm counters: framebuffer free/reserved and the throttle mask per tick; replays, ECC, remapped rows, memory temperature per slow round', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '2', FAKE_NVML_THROTTLE: '1:0x64' }, 1);
    const used1 = Math.floor(85899345920 * 0.3) - (Math.floor(85899345920 * 0.3) % 1048576);
    expect(p.fast[1]).toEqual({ fbFree: 85899345920 - 536870912 - used1, fbReserved: 536870912, throttleMask: 0x64 });
    expect(p.fast[0].throttleMask).toBe(0);
    expect(p.counters[1]).toEqual({ pcieReplay: 4, eccSbeAgg: 101, eccDbeAgg: 1, remapCorrectable: 1, remapUncorrectable: 0, remapFailure: 0, memTempC: 51 });
    expect(p.xidWatched).toEqual([true, true]);
  });
  test('dcgm counters a device refuses are unknown, and a v1-only driver has no reserved figure', () => {
    const p = probe('default', { FAKE_NVML_GPUS: '1', FAKE_NVML_UNSUPPORTED: 'replay,remap,memtemp,throttle', FAKE_NVML_NO_PERMISSION: 'ecc' }, 1);
    expect(p.counters[0]).toEqual({
      pcieReplay: -1,
      eccSbeAgg: -1,
      eccDbeAgg: -1,
      remapCorrectable: -1,
      remapUncorrectable: -1,
      remapFailure: -1,
      memTempC: -1,
    });
    expect(p.fast[0].throttleMask).toBe(-1);
    expect(p.disabled[0]).toEqual(expect.arrayContaining(['replay', 'remap', 'memTemp', 'eccAgg']));
    const old = probe('no_v3', { FAKE_NVML_GPUS: '1' }, 1);
    expect(old.fast[0].fbReserved).toBe(-1);
    expect(old.fast[0].fbFree).toBeGreaterThan(0);
  });
  test('init failure and a missing library are clear errors', () => {
    expect(probe('default', { FAKE_NVML_INIT_FAIL: '9' }).error).toBe('nvmlInit_v2: DRIVER_NOT_LOADED');
    const r = Bun.spawnSync([BUN, join(ROOT, 'test/cli/nvml-probe.ts'), '/nonexistent/libnvidia-ml.so.1'], { env: { PATH: process.env.PATH! } });
    expect(JSON.parse(r.stdout.toString()).error).toMatch(/cannot load NVML/);
  });
});

describe('per-process utilization (nvmlDeviceGetProcessUtilization)', () => {
  test('only busy processes are sampled; the running list supplies the idle ones (0 %)', () => {
    const p = probe('default', { FAKE_NVML_PROCS: '0:111:100:c:60:30,0:222:50:c,1:333:10:g:5:1' }, 1);
    expect(p.putil).toEqual([[{ pid: 111, sm: 60, mem: 30 }], [{ pid: 333, sm: 5, mem: 1 }]]);
    expect(withUtil(p.processes[0], p.putil[0])).toEqual([
      { pid: 111, gpu_mem: 100 * 1048576, type: 'compute', sm_util: 60, mem_util: 30 },
      { pid: 222, gpu_mem: 50 * 1048576, type: 'compute', sm_util: 0, mem_util: 0 },
    ]);
  });
  test('no busy process: NOT_FOUND is an empty list, not an error', () => {
    expect(probe('default', { FAKE_NVML_PROCS: '0:222:50' }, 1).putil).toEqual([[], []]);
  });
  test('unsupported (or MIG): null, and the processes get null utilization', () => {
    const p = probe('default', { FAKE_NVML_PROCS: '0:111:100:c:60:30', FAKE_NVML_UNSUPPORTED: 'putil' }, 1);
    expect(p.putil).toEqual([null, null]);
    expect(withUtil(p.processes[0], null)).toEqual([{ pid: 111, gpu_mem: 100 * 1048576, type: 'compute', sm_util: null, mem_util: null }]);
    const mig = probe('default', { FAKE_NVML_PROCS: '1:111:100:c:60:30', FAKE_NVML_MIG: '1' }, 1);
    expect(mig.putil[1]).toBeNull();
    // Unsupported is the case for nvidia-smi pmon's fallback; MIG is not (pmon cannot see into it), nor a supported GPU.
    expect(p.putilUnsupported).toEqual([true, true]);
    expect(mig.putilUnsupported).toEqual([false, false]);
  });
});
