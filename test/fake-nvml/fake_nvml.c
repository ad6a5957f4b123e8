/*
 * A fake libnvidia-ml.so for tests. Struct layouts are NVIDIA's (nvml.h, CUDA 13.3 / driver
 * headers; see ../shared/reference/nvml.md §2), pinned below with _Static_assert against the
 * reference's offsets — never derived from the TypeScript binding.
 *
 * Build variants (-D):
 *   NO_V3        driver without the _v3 process symbols (535.98) and without nvmlDeviceGetMemoryInfo_v2
 *   CC535        the 535.43–535.86 window: _v3 processes use the 32-byte CC struct
 *   HAS_DETAIL   exports nvmlDeviceGetRunningProcessDetailList (535.104+): _v3 is 24 bytes
 *
 * Behaviour from the environment (read at nvmlInit):
 *   FAKE_NVML_GPUS=N                 devices (default 2)
 *   FAKE_NVML_GPUS_FILE=path         the device count read from a file whenever it is asked (a GPU that appears)
 *   FAKE_NVML_NAMES=a,b              names per index (last repeats)
 *   FAKE_NVML_UNSUPPORTED=f1,f2      fields answering NOT_SUPPORTED: util enc dec fan temp power limit energy clocks pstate throttle pcie procs ecc mig
 *                                    replay remap memtemp (memtemp answers inside the field value, as real drivers do)
 *   FAKE_NVML_NO_PERMISSION=f1       same, answering NO_PERMISSION
 *   FAKE_NVML_LOST=i:n               device i answers GPU_IS_LOST after n utilization calls
 *   FAKE_NVML_RECOVER_AFTER=n        a lost device answers again after n more calls (a reset)
 *   FAKE_NVML_INIT_FAIL=code         nvmlInit_v2 returns code
 *   FAKE_NVML_HANG_AFTER=n           the n-th temperature call sleeps for an hour (a hung driver)
 *   FAKE_NVML_PROCS=i:pid:mib[:k[:sm[:mem]]],…  running processes (k = c compute or g graphics; sm/mem =
 *                                    the process's utilization %, reported by nvmlDeviceGetProcessUtilization)
 *   FAKE_NVML_PROCS_FILE=path        the same list read from a file, re-read whenever its mtime changes
 *                                    (processes that come and go while the agent runs)
 *   FAKE_NVML_XID=i:xid              one XID critical error event for device i
 *   FAKE_NVML_MIG=i                  device i has MIG enabled (utilization NOT_SUPPORTED)
 *   FAKE_NVML_THROTTLE=i:mask        clock event reasons for device i
 *   FAKE_NVML_PCIE_SLEEP_MS=ms       make nvmlDeviceGetPcieThroughput block like the real one (20 ms)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

typedef int nvmlReturn_t;
typedef struct fake_device *nvmlDevice_t;
typedef struct fake_eventset *nvmlEventSet_t;

enum { OK = 0, ERR_UNINIT = 1, ERR_INVALID = 2, ERR_NOT_SUPPORTED = 3, ERR_NO_PERMISSION = 4, ERR_NOT_FOUND = 6,
       ERR_INSUFFICIENT_SIZE = 7, ERR_TIMEOUT = 10, ERR_FUNCTION_NOT_FOUND = 13, ERR_GPU_IS_LOST = 15 };

/* ---- NVIDIA's layouts (nvml.md §2) ---- */
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { char busIdLegacy[16]; unsigned int domain, bus, device, pciDeviceId, pciSubSystemId; char busId[32]; } nvmlPciInfo_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; } nvmlProcessInfo_v1_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; unsigned int gpuInstanceId, computeInstanceId; } nvmlProcessInfo_v2_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; unsigned int gpuInstanceId, computeInstanceId; unsigned long long usedGpuCcProtectedMemory; } nvmlProcessDetail_v1_t;
typedef struct { unsigned int version, mode, numProcArrayEntries; nvmlProcessDetail_v1_t *procArray; } nvmlProcessDetailList_v1_t;
typedef struct { nvmlDevice_t device; unsigned long long eventType, eventData; unsigned int gpuInstanceId, computeInstanceId; } nvmlEventData_t;
typedef struct { unsigned int pid; unsigned long long timeStamp; unsigned int smUtil, memUtil, encUtil, decUtil; } nvmlProcessUtilizationSample_t;
typedef union { double dVal; int siVal; unsigned int uiVal; unsigned long ulVal; unsigned long long ullVal; signed long long sllVal; unsigned short usVal; } nvmlValue_t;
typedef struct { unsigned int fieldId, scopeId; long long timestamp, latencyUsec; unsigned int valueType; nvmlReturn_t nvmlReturn; nvmlValue_t value; } nvmlFieldValue_t;

