import type { z } from 'zod';

/** One problem in a request body, with the path of the field. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** zod issues as the API reports them: `request.subscriber.dateOfBirth: must be ...`. */
export function toIssues(error: z.ZodError, prefix = ''): Issue[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    const message =
      i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message;
    return { path: path || '(body)', message };
  });
}
