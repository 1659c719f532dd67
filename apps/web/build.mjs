// Builds the demo into dist/ (what Nginx serves at /): src/app.ts bundled with the SDK, the static files
// of public/, and the SDK's WebView bundle (served as /voip-client.js for webview.html and Android apps).
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(join(here, 'public'), dist, { recursive: true });
// `--watch` (turbo dev): rebuild app.js whenever a file it bundles changes (the SDK's dist included).
const watch = process.argv.includes('--watch');
const ctx = await context({
  entryPoints: [join(here, 'src', 'app.ts')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome100', 'firefox100', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: watch ? 'info' : 'warning',
});
const webviewBundle = fileURLToPath(import.meta.resolve('@voip/client/voip-client'));
copyFileSync(webviewBundle, join(dist, 'voip-client.js'));
copyFileSync(`${webviewBundle}.map`, join(dist, 'voip-client.js.map'));
if (watch) {
  await ctx.watch();
  const stop = () => ctx.dispose().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  await ctx.rebuild();
  await ctx.dispose();
}