_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t is 24 bytes");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40 && offsetof(nvmlMemory_v2_t, total) == 8 && offsetof(nvmlMemory_v2_t, reserved) == 16
               && offsetof(nvmlMemory_v2_t, free) == 24 && offsetof(nvmlMemory_v2_t, used) == 32, "nvmlMemory_v2_t per reference");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(nvmlPciInfo_t) == 68 && offsetof(nvmlPciInfo_t, domain) == 16 && offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16 && offsetof(nvmlProcessInfo_v1_t, usedGpuMemory) == 8, "v1 process struct");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24 && offsetof(nvmlProcessInfo_v2_t, gpuInstanceId) == 16 && offsetof(nvmlProcessInfo_v2_t, computeInstanceId) == 20, "v2 process struct");
_Static_assert(sizeof(nvmlProcessDetail_v1_t) == 32 && offsetof(nvmlProcessDetail_v1_t, usedGpuCcProtectedMemory) == 24, "CC / detail struct");
_Static_assert(sizeof(nvmlProcessDetailList_v1_t) == 24 && offsetof(nvmlProcessDetailList_v1_t, procArray) == 16, "detail list");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32 && offsetof(nvmlProcessUtilizationSample_t, timeStamp) == 8
               && offsetof(nvmlProcessUtilizationSample_t, smUtil) == 16 && offsetof(nvmlProcessUtilizationSample_t, memUtil) == 20
               && offsetof(nvmlProcessUtilizationSample_t, encUtil) == 24 && offsetof(nvmlProcessUtilizationSample_t, decUtil) == 28, "process utilization sample");
_Static_assert(sizeof(nvmlEventData_t) == 32 && offsetof(nvmlEventData_t, eventData) == 16 && offsetof(nvmlEventData_t, gpuInstanceId) == 24, "event data");
_Static_assert(sizeof(nvmlValue_t) == 8, "nvmlValue_t is an 8-byte union");
_Static_assert(sizeof(nvmlFieldValue_t) == 40 && offsetof(nvmlFieldValue_t, scopeId) == 4 && offsetof(nvmlFieldValue_t, timestamp) == 8
               && offsetof(nvmlFieldValue_t, latencyUsec) == 16 && offsetof(nvmlFieldValue_t, valueType) == 24
               && offsetof(nvmlFieldValue_t, nvmlReturn) == 28 && offsetof(nvmlFieldValue_t, value) == 32, "nvmlFieldValue_t per reference");

#define NVML_MEMORY_V2 0x02000028u
#define NVML_PROCESS_DETAIL_LIST_V1 0x01000018u

