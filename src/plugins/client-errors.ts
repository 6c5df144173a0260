// Errors Node or Fastify produce before any route runs, in our { error: { code, message } }
// shape with an X-Request-Id, like every other error:
// - clientErrorHandler: socket-level parse errors Node reports as 'clientError' (headers too
//   large 431, headers not complete within the request timeout 408, malformed HTTP such as a bad
//   chunked body 400). There is no request object yet, so the answer is written to the socket.
// - frameworkErrors: a URL Fastify cannot decode (400), and router failures (500).
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody, type ErrorCode } from '../errors.js';

function socketError(err: NodeJS.ErrnoException): AppError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request_timeout', 'the request headers did not arrive within REQUEST_TIMEOUT_MS');
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('headers_too_large', 'the request headers are larger than the server accepts');
    default:
      return new AppError('invalid_request', `malformed HTTP request${err.code ? ` (${err.code})` : ''}`);
  }
}

/** The latest request Node parsed on each socket (set by trackRequests). */
const lastRequest = new WeakMap<Duplex, IncomingMessage>();

/** Lets clientErrorHandler tell a socket error inside a routed request from one before any. */
export function trackRequests(server: Server): void {
  server.on('request', (req: IncomingMessage) => { lastRequest.set(req.socket, req); });
}

/** Fastify's clientErrorHandler option (`this` is the root instance). */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody to answer (as in Fastify's default handler).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // The client closed its side (FIN) with a routed request's body short of its Content-Length:
  // Node reports that here as a parse error, but the request is ours already and sees 'aborted'
  // once the socket goes, so its own error path counts and logs it, once, as client_aborted (or
  // it was answered already). Counting it here too made it invalid_request as well, and the 400
  // written here went out under another request id. Only close the socket, which Node leaves open.
  const inFlight = lastRequest.get(socket);
  if (err.code === 'HPE_INVALID_EOF_STATE' && inFlight && !inFlight.complete) {
    socket.destroy();
    return;
  }
  const e = socketError(err);
  const id = randomUUID();
  this.metrics?.rejections.inc({ reason: e.code });
  // debug, not info: there is no request line for these, and a flood of garbage must not flood the log
  this.log.debug({ reqId: id, err: { code: err.code, message: err.message }, code: e.code }, 'client error before routing');
  // Only when nothing of a response went out on this socket yet (Node's own rule).
  if (socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
    const body = JSON.stringify(errorBody(e));
    socket.write(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\n`
      + `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + `X-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Fastify's frameworkErrors option: the request exists (with its id), no route matched yet. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const code: ErrorCode = err.code === 'FST_ERR_ASYNC_CONSTRAINT' ? 'internal' : 'invalid_request';
  const e = code === 'internal'
    ? new AppError('internal', `internal error (request id ${request.id})`)
    : new AppError('invalid_request', err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid (bad percent-encoding)' : err.message);
  if (code === 'internal') request.log.error({ err }, 'request failed before routing');
  request.errorCode = e.code;
  void reply.status(e.status).header('X-Request-Id', request.id).type('application/json; charset=utf-8').send(errorBody(e));
}
