#!/usr/bin/env bash
# GPU smoke test for a machine with a real NVIDIA GPU: gpulse's NVML readings against nvidia-smi's.
#
#   scripts/gpu-smoke.sh                  # dist/gpulse if built, else `npx bun cli/main.ts`
#   scripts/gpu-smoke.sh /usr/local/bin/gpulse
#
# 1. `gpulse snapshot --json` next to one `nvidia-smi --query-gpu=… --format=csv` reading;
# 2. a 60 s `/v1/stream` from `gpulse serve` next to `nvidia-smi … -lms 1000` over the same minute.
# Exit 0 when every comparison is within tolerance, 1 otherwise (each miss is printed), 2 when this
# machine cannot run it (no nvidia-smi, no python3, gpulse not found).
#
# Tolerances. The two tools never read at the same instant and sample on their own schedules
# (NVML's utilization covers 1/6 s to 1 s, power on Ampere+ is a 1 s average), so live values get
# a margin; identities must match exactly.
#   name, UUID                       exact
#   memory.total                     ±1 MiB
#   memory.used                      ±max(256 MiB, 2 %) snapshot; minute means ±max(128 MiB, 2 %)
#   temperature.gpu                  ±3 °C snapshot; minute means ±2 °C
#   power.draw                       ±max(15 W, 10 %) snapshot; minute means ±max(10 W, 5 %)
#   power.limit                      ±1 W (gpulse reports the enforced limit; they agree unless a limiter is active)
#   clocks.sm                        ±max(100 MHz, 10 %) snapshot; minute means ±max(60 MHz, 5 %)
#   clocks.mem                       ±max(100 MHz, 5 %)
#   utilization.gpu                  ±25 points snapshot; minute means ±10 points
#   fan.speed                        ±5 points, or unsupported in both
#   stream                           ≥ 90 % of the expected samples, no gap over 3 intervals, and
#                                    no null in a column that nvidia-smi reports for that GPU
#
# Environment: GPULSE_SMOKE_SECONDS (60), GPULSE_SMOKE_GPU (nvml: the provider under test),
# NVIDIA_SMI (nvidia-smi: the reference command).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${GPULSE_SMOKE_SECONDS:-60}
GPU=${GPULSE_SMOKE_GPU:-nvml}
SMI=${NVIDIA_SMI:-nvidia-smi}
if [ $# -gt 0 ]; then GPULSE=("$@"); elif [ -x dist/gpulse ]; then GPULSE=(dist/gpulse); else GPULSE=(npx bun cli/main.ts); fi

command -v "$SMI" >/dev/null || { echo "gpu-smoke: $SMI not found: run this on a machine with an NVIDIA GPU and its driver"; exit 2; }
command -v python3 >/dev/null || { echo "gpu-smoke: python3 is needed to compare the readings"; exit 2; }
"${GPULSE[@]}" --version >/dev/null 2>&1 || { echo "gpu-smoke: cannot run ${GPULSE[*]}"; exit 2; }

FIELDS=index,uuid,name,memory.total,memory.used,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem,utilization.gpu,fan.speed
tmp=$(mktemp -d)
agent=""; loop=""
# The agent and the nvidia-smi loop run in sessions of their own (setsid), so stopping one stops
# what it started too (npx's bun, a wrapper's pipeline) and nothing is left holding our output.
# (setsid directly under `&`: a background job is no group leader, so setsid execs in place and
# $! is the new session's id.)
SETSID=(); command -v setsid >/dev/null && SETSID=(setsid)
stop() { [ -n "$1" ] || return 0; kill -- "-$1" 2>/dev/null || kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() { stop "$agent"; stop "$loop"; rm -rf "$tmp"; }
trap cleanup EXIT

echo "gpu-smoke: ${GPULSE[*]} (provider $GPU) against $SMI, stream ${SECS}s"
"${GPULSE[@]}" snapshot --json --gpu "$GPU" --ollama off > "$tmp/snap.json"
"$SMI" --query-gpu="$FIELDS" --format=csv,noheader,nounits > "$tmp/smi.csv"

token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
GPULSE_TOKEN=$token HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" "${SETSID[@]}" "${GPULSE[@]}" serve --bind 127.0.0.1 --port 0 --no-persist \
  --interval 1s --gpu "$GPU" --ollama off 2> "$tmp/agent.err" &
agent=$!
url=""
for _ in $(seq 1 150); do
  url=$(grep -oE 'serving https?://[^/ ]+' "$tmp/agent.err" | head -1 | cut -d' ' -f2) || true
  [ -n "$url" ] && break
  kill -0 "$agent" 2>/dev/null || { echo "gpu-smoke: the agent exited:"; cat "$tmp/agent.err"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "gpu-smoke: the agent did not start:"; cat "$tmp/agent.err"; exit 1; }
url="http://127.0.0.1:${url##*:}"

"${SETSID[@]}" "$SMI" --query-gpu="$FIELDS" --format=csv,noheader,nounits -lms 1000 > "$tmp/smi-loop.csv" 2>/dev/null &
loop=$!
SECS=$SECS URL=$url TOKEN=$token python3 - "$tmp" <<'PY'
import json, os, sys, time, urllib.request
tmp = sys.argv[1]
req = urllib.request.Request(os.environ['URL'] + '/v1/stream', headers={'Authorization': 'Bearer ' + os.environ['TOKEN']})
end = time.time() + float(os.environ['SECS'])
with urllib.request.urlopen(req, timeout=10) as r, open(tmp + '/stream.txt', 'wb') as out:
    while time.time() < end:
        line = r.readline()
        if not line: break
        out.write(line)
PY
stop "$loop"; loop=""
stop "$agent"; agent=""

python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
MiB = 1048576
FIELDS = 'index,uuid,name,memory.total,memory.used,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem,utilization.gpu,fan.speed'.split(',')

def num(s):
    s = s.strip()
    try: return float(s)
    except ValueError: return None  # [N/A], [Not Supported], …

def smi_rows(path):
    rows = []
    for line in open(path):
        parts = [p.strip() for p in line.rstrip('\n').split(', ')]
        if len(parts) == len(FIELDS): rows.append(dict(zip(FIELDS, parts)))
    return rows

fails, checks = [], 0
def near(what, ours, ref, tol):
    global checks
    checks += 1
    if ref is None and ours is None: return
    if ref is None or ours is None:
        fails.append(f'{what}: gpulse {ours} vs nvidia-smi {ref} (one of them has no value)'); return
    if abs(ours - ref) > tol:
        fails.append(f'{what}: gpulse {ours:.2f} vs nvidia-smi {ref:.2f} (tolerance ±{tol:.2f})')
def same(what, ours, ref):
    global checks
    checks += 1
    if ours != ref: fails.append(f'{what}: gpulse {ours!r} vs nvidia-smi {ref!r}')

# --- 1. snapshot ---
snap = json.load(open(tmp + '/snap.json'))
ref = {r['uuid']: r for r in smi_rows(tmp + '/smi.csv')}
same('GPU count', len(snap['gpus']), len(ref))
for g in snap['gpus']:
    r = ref.get(g['uuid'])
    tag = f"GPU {g['index']} snapshot"
    if not r: fails.append(f"{tag}: UUID {g['uuid']} not listed by nvidia-smi"); continue
    same(f'{tag} name', g['name'], r['name'])
    mb = lambda b: None if b is None else b / MiB
    near(f'{tag} memory.total MiB', mb(g['mem_total']), num(r['memory.total']), 1)
    used = num(r['memory.used'])
    near(f'{tag} memory.used MiB', mb(g['mem_used']), used, max(256, 0.02 * (used or 0)))
    near(f'{tag} temperature °C', g['temp_c'], num(r['temperature.gpu']), 3)
    p = num(r['power.draw'])
    near(f'{tag} power.draw W', g['power_w'], p, max(15, 0.10 * (p or 0)))
    near(f'{tag} power.limit W', g['power_limit_w'], num(r['power.limit']), 1)
    sm = num(r['clocks.sm'])
    near(f'{tag} clocks.sm MHz', g['clock_sm_mhz'], sm, max(100, 0.10 * (sm or 0)))
    mem = num(r['clocks.mem'])
    near(f'{tag} clocks.mem MHz', g['clock_mem_mhz'], mem, max(100, 0.05 * (mem or 0)))
    near(f'{tag} utilization.gpu %', g['util'], num(r['utilization.gpu']), 25)
    near(f'{tag} fan.speed %', g['fan_pct'], num(r['fan.speed']), 5)

# --- 2. one minute of stream against nvidia-smi's loop ---
schema, frames = None, []
event = None
for line in open(tmp + '/stream.txt', encoding='utf-8'):
    line = line.rstrip('\n')
    if line.startswith('event: '): event = line[7:]
    elif line.startswith('data: '):
        if event == 'schema': schema = json.loads(line[6:])
        elif event == 'sample': frames.append(json.loads(line[6:]))
if not schema: fails.append('stream: no schema event')
else:
    keys = [s['key'] for s in schema['series']]
    iv = schema['interval_ms']
    loop = smi_rows(tmp + '/smi-loop.csv')
    span = (frames[-1][0] - frames[0][0]) if len(frames) > 1 else 0
    expected = span / iv + 1
    checks += 1
    if len(frames) < 2 or len(frames) < 0.9 * expected: fails.append(f'stream: {len(frames)} samples over {span/1000:.0f}s (expected about {expected:.0f})')
    gaps = [b[0] - a[0] for a, b in zip(frames, frames[1:])]
    checks += 1
    if gaps and max(gaps) > 3 * iv: fails.append(f'stream: a gap of {max(gaps)/1000:.1f}s between samples')
    def col(key):
        i = keys.index(key) + 1 if key in keys else None
        return [f[i] for f in frames] if i else []
    def mean(xs):
        xs = [x for x in xs if x is not None]
        return sum(xs) / len(xs) if xs else None
    for d in schema['devices']:
        rows = [r for r in loop if r['uuid'] == d['uuid']]
        tag = f"GPU {d['index']} minute"
        if not rows: fails.append(f'{tag}: nvidia-smi -lms gave no rows'); continue
        ref_mean = lambda f: mean([num(r[f]) for r in rows])
        pre = f"gpu{d['index']}."
        for key, field in [('mem.used', 'memory.used'), ('temp', 'temperature.gpu'), ('power', 'power.draw'), ('clock.sm', 'clocks.sm'), ('util', 'utilization.gpu'), ('fan', 'fan.speed')]:
            if ref_mean(field) is None: continue
            nulls = sum(1 for x in col(pre + key) if x is None)
            checks += 1
            if nulls: fails.append(f'{tag} {key}: {nulls} null values while nvidia-smi reports {field}')
        u = ref_mean('memory.used')
        ours = mean(col(pre + 'mem.used'))
        near(f'{tag} mean memory.used MiB', None if ours is None else ours / MiB, u, max(128, 0.02 * (u or 0)))
        near(f'{tag} mean temperature °C', mean(col(pre + 'temp')), ref_mean('temperature.gpu'), 2)
        p = ref_mean('power.draw')
        near(f'{tag} mean power.draw W', mean(col(pre + 'power')), p, max(10, 0.05 * (p or 0)))
        sm = ref_mean('clocks.sm')
        near(f'{tag} mean clocks.sm MHz', mean(col(pre + 'clock.sm')), sm, max(60, 0.05 * (sm or 0)))
        near(f'{tag} mean utilization.gpu %', mean(col(pre + 'util')), ref_mean('utilization.gpu'), 10)

print(f'gpu-smoke: {checks} comparisons, {len(fails)} outside tolerance')
for f in fails: print('  FAIL ' + f)
print('gpu-smoke: PASS' if not fails else 'gpu-smoke: FAIL')
sys.exit(1 if fails else 0)
PY
