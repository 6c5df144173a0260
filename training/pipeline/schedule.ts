// Learning-rate schedules, a pure function of the step (the engine takes lr as a graph input, so
// a schedule needs no new graph and resumes exactly from the step count).
export interface ScheduleConfig {
  kind: 'one-cycle' | 'cosine' | 'constant';
  /** fraction of all steps spent warming up linearly */
  warmupFraction: number;
  /** lr at the last step, as a fraction of maxLr */
  finalLrFraction: number;
}

/** one-cycle starts warm-up at maxLr / 25 (Smith & Topin's default div factor); cosine starts at 0. */
const ONE_CYCLE_START = 1 / 25;

/** Learning rate for optimizer step `step` (0-based) out of `total` steps. */
export function lrAt(step: number, total: number, maxLr: number, s: ScheduleConfig): number {
  if (total <= 0) throw new Error('schedule: total steps must be positive');
  const t = Math.min(Math.max(step, 0), total - 1);
  if (s.kind === 'constant') return maxLr;
  const warm = Math.floor(s.warmupFraction * total);
  const final = maxLr * s.finalLrFraction;
  if (t < warm) {
    const start = s.kind === 'one-cycle' ? maxLr * ONE_CYCLE_START : 0;
    return start + (maxLr - start) * ((t + 1) / warm);
  }
  const rest = total - warm;
  const p = rest <= 1 ? 1 : (t - warm) / (rest - 1);
  return final + (maxLr - final) * 0.5 * (1 + Math.cos(Math.PI * p));
}
