/**
 * Request validation. Fastify's default Ajv coerces types ("42" → 42,
 * null → 0) and strips unknown fields: for JSON bodies that would silently
 * change what a client signed or meant, so bodies are validated strictly.
 * Query strings, params and headers are text by nature and are coerced.
 *
 * Fastify also parses `text/plain` bodies by default, which turns a request
 * sent with the wrong Content-Type into a confusing "body must be object"
 * 400: JSON routes accept JSON only, anything else is a 415. Routes that take
 * other media types (uploads) register their own parsers.
 */
import { Ajv } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes: coerce,
    removeAdditional: false,
    useDefaults: coerce,
    allErrors: false,
    strict: true,
    strictRequired: false,
  });
  // ajv-formats is CommonJS: under NodeNext its default export is the module object.
  const mod = formatsPlugin as unknown as { default?: (ajv: Ajv) => Ajv };
  const addFormats = mod.default ?? (formatsPlugin as unknown as (ajv: Ajv) => Ajv);
  addFormats(ajv);
  // OpenAPI-only annotations carried by our schemas.
  ajv.addKeyword('example');
  ajv.addKeyword('x-evx');
  return ajv;
}

export function installValidators(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }: { schema: FastifySchema; httpPart?: string }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    return ajv.compile(schema as object);
  });
}
