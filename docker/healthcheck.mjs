// Container HEALTHCHECK probe: GET /healthz on the local port, exit 0 when it answers 2xx.
// Plain Node (global fetch) so the runtime image needs no curl/wget; a hung server counts as
// unhealthy after HEALTHCHECK_TIMEOUT_MS instead of blocking the probe.
const port = process.env.PORT ?? '8080';
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 2000);
const url = `http://127.0.0.1:${port}/healthz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    console.error(`healthcheck: ${url} answered ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`healthcheck: ${url} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