/* ---- fake state ---- */
#define MAXG 64
#define MAXP 64
struct fake_device { int index; unsigned long long tick; int lost; unsigned long long lost_calls; int recovered; };
struct fake_eventset { int used; };
static struct fake_device devs[MAXG];
static struct fake_eventset the_set;
static int ngpu = 2, initialized = 0, lost_index = -1, mig_index = -1, xid_index = -1, xid_value = 0, xid_sent = 0;
static unsigned long long lost_after = 0, hang_after = 0, temp_calls = 0, recover_after = 0;
static unsigned long long throttle[MAXG];
static int pcie_sleep_ms = 0;
static char gpus_file[512];
static char names[MAXG][96];
static char unsupported[512], noperm[512];
struct fake_proc { int gpu; unsigned pid; unsigned long long mem; int graphics; unsigned sm, memutil; };
static struct fake_proc procs[MAXP];
static int nprocs = 0;
static char procs_file[512];
static long long procs_file_mtime = -1;

/* "i:pid:mib[:k[:sm[:mem]]]" entries separated by commas or newlines. */
static void parse_procs(char *buf) {
  char *save = NULL, *tok;
  nprocs = 0;
  for (tok = strtok_r(buf, ",\n", &save); tok && nprocs < MAXP; tok = strtok_r(NULL, ",\n", &save)) {
    int g; unsigned pid, sm = 0, mu = 0; unsigned long long mib; char kind = 'c';
    if (sscanf(tok, "%d:%u:%llu:%c:%u:%u", &g, &pid, &mib, &kind, &sm, &mu) >= 3) procs[nprocs++] = (struct fake_proc){ g, pid, mib << 20, kind == 'g', sm, mu };
  }
}
/* FAKE_NVML_PROCS_FILE: re-read when its mtime changes; a missing file is an empty list. */
static void refresh_procs(void) {
  if (!procs_file[0]) return;
  struct stat st;
  long long m = stat(procs_file, &st) == 0 ? (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : -2;
  if (m == procs_file_mtime) return;
  procs_file_mtime = m;
  char buf[4096] = "";
  FILE *f = m == -2 ? NULL : fopen(procs_file, "r");
  if (f) { size_t n = fread(buf, 1, sizeof buf - 1, f); buf[n] = 0; fclose(f); }
  parse_procs(buf);
}
static unsigned calls_fan = 0, calls_util = 0, calls_pcie = 0;

static int has(const char *list, const char *f) {
  size_t n = strlen(f);
  for (const char *p = list; (p = strstr(p, f)); p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}
/* NOT_SUPPORTED / NO_PERMISSION / GPU_IS_LOST for a field, or OK. */
static nvmlReturn_t gate(nvmlDevice_t d, const char *field) {
  if (!initialized) return ERR_UNINIT;
  if (!d || d->index < 0 || d->index >= ngpu) return ERR_INVALID;
  if (d->lost) {
    if (recover_after && ++d->lost_calls > recover_after) { d->lost = 0; d->recovered = 1; }
    else return ERR_GPU_IS_LOST;
  }
  if (has(unsupported, field)) return ERR_NOT_SUPPORTED;
  if (has(noperm, field)) return ERR_NO_PERMISSION;
  return OK;
}
static void envcopy(char *dst, size_t n, const char *name) { const char *v = getenv(name); snprintf(dst, n, "%s", v ? v : ""); }

unsigned int fake_nvml_count(const char *fn) {
  if (!strcmp(fn, "fan")) return calls_fan;
  if (!strcmp(fn, "util")) return calls_util;
  if (!strcmp(fn, "pcie")) return calls_pcie;
  return 0;
}

static nvmlReturn_t do_init(void) {
  const char *v;
  if ((v = getenv("FAKE_NVML_INIT_FAIL")) && *v) return atoi(v);
  ngpu = (v = getenv("FAKE_NVML_GPUS")) ? atoi(v) : 2;
  if (ngpu < 0) ngpu = 0;
  if (ngpu > MAXG) ngpu = MAXG;
  char buf[2048];
  envcopy(buf, sizeof buf, "FAKE_NVML_NAMES");
  char *save = NULL, *tok = strtok_r(buf, ",", &save);
  char last[96] = "NVIDIA H100 80GB HBM3";
  /* Every slot gets a name, so a device that appears later (FAKE_NVML_GPUS_FILE) has one too. */
  for (int i = 0; i < MAXG; i++) {
    if (tok) { snprintf(last, sizeof last, "%s", tok); tok = strtok_r(NULL, ",", &save); }
    snprintf(names[i], sizeof names[i], "%s", last);
    devs[i].index = i; devs[i].tick = 0; devs[i].lost = 0; devs[i].lost_calls = 0; devs[i].recovered = 0; throttle[i] = 0;
  }
  envcopy(unsupported, sizeof unsupported, "FAKE_NVML_UNSUPPORTED");
  envcopy(noperm, sizeof noperm, "FAKE_NVML_NO_PERMISSION");
  if ((v = getenv("FAKE_NVML_LOST")) && *v) sscanf(v, "%d:%llu", &lost_index, &lost_after);
  if ((v = getenv("FAKE_NVML_HANG_AFTER")) && *v) hang_after = strtoull(v, NULL, 10);
  if ((v = getenv("FAKE_NVML_RECOVER_AFTER")) && *v) recover_after = strtoull(v, NULL, 10);
  if ((v = getenv("FAKE_NVML_MIG")) && *v) mig_index = atoi(v);
  if ((v = getenv("FAKE_NVML_XID")) && *v) sscanf(v, "%d:%d", &xid_index, &xid_value);
  if ((v = getenv("FAKE_NVML_PCIE_SLEEP_MS")) && *v) pcie_sleep_ms = atoi(v);
  if ((v = getenv("FAKE_NVML_THROTTLE")) && *v) { int i; unsigned long long m; if (sscanf(v, "%d:%lli", &i, &m) == 2 && i >= 0 && i < MAXG) throttle[i] = m; }
  envcopy(gpus_file, sizeof gpus_file, "FAKE_NVML_GPUS_FILE");
  envcopy(buf, sizeof buf, "FAKE_NVML_PROCS");
  parse_procs(buf);
  envcopy(procs_file, sizeof procs_file, "FAKE_NVML_PROCS_FILE");
  procs_file_mtime = -1;
  refresh_procs();
  initialized = 1;
  return OK;
}

nvmlReturn_t nvmlInit_v2(void) { return do_init(); }
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) { (void)flags; return do_init(); }
nvmlReturn_t nvmlShutdown(void) { initialized = 0; return OK; }
const char *nvmlErrorString(nvmlReturn_t r) {
  switch (r) { case OK: return "Success"; case ERR_NOT_SUPPORTED: return "Not Supported"; case ERR_NO_PERMISSION: return "Insufficient Permissions";
    case ERR_GPU_IS_LOST: return "GPU is lost"; case 9: return "Driver Not Loaded"; case ERR_FUNCTION_NOT_FOUND: return "Function Not Found"; default: return "Unknown Error"; }
}
nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) { snprintf(v, n, "%s", "550.54.15-fake"); return OK; }
nvmlReturn_t nvmlSystemGetNVMLVersion(char *v, unsigned int n) { snprintf(v, n, "%s", "12.550.54.15"); return OK; }
nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) { *v = 12040; return OK; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) {
  if (!initialized) return ERR_UNINIT;
  if (gpus_file[0]) {
    FILE *f = fopen(gpus_file, "r");
    int c;
    if (f) { if (fscanf(f, "%d", &c) == 1 && c >= ngpu && c <= MAXG) ngpu = c; fclose(f); }
  }
  *n = ngpu;
  return OK;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
  if (!initialized) return ERR_UNINIT;
  if (i >= (unsigned)ngpu) return ERR_INVALID;
  *d = &devs[i];
  return OK;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int n) { nvmlReturn_t r = gate(d, "name"); if (r) return r; snprintf(name, n, "%s", names[d->index]); return OK; }
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int n) {
  nvmlReturn_t r = gate(d, "uuid"); if (r) return r;
  snprintf(uuid, n, "GPU-%08x-0000-4000-8000-%012x", 0xfa4e0000u + d->index, 0xabc000u + d->index);
  return OK;
}
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p) {
  nvmlReturn_t r = gate(d, "pci"); if (r) return r;
  memset(p, 0, sizeof *p);
  p->domain = 0; p->bus = 0x17 + d->index; p->pciDeviceId = 0x233010de;
  snprintf(p->busId, sizeof p->busId, "%08X:%02X:%02X.0", 0, p->bus, 0);
  snprintf(p->busIdLegacy, sizeof p->busIdLegacy, "%04X:%02X:%02X.0", 0, p->bus, 0);
  return OK;
}

