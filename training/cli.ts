// `npm run train -- <command>`: the training pipeline's command line.
//   summary      per-layer shapes, receptive fields, params, MACs vs a standard-conv twin
//   pretrain     train on Fashion-MNIST (or --data)            -> checkpoints/<run>/last.ckpt
//   finetune     --from CKPT, train on MNIST or a folder        -> checkpoints/<run>/last.ckpt
//   evaluate     --model FILE (.onnx or .ckpt) on a test set    -> reports/<...>/
//   export       --from CKPT -> models/*.onnx + .card.json
//   pipeline     pretrain -> finetune -> export -> evaluate     -> models/, reports/<run>/
//   augment-grid a PNG grid of augmented samples
//   ablation     conv | pretrain (README ablation tables)
import { Command } from 'commander';
import { IdxError, DatasetNotFoundError, FolderDatasetError } from './data/index.js';
import { ConfigError } from './model/config.js';
import { CheckpointError } from './pipeline/checkpoint.js';
import { ModelFileError } from './pipeline/onnx-file.js';
import { UsageError } from './pipeline/commands/common.js';
import { trainCommand } from './pipeline/commands/train.js';
import { evaluateCommand, exportCommand } from './pipeline/commands/evaluate.js';
import { pipelineCommand } from './pipeline/commands/pipeline.js';
import { augmentGridCommand, summaryCommand } from './pipeline/commands/misc.js';
import { ablationConvCommand, ablationPretrainCommand } from './pipeline/commands/ablation.js';

const program = new Command('train')
  .description('onnx-digits training pipeline (TypeScript autodiff over ONNX, run by onnxruntime)')
  .showHelpAfterError();

function common(cmd: Command): Command {
  return cmd
    .option('--config <name|file>', 'run config: a name in training/model/configs/ or a YAML path', 'default')
    .option('--seed <n>', 'seed for split, shuffles, augmentation and init', '1')
    .option('--threads <n>', 'onnxruntime intra-op threads', '2')
    .option('--data-dir <dir>', 'directory holding the IDX files (instead of the default location)')
    .option('--checkpoints <dir>', 'checkpoint root', 'checkpoints')
    .option('--reports <dir>', 'report root', 'reports')
    .option('--no-progress', 'no progress bar');
}

function training(cmd: Command): Command {
  return common(cmd)
    .option('--run <name>', 'run name (checkpoints/<run>/, reports/<run>/)')
    .option('--epochs <n>', "epochs (default: the config's)")
    .option('--lr <x>', "max learning rate (default: the config's)")
    .option('--subset <n>', 'train on a seeded subset of n images')
    .option('--val-size <n>', "validation images carved from train (default: the config's)")
    .option('--save-epochs <list>', 'also keep checkpoints of these epochs, e.g. 1,3')
    .option('--resume', 'continue the run from checkpoints/<run>/last.ckpt');
}

type Handler = (opts: never) => number | Promise<number>;
const run = (fn: Handler) => async (opts: unknown) => {
  process.exitCode = await fn(opts as never);
};

common(program.command('summary').description('per-layer output shape, receptive field, params and MACs, next to a standard-conv network of the same shape'))
  .option('--json', 'machine-readable output')
  .action(run(summaryCommand));

training(program.command('pretrain').description('train from scratch (default data: Fashion-MNIST)'))
  .option('--data <spec>', "mnist | fashion | DIR/<digit>/*.png (default: the config's pretrain data)")
  .action(run((o) => trainCommand('pretrain', o)));

training(program.command('finetune').description('train starting from a checkpoint (default data: MNIST)'))
  .requiredOption('--from <ckpt>', 'checkpoint to start from (e.g. checkpoints/default-pretrain/last.ckpt)')
  .option('--data <spec>', "mnist | fashion | DIR/<digit>/*.png (default: the config's finetune data)")
  .option('--freeze-backbone', 'train only the classifier head')
  .action(run((o) => trainCommand('finetune', o)));

common(program.command('evaluate').description('score a model on a held-out test set and write a report'))
  .requiredOption('--model <file>', 'an exported .onnx or a .ckpt')
  .option('--data <spec>', 'mnist (test split) | fashion (test split) | DIR/<digit>/*.png', 'mnist')
  .option('--report <dir>', 'report directory (default reports/eval-<model>-<data>/)')
  .action(run(evaluateCommand));

common(program.command('export').description('export a checkpoint: BN folded, checked, scored on the test set, with model card'))
  .requiredOption('--from <ckpt>', 'checkpoint to export')
  .option('--out <file>', 'output .onnx (default models/digits.onnx for the default config)')
  .option('--name <name>', 'model name in the card')
  .action(run(exportCommand));

common(program.command('pipeline').description('pretrain on Fashion-MNIST -> finetune on MNIST -> export -> evaluate'))
  .option('--run <name>', 'run name (default pipeline-<config>)')
  .option('--out <file>', 'output .onnx (default models/digits.onnx, models/digits-<config>.onnx)')
  .option('--pretrain-epochs <n>').option('--finetune-epochs <n>')
  .option('--pretrain-lr <x>').option('--finetune-lr <x>')
  .option('--subset <n>', 'train each phase on a seeded subset (quick runs)')
  .option('--save-epochs <list>', 'fine-tune epochs to keep checkpoints of', '1,3')
  .option('--skip-pretrain', 'fine-tune from scratch (no pre-training)')
  .option('--resume', 'continue an interrupted pipeline')
  .action(run(pipelineCommand));

common(program.command('augment-grid').description('write a PNG grid of augmented training samples'))
  .option('--data <spec>', 'mnist | fashion | DIR', 'mnist')
  .option('--out <file>', 'PNG to write', 'reports/augment-grid.png')
  .option('--samples <n>', 'source images (rows)', '8')
  .option('--per <n>', 'augmentations per image (columns)', '9')
  .option('--elastic', 'add elastic distortion')
  .action(run(augmentGridCommand));

const ablation = program.command('ablation').description('the README ablation tables');
training(ablation.command('conv').description('separable-dilated vs standard conv of the same shape, trained alike on MNIST (default 2 epochs)'))
  .action(run(ablationConvCommand));
training(ablation.command('pretrain').description('from scratch vs Fashion-pretrained + fine-tuned: test accuracy after 1, 3, all epochs'))
  .option('--pipeline-run <name>', 'pipeline run whose checkpoints give the pretrained arm (default pipeline-<config>)')
  .action(run(ablationPretrainCommand));

const KNOWN = [UsageError, ConfigError, IdxError, DatasetNotFoundError, FolderDatasetError, CheckpointError, ModelFileError];

// File-system errors a user causes (a directory given for a file, a missing or unwritable path):
// one line naming the path, like the errors above.
const FS_ERRORS: Record<string, string> = {
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists (and is not a directory)',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  ENAMETOOLONG: 'file name too long',
};

function fsErrorLine(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (!(e instanceof Error) || typeof err.code !== 'string' || !(err.code in FS_ERRORS) || typeof err.syscall !== 'string') return null;
  // a failed rename names the temp file as `path`: the file the user asked for is `dest`
  const path = err.syscall === 'rename' && err.dest ? err.dest : err.path;
  return `${path ? `${path}: ` : ''}${FS_ERRORS[err.code]} (${err.code}, ${err.syscall})`;
}

program.parseAsync(process.argv).catch((e: unknown) => {
  const fsLine = fsErrorLine(e);
  if (KNOWN.some((k) => e instanceof k)) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 2;
  } else if (fsLine) {
    console.error(`error: ${fsLine}`);
    process.exitCode = 2;
  } else {
    console.error(e);
    process.exitCode = 1;
  }
});
