// One entry point for "--data" values: `mnist`, `fashion`, or a folder path.
import { loadFashion, loadMnist, type Split } from './sources.js';
import { loadFolderDataset } from './folder.js';
import type { ImageDataset } from './dataset.js';

export * from './dataset.js';
export * from './sources.js';
export { loadFolderDataset, FolderDatasetError } from './folder.js';
export { IdxError, readIdx, parseIdx, encodeIdx } from './idx.js';

export type DataSpec = 'mnist' | 'fashion' | string;

/**
 * Load a dataset by name. For a folder, the split is ignored (the folder is what it is; a
 * validation split is carved from it by the caller like from any training set).
 */
export async function loadDataset(spec: DataSpec, split: Split, dataDir?: string): Promise<ImageDataset> {
  if (spec === 'mnist') return loadMnist(split, dataDir);
  if (spec === 'fashion' || spec === 'fashion-mnist') return loadFashion(split, dataDir);
  return loadFolderDataset(spec);
}
