// Shared pieces of the CLI commands: option parsing helpers, Ctrl-C handling, the command line
// recorded in reports and model cards.
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import { loadRunConfig, type RunConfig } from '../../model/config.js';

export interface CommonOptions {
  config: string;
  seed: string;
  threads: string;
  progress: boolean;
  checkpoints: string;
  reports: string;
  dataDir?: string;
}

export function int(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
  return n;
}

export function intList(name: string, v: string | undefined): number[] {
  if (!v) return [];
  return v.split(',').map((s) => int(name, s.trim(), 1)!);
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const RUN_NAME = /^[A-Za-z0-9._-]+$/;

/** A run name becomes a directory under the checkpoint and report roots: one plain path segment. */
export function runName(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!RUN_NAME.test(v) || v === '.' || v === '..') {
    throw new UsageError(`--${name} ${JSON.stringify(v)}: a run name is letters, digits, ".", "_" and "-" (one directory name: no path separators, not "." or "..")`);
  }
  return v;
}

/** An output file given on the command line must not be an existing directory (checked before the work, not after). */
export function outFile(name: string, v: string): string {
  let dir = false;
  try { dir = statSync(v).isDirectory(); } catch { /* not there yet: fine */ }
  if (dir) throw new UsageError(`--${name} ${v}: is a directory; give a file name`);
  return v;
}

export function config(o: CommonOptions): RunConfig {
  // reading a directory fails in read(2) with an error that names no path: say which one here
  let dir = false;
  try { dir = statSync(o.config).isDirectory(); } catch { /* a config name, or no such file: loadRunConfig says so */ }
  if (dir) throw new UsageError(`--config ${o.config}: is a directory, not a YAML file`);
  return loadRunConfig(o.config);
}

/** The command as a user would type it (recorded in reports and the model card). */
export function commandLine(): string {
  return `npm run train -- ${process.argv.slice(2).join(' ')}`.trim();
}

/**
 * Ctrl-C / SIGTERM: the first asks the training loop to save a checkpoint and stop after the
 * current step; a second one exits at once (the last checkpoint on disk is still whole: writes
 * are atomic).
 */
export class StopSignal {
  private requested = false;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.requested) {
      console.error(`\n${sig} again: exiting now (the last checkpoint on disk is intact)`);
      process.exit(130);
    }
    this.requested = true;
    console.error(`\n${sig}: saving a checkpoint after the current step, then exiting (press again to exit at once)`);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get stop(): boolean {
    return this.requested;
  }

  readonly check = () => this.requested;

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

export function defaultModelFile(configName: string): string {
  return configName === 'default' ? 'models/digits.onnx' : `models/digits-${basename(configName).replace(/\.ya?ml$/, '')}.onnx`;
}