static const unsigned long long TOTAL = 85899345920ull, RESERVED = 536870912ull;
static unsigned long long used_of(nvmlDevice_t d) { return (unsigned long long)(TOTAL * (0.25 + 0.05 * d->index)) & ~0xFFFFFull; }

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  nvmlReturn_t r = gate(d, "mem"); if (r) return r;
  m->total = TOTAL; m->used = used_of(d) + RESERVED; m->free = TOTAL - m->used; /* v1 counts reserved as used */
  return OK;
}
#ifndef NO_V3
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m) {
  nvmlReturn_t r = gate(d, "mem"); if (r) return r;
  if (m->version != NVML_MEMORY_V2) return ERR_FUNCTION_NOT_FOUND; /* what real drivers answer to version = 2 */
  m->total = TOTAL; m->reserved = RESERVED; m->used = used_of(d); m->free = TOTAL - RESERVED - m->used;
  return OK;
}
#endif
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
  calls_util++;
  nvmlReturn_t r = gate(d, "util"); if (r) return r;
  if (d->index == mig_index) return ERR_NOT_SUPPORTED;
  d->tick++;
  if (d->index == lost_index && d->tick > lost_after && !d->recovered) { d->lost = 1; return ERR_GPU_IS_LOST; }
  u->gpu = (unsigned)((10 + d->index * 10 + d->tick * 7) % 101);
  u->memory = (unsigned)((5 + d->index * 3 + d->tick * 3) % 101);
  return OK;
}
nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t d, unsigned int *u, unsigned int *period) {
  nvmlReturn_t r = gate(d, "enc"); if (r) return r; if (d->index == mig_index) return ERR_NOT_SUPPORTED;
  *u = 0; *period = 167000; return OK;
}
nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t d, unsigned int *u, unsigned int *period) {
  nvmlReturn_t r = gate(d, "dec"); if (r) return r; if (d->index == mig_index) return ERR_NOT_SUPPORTED;
  *u = 5 + d->index; *period = 167000; return OK;
}
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t) {
  nvmlReturn_t r = gate(d, "temp"); if (r) return r;
  if (sensor != 0) return ERR_INVALID;
  if (hang_after && ++temp_calls == hang_after) sleep(3600);
  *t = 40 + d->index + (unsigned)(d->tick % 10); return OK;
}
nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t d, unsigned int *s) { calls_fan++; nvmlReturn_t r = gate(d, "fan"); if (r) return r; *s = 30 + d->index; return OK; }
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) { nvmlReturn_t r = gate(d, "power"); if (r) return r; *mw = 250000 + d->index * 10000 + (unsigned)(d->tick % 50) * 1000; return OK; }
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *mw) { nvmlReturn_t r = gate(d, "limit"); if (r) return r; *mw = 700000; return OK; }
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj) { nvmlReturn_t r = gate(d, "energy"); if (r) return r; *mj = 1000000000ull + d->tick * 250000ull; return OK; }
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *mhz) {
  nvmlReturn_t r = gate(d, "clocks"); if (r) return r;
  if (type == 1) *mhz = 1980; else if (type == 2) *mhz = 2619; else if (type == 0) *mhz = 1980; else *mhz = 1755;
  return OK;
}
nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t d, int *p) { nvmlReturn_t r = gate(d, "pstate"); if (r) return r; *p = 0; return OK; }
static nvmlReturn_t reasons(nvmlDevice_t d, unsigned long long *m) { nvmlReturn_t r = gate(d, "throttle"); if (r) return r; *m = throttle[d->index]; return OK; }
#ifndef NO_V3
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *m) { return reasons(d, m); }
#endif
nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *m) { return reasons(d, m); }
nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t d, int counter, unsigned int *kbs) {
  calls_pcie++;
  nvmlReturn_t r = gate(d, "pcie"); if (r) return r;
  if (pcie_sleep_ms) usleep(pcie_sleep_ms * 1000);
  *kbs = counter == 0 ? 1000 + d->index : 2000 + d->index; /* TX=0, RX=1, KB/s */
  return OK;
}
nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *cur, unsigned int *pend) {
  nvmlReturn_t r = gate(d, "mig"); if (r) return r; *cur = *pend = d->index == mig_index; return OK;
}
/* Volatile (counter 0): corrected = index, uncorrected 0. Aggregate (counter 1): corrected 100 + index, uncorrected index. */
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, int type, int counter, unsigned long long *n) {
  nvmlReturn_t r = gate(d, "ecc"); if (r) return r;
  if (counter == 1) *n = type == 0 ? 100ull + (unsigned long long)d->index : (unsigned long long)d->index;
  else *n = type == 0 ? (unsigned long long)d->index : 0;
  return OK;
}
nvmlReturn_t nvmlDeviceGetPcieReplayCounter(nvmlDevice_t d, unsigned int *v) { nvmlReturn_t r = gate(d, "replay"); if (r) return r; *v = 3 + d->index; return OK; }
nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t d, unsigned int *corr, unsigned int *unc, unsigned int *pending, unsigned int *failure) {
  nvmlReturn_t r = gate(d, "remap"); if (r) return r;
  *corr = (unsigned)d->index; *unc = 0; *pending = 0; *failure = 0; return OK;
}
/* Field values: only NVML_FI_DEV_MEMORY_TEMP (82) is known; the call succeeds and each entry carries its own return. */
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count, nvmlFieldValue_t *values) {
  nvmlReturn_t r = gate(d, "fields"); if (r) return r;
  for (int k = 0; k < count; k++) {
    nvmlFieldValue_t *v = &values[k];
    v->timestamp = 0; v->latencyUsec = 0;
    if (v->fieldId == 82 && !has(unsupported, "memtemp")) { v->valueType = 1; v->value.uiVal = 50 + (unsigned)d->index; v->nvmlReturn = OK; }
    else v->nvmlReturn = ERR_NOT_SUPPORTED;
  }
  return OK;
}

