import type { SwaggerOptions } from '@fastify/swagger';
import { finishDocument, SECURITY_SCHEMES, serversFor } from '@gelombang/contracts';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { definedErrors } from './errors';
import type { App, ServerOptions } from './http';
import { GENERIC_FIELD_MESSAGES } from './validation';

/** Codes of the outages the platform answers 503 for on every route (the datastore one once it is defined: issue #14). */
function outageCodes(app: App): string[] {
  const defined = new Set(definedErrors().map((e) => e.code));
  const codes: string[] = [];
  if (app.hasDecorator('producer')) codes.push('SERVICE_UNAVAILABLE');
  if (app.hasDecorator('pg') || app.hasDecorator('redis')) codes.push(defined.has('STORE_UNAVAILABLE') ? 'STORE_UNAVAILABLE' : 'SERVICE_UNAVAILABLE');
  return [...new Set(codes)];
}

/**
 * The @fastify/swagger options of every service (decision 0019): the routes' zod schemas as OpenAPI 3.1,
 * finished by the contracts' rules — servers, security, the platform's own refusals on every route,
 * descriptions and examples from the error registry, headers, named schemas.
 */
export function swaggerOptions(app: App, opts: Pick<ServerOptions, 'service' | 'version' | 'description'>): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: opts.service,
        version: opts.version ?? '0.1.0',
        description: opts.description ?? '',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Gelombang' },
      },
      servers: serversFor(opts.service),
      components: { securitySchemes: SECURITY_SCHEMES as never },
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) =>
      finishDocument((documentObject as { openapiObject: Record<string, unknown> }).openapiObject, {
        errors: new Map(definedErrors().map((e) => [e.code, e])),
        fieldMessage: (code) => (GENERIC_FIELD_MESSAGES[code] ?? { id: code }).id,
        outageCodes: outageCodes(app),
      }) as never,
  };
}
