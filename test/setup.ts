/** Preloaded by bun test: builds the fake libnvidia-ml variants once with the system C compiler. */
import { fakeNvml } from './helpers.ts';

for (const v of ['default', 'no_v3', 'cc535', 'detail'] as const) fakeNvml(v);
