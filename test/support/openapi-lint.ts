/** Redocly's recommended rules over the OpenAPI document the producer serves, in memory. */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { openApiDocument } from '../../src/producer/openapi.js';

/** One problem the linter found. */
export interface LintProblem {
  readonly ruleId: string;
  readonly severity: string;
  readonly message: string;
  readonly location: readonly { readonly pointer?: string }[];
}

/** The problems of the served document under Redocly's `recommended` ruleset. */
export async function lintOpenApi(): Promise<LintProblem[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({
    source: JSON.stringify(openApiDocument()),
    absoluteRef: 'openapi.json',
    config,
  });
  return problems.map((p) => ({
    ruleId: p.ruleId,
    severity: p.severity,
    message: p.message,
    location: p.location.map((l) => (l.pointer ? { pointer: l.pointer } : {})),
  }));
}
