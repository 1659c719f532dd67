// scripts/check-env: prints every disagreement between the services' config specs, docker-compose.yml
// and .env.example, one per line, and exits 1 if there is any.
import { checkEnv } from './check-env.js';
import { repoRoot } from './generate.js';

try {
  const { problems, coverage } = await checkEnv({ root: repoRoot() });
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`check-env: ${p}\n`);
    process.stderr.write(`check-env: ${problems.length} problem(s)\n`);
    process.exit(1);
  }
  for (const [app, services] of Object.entries(coverage))
    process.stdout.write(`check-env: ${app.padEnd(9)} ${services.join(', ')}\n`);
  process.stdout.write(
    'check-env: every variable the services read is set in docker-compose.yml and documented in .env.example\n',
  );
} catch (err) {
  process.stderr.write(`check-env: ${(err as Error).message}\n`);
  process.exit(1);
}
