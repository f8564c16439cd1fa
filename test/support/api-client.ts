/**
 * A typed client of the producer's API (openapi-fetch over the types generated from the OpenAPI
 * document) that also holds every answer to the document: an answer whose status the operation
 * does not document, whose content type it does not list, or whose body (JSON, or each JSON line)
 * does not match the documented schema throws. Tests driven through it fail when the document and
 * the routes drift apart, in either direction.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { openApiDocument } from '../../src/producer/openapi.js';
import type { paths } from './api-types.js';

/** The typed client. */
export type ApiClient = Client<paths>;

interface DocResponse {
  content?: Record<string, { schema?: Record<string, unknown> }>;
}
type Doc = {
  paths: Record<string, Record<string, { responses?: Record<string, DocResponse> }>>;
  components: { schemas: Record<string, unknown> };
};

const doc = openApiDocument() as unknown as Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'doc', components: doc.components });

const compiled = new Map<Record<string, unknown>, ReturnType<typeof ajv.compile>>();

function validate(schema: Record<string, unknown>, value: unknown, what: string): void {
  let check = compiled.get(schema);
  if (!check) {
    const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined;
    check = ajv.compile(ref ? { $ref: `doc${ref}` } : schema);
    compiled.set(schema, check);
  }
  if (!check(value))
    throw new Error(`${what}: body does not match the document: ${ajv.errorsText(check.errors)}`);
}

const conformance: Middleware = {
  async onResponse({ request, schemaPath, response }) {
    const method = request.method.toLowerCase();
    const what = `${request.method} ${schemaPath} -> ${response.status}`;
    const documented = doc.paths[schemaPath]?.[method]?.responses?.[String(response.status)];
    if (!documented) throw new Error(`${what}: the document does not list this answer`);
    const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const text = await response.clone().text();
    if (!documented.content) return;
    const media = documented.content[type];
    if (!media) throw new Error(`${what}: content type ${type} is not documented`);
    if (!media.schema) return;
    if (type === 'application/json') validate(media.schema, JSON.parse(text), what);
    else if (type === 'application/x-ndjson')
      for (const line of text.split('\n').filter(Boolean))
        validate(media.schema, JSON.parse(line), what);
  },
};

/** A client of the producer at `baseUrl` sending `key` as its bearer token. */
export function apiClient(baseUrl: string, key?: string): ApiClient {
  const client = createClient<paths>({
    baseUrl,
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
  });
  client.use(conformance);
  return client;
}
