// The one error handler: every failure becomes { error: { code, message, details? } } with the
// status its code maps to (src/errors.ts). Framework and multipart errors are mapped by code;
// 5xx text is logged with the request id and hidden from the client.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, errorBody, isAppError, type ErrorCode } from '../errors.js';

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_VALIDATION: 'invalid_request',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_FILES_LIMIT: 'too_many_files',
  FST_PARTS_LIMIT: 'too_many_files',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_PROTO_VIOLATION: 'invalid_request',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_INVALID_JSON_FIELD_ERROR: 'invalid_request',
};

function byStatus(status: number | undefined): ErrorCode {
  switch (status) {
    case 401: return 'unauthorized';
    case 404: return 'not_found';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    case 503: return 'overloaded';
    default: return status !== undefined && status >= 400 && status < 500 ? 'invalid_request' : 'internal';
  }
}

export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const fe = err as Partial<FastifyError> & { message?: string };
  const code = (fe.code && FRAMEWORK_CODES[fe.code]) || byStatus(fe.statusCode);
  if (code === 'internal') return new AppError('internal', 'internal error', { cause: err });
  // busboy's own messages ("Unexpected end of form", "Malformed part header") are client errors
  return new AppError(code, fe.message ?? 'invalid request', { cause: err });
}

/** Error codes Node and our body readers give when the client closed the connection mid-request. */
const CLIENT_GONE_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'FST_MP_PREMATURE_CLOSE']);

/** Whether the request failed because the client went away (not because of anything we did). */
export function clientWentAway(err: unknown, request: FastifyRequest, reply: FastifyReply): boolean {
  if (isAppError(err) && err.code !== 'timeout') return false;
  if (request.raw.aborted) return true; // Node: the client closed before the body was complete
  const code = (err as { code?: string } | undefined)?.code;
  if (code && CLIENT_GONE_CODES.has(code)) return true;
  // the deadline signal aborts with 'timeout' when the response closes early: the client left
  return reply.raw.destroyed && !reply.raw.writableFinished;
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err, request, reply) => {
    let e = toAppError(err);
    const fcode = (err as { code?: string }).code;
    if (fcode === 'FST_FILES_LIMIT' || fcode === 'FST_PARTS_LIMIT') {
      e = new AppError('too_many_files', `at most ${app.config.MAX_FILES} images per request`, { details: { max: app.config.MAX_FILES } });
    } else if (fcode === 'FST_REQ_FILE_TOO_LARGE') {
      e = new AppError('payload_too_large', `a file is over the ${app.config.MAX_FILE_BYTES}-byte limit`, { details: { maxBytes: app.config.MAX_FILE_BYTES } });
    }
    // Busboy parse errors arrive without a status; they are malformed requests, not our faults.
    if (e.code === 'internal' && /multipart|boundary|end of form|part header/i.test(String((err as Error)?.message))) {
      e = new AppError('invalid_request', `malformed multipart body: ${(err as Error).message}`);
    }
    if (clientWentAway(err, request, reply)) {
      // The client hung up mid-upload (ECONNRESET from the multipart stream, "aborted" from the
      // raw body): nobody is left to answer and nothing of ours failed. Counted apart from the
      // error codes; Fastify logs no request line for it (the response never finishes), so here.
      app.metrics.rejections.inc({ reason: 'client_aborted' });
      request.log.info({ route: request.routeOptions.url ?? 'unmatched', images: request.imageCount, reason: (err as Error)?.message }, 'request aborted by the client');
      return reply.status(400).type('application/json; charset=utf-8').send(errorBody(new AppError('invalid_request', 'the client closed the connection')));
    }
    if (e.status === 500) {
      // Our fault: the details go to the log with the request id, the client gets the id only.
      request.log.error({ err, code: e.code }, 'request failed');
      e = new AppError(e.code, `${e.code === 'inference_failed' ? 'inference failed' : 'internal error'} (request id ${request.id})`);
    }
    // Everything else is logged once, in the request line (plugins/metrics.ts), with this code.
    request.errorCode = e.code;
    if (e.clientFault) request.clientFault = true;
    app.metrics.rejections.inc({ reason: e.code });
    if (e.retryAfter !== undefined) void reply.header('Retry-After', String(e.retryAfter));
    if (e.code === 'unauthorized') void reply.header('WWW-Authenticate', 'Bearer');
    // Refused before its body was read (401, 415, 413 by Content-Length…): close the connection,
    // or a client that keeps the rest of the body back would hold the socket open on keep-alive.
    if (!request.raw.complete) void reply.header('Connection', 'close');
    return reply.status(e.status).type('application/json; charset=utf-8').send(errorBody(e));
  });

  app.setNotFoundHandler((request, reply) => {
    app.metrics.rejections.inc({ reason: 'not_found' });
    request.errorCode = 'not_found';
    return reply.status(404).send(errorBody(new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));
  });
}

export default fp(errorsPlugin, { name: 'errors', dependencies: ['metrics'] });
