/** Replaced at build time by scripts/build-bin.ts (--define); the package version otherwise. */
declare const GPULSE_VERSION: string | undefined;
export const VERSION: string = typeof GPULSE_VERSION === 'string' ? GPULSE_VERSION : '0.1.0';
