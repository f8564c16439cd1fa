/**
 * Lints the API's OpenAPI document with Redocly's recommended rules (offline: the rules ship in
 * @redocly/openapi-core); exits 1 on any error. `npm run lint:openapi`;
 * test/producer/openapi-contract.test.ts runs the same check in `npm test`.
 */
import { lintOpenApi } from '../test/support/openapi-lint.js';

const problems = await lintOpenApi();
for (const p of problems)
  console.log(
    `${p.severity} ${p.ruleId}: ${p.message} (${p.location.map((l) => l.pointer).join(', ')})`,
  );
const errors = problems.filter((p) => p.severity === 'error').length;
console.log(`${errors} errors, ${problems.length - errors} warnings`);
process.exit(errors > 0 ? 1 : 0);
