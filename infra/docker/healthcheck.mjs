// HEALTHCHECK for the service images: GET /health (or the path given, e.g. /ready) on the service's
// own port. The slim Node image has no curl, and node is already there. Exit 0 = healthy, 1 = not.
const defaults = { gateway: 3000, auth: 3001, user: 3002, call: 3003, signaling: 3004, media: 3010 };
const port = process.env.PORT || defaults[process.env.SERVICE] || 3000;
const path = process.argv[2] || '/health';
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2500) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
