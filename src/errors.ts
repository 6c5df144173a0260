// Typed errors with stable codes. Every error a client can see is an AppError (or is mapped to
// one by the error handler in src/plugins/errors.ts); the code is part of the API contract
// (openapi.yaml lists them), the message is for humans.

export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_image: 400,
  no_images: 400,
  unauthorized: 401,
  not_found: 404,
  request_timeout: 408,
  payload_too_large: 413,
  too_many_files: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  wrong_size: 422,
  headers_too_large: 431,
  overloaded: 503,
  not_ready: 503,
  shutting_down: 503,
  timeout: 504,
  inference_failed: 500,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetails {
  /** 0-based position of the image in the request, when the error concerns one image. */
  index?: number;
  filename?: string;
  field?: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: ErrorDetails;
  /** Seconds, sent as Retry-After (503 only). */
  readonly retryAfter?: number;
  /**
   * The client caused it though the status is 5xx (a 504 for an upload the client stalled): it is
   * logged at info like the 4xx refusals, not at error as our failure.
   */
  readonly clientFault?: boolean;

  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetails; retryAfter?: number; clientFault?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = opts.details;
    this.retryAfter = opts.retryAfter;
    if (opts.clientFault) this.clientFault = true;
  }

  /** The same error, with details about which image it concerns merged in. */
  withDetails(extra: ErrorDetails): AppError {
    return new AppError(this.code, this.message, {
      details: { ...this.details, ...extra },
      retryAfter: this.retryAfter,
      clientFault: this.clientFault,
      cause: this.cause,
    });
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetails };
}

export function errorBody(e: AppError): ErrorBody {
  return { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
}