/* Processes: one writer parameterised by the caller's stride, as each symbol version implies. */
static nvmlReturn_t list_procs(nvmlDevice_t d, unsigned int *count, void *infos, size_t stride, int graphics) {
  nvmlReturn_t r = gate(d, "procs"); if (r) return r;
  refresh_procs();
  unsigned n = 0;
  for (int i = 0; i < nprocs; i++) if (procs[i].gpu == d->index && procs[i].graphics == graphics) n++;
  if (*count < n) { *count = n; return n ? ERR_INSUFFICIENT_SIZE : OK; }
  unsigned k = 0;
  for (int i = 0; i < nprocs; i++) {
    if (procs[i].gpu != d->index || procs[i].graphics != graphics) continue;
    unsigned char *e = (unsigned char *)infos + k++ * stride;
    memset(e, 0, stride);
    if (stride == sizeof(nvmlProcessInfo_v1_t)) { nvmlProcessInfo_v1_t *p = (void *)e; p->pid = procs[i].pid; p->usedGpuMemory = procs[i].mem; }
    else { nvmlProcessInfo_v2_t *p = (void *)e; p->pid = procs[i].pid; p->usedGpuMemory = procs[i].mem; p->gpuInstanceId = p->computeInstanceId = 0xFFFFFFFFu; }
  }
  *count = n;
  return OK;
}
#ifdef CC535
#define V3_STRIDE sizeof(nvmlProcessDetail_v1_t)
nvmlReturn_t nvmlDeviceGetConfComputeMemSizeInfo(nvmlDevice_t d, void *info) { (void)d; (void)info; return ERR_NOT_SUPPORTED; }
#else
#define V3_STRIDE sizeof(nvmlProcessInfo_v2_t)
#endif
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned int *c, nvmlProcessInfo_v1_t *p) { return list_procs(d, c, p, sizeof *p, 0); }
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int *c, nvmlProcessInfo_v2_t *p) { return list_procs(d, c, p, sizeof *p, 0); }
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t d, unsigned int *c, nvmlProcessInfo_v2_t *p) { return list_procs(d, c, p, sizeof *p, 1); }
#ifndef NO_V3
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *c, void *p) { return list_procs(d, c, p, V3_STRIDE, 0); }
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int *c, void *p) { return list_procs(d, c, p, V3_STRIDE, 1); }
#endif
#ifdef HAS_DETAIL
nvmlReturn_t nvmlDeviceGetRunningProcessDetailList(nvmlDevice_t d, nvmlProcessDetailList_v1_t *l) {
  if (l->version != NVML_PROCESS_DETAIL_LIST_V1) return 25; /* ARGUMENT_VERSION_MISMATCH */
  return list_procs(d, &l->numProcArrayEntries, l->procArray, sizeof(nvmlProcessDetail_v1_t), l->mode == 1);
}
#endif

