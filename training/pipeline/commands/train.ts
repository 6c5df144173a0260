// `pretrain` and `finetune`: one training phase, its checkpoint and its report.
import { join } from 'node:path';
import { trainPhase } from '../train-loop.js';
import { writeReport } from '../report/write.js';
import { commandLine, config, int, intList, num, runName, StopSignal, type CommonOptions } from './common.js';
import type { Phase } from '../run-state.js';

export interface TrainCommandOptions extends CommonOptions {
  run?: string;
  data?: string;
  epochs?: string;
  lr?: string;
  subset?: string;
  valSize?: string;
  resume?: boolean;
  from?: string;
  freezeBackbone?: boolean;
  saveEpochs?: string;
}

export async function trainCommand(phase: Phase, o: TrainCommandOptions): Promise<number> {
  const cfg = config(o);
  const run = runName('run', o.run) ?? `${cfg.name}-${phase}`;
  const stop = new StopSignal();
  const t0 = performance.now();
  try {
    const r = await trainPhase({
      run, phase, config: cfg, data: o.data, dataDir: o.dataDir, epochs: int('epochs', o.epochs, 1), maxLr: num('lr', o.lr),
      seed: int('seed', o.seed)!, threads: int('threads', o.threads, 1), freezeBackbone: o.freezeBackbone, from: o.from,
      resume: o.resume, subset: int('subset', o.subset, 1), valSize: int('val-size', o.valSize), saveEpochs: intList('save-epochs', o.saveEpochs),
      checkpointRoot: o.checkpoints, progress: o.progress, shouldStop: stop.check,
    });
    await r.trainer.dispose();
    if (r.status === 'interrupted') return 130;
    const dir = join(o.reports, run);
    await writeReport(dir, { run, title: `${run}: ${phase} of ${cfg.name}`, phases: [r.meta], command: commandLine(), wallSeconds: (performance.now() - t0) / 1000 });
    const last = r.meta.history.at(-1);
    console.log(`${run}: done, ${r.meta.epoch} epochs, val acc ${last?.valAcc != null ? (100 * last.valAcc).toFixed(2) + ' %' : '–'}; checkpoint ${r.checkpoint}; report ${dir}/`);
    return 0;
  } finally {
    stop.dispose();
  }
}
