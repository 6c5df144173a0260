// Errors Node or Fastify produce outside a route's own code, in our { error: { code, message } }
// shape with an X-Request-Id, like every other error, and each counted and logged once:
// - clientErrorHandler: socket-level errors Node reports as 'clientError' (headers too large 431,
//   headers not complete within the request timeout 408, malformed HTTP such as a bad chunked
//   body 400). Before any request is routed there is no request object, so the answer is written
//   to the socket here. Inside a routed request that is not answered yet (a bad chunk in its body,
//   its body past Node's request timeout) the request owns the error: it is handed to the request
//   (handOver), whose own error path answers once, with its own id, and counts and logs it once.
// - frameworkErrors: a URL Fastify cannot decode (400), and router failures (500). Fastify runs
//   no hooks for these, so the request line and the duration are recorded here.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody, type ErrorCode } from '../errors.js';
import { recordResponse } from './metrics.js';

/** The error for a socket-level failure; `inRequest`: it happened inside a routed request. */
function socketError(err: NodeJS.ErrnoException, inRequest: boolean): AppError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request_timeout', inRequest
        ? 'the request did not arrive in full within the request timeout'
        : 'the request headers did not arrive within REQUEST_TIMEOUT_MS');
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('headers_too_large', `the request ${inRequest ? 'trailers' : 'headers'} are larger than the server accepts`);
    default:
      return new AppError('invalid_request', `malformed HTTP request${err.code ? ` (${err.code})` : ''}`);
  }
}

/** The latest request Node parsed on each socket, with its response (set by trackRequests). */
const lastRequest = new WeakMap<Duplex, { req: IncomingMessage; res: ServerResponse }>();

/** Socket errors handed to the request they happened in (see handOver). */
const handedOver = new WeakMap<IncomingMessage, AppError>();

/** Lets clientErrorHandler tell a socket error inside a routed request from one before any. */
export function trackRequests(server: Server): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => { lastRequest.set(req.socket, { req, res }); });
}

const ignore = () => undefined;

/**
 * Give a socket error to the routed, unanswered request it happened in. Nothing more is read
 * from the socket (the parser is in error). The request's body stream fails with `e`, so a body
 * reader already at work (Fastify's, busboy) rejects with it; refuseHandedOver stops one that has
 * not started. Node's own IncomingMessage destroy would also destroy the socket (and mark the
 * request aborted: a client_aborted count), leaving no way to answer, so it is bypassed for this
 * request. The answer carries Connection: close (the body is incomplete); Node then closes.
 */
function handOver(req: IncomingMessage, socket: Duplex, e: AppError): void {
  handedOver.set(req, e);
  socket.pause();
  req._destroy = (err, cb) => cb(err);
  req.on('error', ignore); // the readers have their own listeners; without any, an 'error' would throw
  req.destroy(e);
}

/** Fastify hook (onRequest and preParsing, root): a request whose socket failed under it answers that error. */
export async function refuseHandedOver(request: FastifyRequest): Promise<void> {
  const e = handedOver.get(request.raw);
  if (e) throw e;
}

/** Sockets this handler is answering and closing: Node reports every later chunk as an error too. */
const closing = new WeakSet<Duplex>();

/** Close once what was written has gone out (destroy() would drop a response still buffered). */
function endSoon(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/** Fastify's clientErrorHandler option (`this` is the root instance). */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody to answer (as in Fastify's default handler).
  if (err.code === 'ECONNRESET' || socket.destroyed || closing.has(socket)) return;
  const last = lastRequest.get(socket);
  if (last && !last.req.complete) {
    const { req, res } = last;
    // Already the request's (more bytes after a bad chunk, the client's FIN): it answers. Node's
    // request timeout is the backstop though: then nothing more is waited for.
    if (handedOver.has(req)) {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.destroy();
      else socket.pause();
      return;
    }
    // The client closed its side (FIN) with the body short of its Content-Length: Node reports
    // it here as a parse error, but the client is gone. The request sees 'aborted' once the socket
    // goes, so its own error path counts and logs it, once, as client_aborted (or it was answered
    // already). Counting it here too made it invalid_request as well, with a stray 400 under
    // another request id. Only close the socket, which Node leaves open.
    if (err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      socket.destroy();
      return;
    }
    // Answered already (refused before its body, or a handler that ignores it), body still
    // arriving: the request has its one outcome, counted and logged. Only end the connection.
    if (res.headersSent) {
      closing.add(socket);
      socket.pause();
      if (res.writableFinished) endSoon(socket);
      else res.once('finish', () => endSoon(socket));
      return;
    }
    handOver(req, socket, socketError(err, true));
    return;
  }
  // Nothing more is parsed on this connection: it is answered and closed.
  closing.add(socket);
  socket.pause();
  const e = socketError(err, false);
  const id = randomUUID();
  this.metrics?.rejections.inc({ reason: e.code });
  // debug, not info: there is no request line for these, and a flood of garbage must not flood the log
  this.log.debug({ reqId: id, err: { code: err.code, message: err.message }, code: e.code }, 'client error before routing');
  const answer = () => {
    if (!socket.writable) return socket.destroy();
    const body = JSON.stringify(errorBody(e));
    socket.write(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\n`
      + `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + `X-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
    endSoon(socket);
  };
  // Bytes that cannot be parsed after a complete request (pipelined) while its response is still
  // being made: that request is answered first, then this one, on the same connection; cutting
  // the socket now would turn the earlier request into a client abort.
  if (last && !last.res.writableFinished && !last.res.destroyed) {
    last.res.once('finish', answer);
    last.res.once('close', () => { if (!last.res.writableFinished) socket.destroy(); });
    return;
  }
  // No response in progress on this socket: the answer cannot land inside another one.
  answer();
}

/** Fastify's frameworkErrors option: the request exists (with its id), no route matched yet. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const started = performance.now();
  const code: ErrorCode = err.code === 'FST_ERR_ASYNC_CONSTRAINT' ? 'internal' : 'invalid_request';
  const e = code === 'internal'
    ? new AppError('internal', `internal error (request id ${request.id})`)
    : new AppError('invalid_request', err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid (bad percent-encoding)' : err.message);
  if (code === 'internal') request.log.error({ err }, 'request failed before routing');
  request.errorCode = e.code;
  // Fastify runs no hooks for these (no onResponse): count and log here, as the error handler and
  // the metrics plugin do for routed requests.
  request.server.metrics.rejections.inc({ reason: e.code });
  reply.raw.once('finish', () => recordResponse(request, reply, performance.now() - started));
  void reply.status(e.status).header('X-Request-Id', request.id).type('application/json; charset=utf-8').send(errorBody(e));
}