/* Per-process utilization: one sample per process with non-zero utilization, stamped now (CPU µs);
 * NOT_FOUND when none is newer than lastSeen, as the real driver answers. */
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d, nvmlProcessUtilizationSample_t *u, unsigned int *count, unsigned long long lastSeen) {
  nvmlReturn_t r = gate(d, "putil"); if (r) return r;
  if (!count) return ERR_INVALID;
  if (d->index == mig_index) return ERR_NOT_SUPPORTED;
  refresh_procs();
  struct timeval tv; gettimeofday(&tv, NULL);
  unsigned long long now = (unsigned long long)tv.tv_sec * 1000000ull + (unsigned long long)tv.tv_usec;
  unsigned n = 0;
  for (int i = 0; i < nprocs; i++) if (procs[i].gpu == d->index && (procs[i].sm || procs[i].memutil)) n++;
  if (!n || lastSeen >= now) { *count = 0; return ERR_NOT_FOUND; }
  if (!u || *count < n) { *count = n; return ERR_INSUFFICIENT_SIZE; }
  unsigned k = 0;
  for (int i = 0; i < nprocs; i++) {
    if (procs[i].gpu != d->index || !(procs[i].sm || procs[i].memutil)) continue;
    u[k++] = (nvmlProcessUtilizationSample_t){ procs[i].pid, now, procs[i].sm, procs[i].memutil, 0, 0 };
  }
  *count = n;
  return OK;
}

/* Events: XID critical errors. */
nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *s) { if (!initialized) return ERR_UNINIT; the_set.used = 1; *s = &the_set; return OK; }
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t s) { nvmlReturn_t r = gate(d, "events"); (void)types; (void)s; return r; }
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t s, nvmlEventData_t *e, unsigned int timeoutms) {
  (void)s;
  if (xid_index >= 0 && xid_index < ngpu && !xid_sent) {
    xid_sent = 1;
    memset(e, 0, sizeof *e);
    e->device = &devs[xid_index]; e->eventType = 0x8; e->eventData = (unsigned long long)xid_value;
    e->gpuInstanceId = e->computeInstanceId = 0xFFFFFFFFu;
    return OK;
  }
  if (timeoutms) usleep(timeoutms * 1000);
  return ERR_TIMEOUT;
}
nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t s) { (void)s; return OK; }
