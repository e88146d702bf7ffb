#!/usr/bin/env node
// The operator CLI. Runs the TypeScript sources through tsx, so a clone needs no build step.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `outbound-pools needs Node.js 22 or newer (this is ${process.version}); run it through npx or npm run, which use the node@22 devDependency\n`,
  );
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
