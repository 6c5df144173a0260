// Validates real responses against openapi.yaml (OpenAPI 3.1 = JSON Schema 2020-12) with ajv.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

type Json = Record<string, unknown>;
// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => Ajv2020;

export const spec = parse(readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8')) as Json;

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, 'openapi');

export interface ResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

function deref(obj: Json): Json {
  const ref = obj.$ref as string | undefined;
  if (!ref) return obj;
  const parts = ref.replace(/^#\//, '').split('/');
  let cur: unknown = spec;
  for (const p of parts) cur = (cur as Json)[p];
  return deref(cur as Json);
}

/** Error text when `res` does not match the spec's response for (method, path); '' when it does. */
export function specMismatch(method: string, path: string, res: ResponseLike): string {
  const op = ((spec.paths as Json)[path] as Json | undefined)?.[method.toLowerCase()] as Json | undefined;
  if (!op) return `openapi.yaml has no ${method} ${path}`;
  const responses = op.responses as Json;
  const declared = responses[String(res.statusCode)] ?? responses.default;
  if (!declared) return `openapi.yaml ${method} ${path} declares no ${res.statusCode} response`;
  const response = deref(declared as Json);
  for (const [name, h] of Object.entries((response.headers ?? {}) as Json)) {
    if ((deref(h as Json).required === true) && res.headers[name.toLowerCase()] === undefined) return `missing header ${name}`;
  }
  if (res.statusCode === 503 && response.headers && (response.headers as Json)['Retry-After'] && res.headers['retry-after'] === undefined) {
    return 'a 503 must carry Retry-After';
  }
  const content = response.content as Json | undefined;
  if (!content) return '';
  const type = String(res.headers['content-type'] ?? '').split(';')[0].trim();
  const media = content[type] as Json | undefined;
  if (!media) return `${method} ${path} ${res.statusCode}: content-type ${type} not in spec (${Object.keys(content).join(', ')})`;
  if (type !== 'application/json') return '';
  const pointer = `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${res.statusCode in responses ? res.statusCode : 'default'}`;
  const schemaRef = (declared as Json).$ref
    ? `openapi#${String((declared as Json).$ref).slice(1)}/content/application~1json/schema`
    : `${pointer}/content/application~1json/schema`;
  const validate = ajv.getSchema(schemaRef) ?? ajv.compile({ $ref: schemaRef });
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `body is not JSON: ${res.body.slice(0, 200)}`;
  }
  if (!validate(body)) return `${method} ${path} ${res.statusCode}: ${ajv.errorsText(validate.errors)} in ${res.body.slice(0, 300)}`;
  return '';
}

/** Validate a schema fragment by name, e.g. the 404 body against components/responses/NotFound. */
export function componentMismatch(ref: string, body: unknown): string {
  const validate = ajv.getSchema(`openapi#${ref}`) ?? ajv.compile({ $ref: `openapi#${ref}` });
  return validate(body) ? '' : ajv.errorsText(validate.errors);
}

export function fetchToResponseLike(res: Response, body: string): ResponseLike {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => { headers[k] = v; });
  return { statusCode: res.status, headers, body };
}
