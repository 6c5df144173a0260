import t from 'tap';
import { readFileSync } from 'node:fs';

// Guards the install contract: onnxruntime-node must never download CUDA binaries at install time.
t.test('.npmrc keeps onnxruntime-node postinstall offline', async (t) => {
  const npmrc = readFileSync(new URL('../.npmrc', import.meta.url), 'utf8');
  t.match(npmrc, /^onnxruntime-node-install=skip$/m);
});
