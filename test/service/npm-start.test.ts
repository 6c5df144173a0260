// `npm start` is the README's way to run the service, often under a supervisor that signals npm,
// not node: SIGTERM to npm must reach node (the script `exec`s it) so nothing is left serving.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function until(ok: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
const answers = (url: string) => fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);

t.test('SIGTERM to `npm start` stops the server', async (t) => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => npm.on('exit', (code) => r(code)));
  t.teardown(() => { if (npm.exitCode === null) npm.kill('SIGKILL'); });
  t.ok(await until(() => answers(`http://127.0.0.1:${port}/readyz`), 30_000), 'ready');
  npm.kill('SIGTERM');
  t.equal(await exited, 0, 'npm start exits 0 (node drained and exited 0)');
  t.notOk(await answers(`http://127.0.0.1:${port}/healthz`), 'nothing is left listening');
});
