// A progress bar per epoch (cli-progress): batches done, running loss and accuracy, images/s,
// ETA for the epoch and for the whole phase. Off a TTY (nohup logs) it prints a line every 15 s.
import cliProgress from 'cli-progress';

export interface EpochProgress {
  update(batch: number, stats: { loss: number; acc: number; imagesPerSec: number; phaseEtaSec: number }): void;
  stop(): void;
}

function clock(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function epochProgress(label: string, total: number, start: number, enabled: boolean): EpochProgress {
  if (!enabled) return { update() { /* quiet */ }, stop() { /* quiet */ } };
  const bar = new cliProgress.SingleBar({
    format: `${label} |{bar}| {value}/{total} | loss {loss} acc {acc}% | {ips} img/s | ETA {eta_formatted} (phase {phaseEta})`,
    barsize: 24,
    hideCursor: false,
    noTTYOutput: true,
    notTTYSchedule: 15_000,
    etaBuffer: 50,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, start, { loss: '-.----', acc: '--.--', ips: '-', phaseEta: '--:--' });
  return {
    update(batch, s) {
      bar.update(batch, { loss: s.loss.toFixed(4), acc: (100 * s.acc).toFixed(2), ips: Math.round(s.imagesPerSec), phaseEta: clock(s.phaseEtaSec) });
    },
    stop() {
      bar.stop();
    },
  };
}
