/**
 * The one error model of Quant Lens. Every error a user can meet carries a stable `code` (as the
 * safetensors reference reader's `SafeTensorError` variants do) besides its message: the CLI prints
 * it in `--json` error documents, the extension puts it in `Diagnostic.code`, and tests match on it
 * instead of on message text or `err.name`.
 */

/** Stable error codes. Add codes; never rename one (scripts and CI match on them). */
export type ErrorCode =
  /** The command line is wrong (unknown option, missing argument, value out of range). */
  | 'usage'
  /** The user cancelled long work. */
  | 'cancelled'
  /** A path does not exist, is a folder where a file is needed, or cannot be read. */
  | 'not-found'
  | 'is-directory'
  | 'permission-denied'
  | 'not-a-file'
  | 'io-error'
  /** A file is empty, or no reader recognizes its content. */
  | 'empty-file'
  | 'unrecognized-format'
  /** A pickle names a global whose only use is to run code: refused, never executed. */
  | 'unsafe-pickle'
  /** Data ends before a length, offset or count says it should. */
  | 'truncated'
  /** A size, depth or count passes one of the readers' safety bounds. */
  | 'limit-exceeded'
  /** Valid for its format, but a feature Quant Lens does not read (protocol, dtype, compression). */
  | 'unsupported'
  /** Malformed content, by format. */
  | 'invalid-zip'
  | 'invalid-pickle'
  | 'invalid-torch'
  | 'invalid-safetensors'
  | 'invalid-npy'
  | 'invalid-tensor'
  /** An analysis could not find what it needs in otherwise valid files. */
  | 'tensor-not-found'
  | 'scale-not-found'
  | 'invalid-layer'
  | 'invalid-argument'
  /** A bug: anything not raised through this module. */
  | 'internal';

/** An error a user can act on: a stable code, a one-line message, and where (file, entry, offset, key). */
export class QuantLensError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly where?: string,
  ) {
    super(where ? `${message} (at ${where})` : message);
  }
}

/** An input file is malformed, hostile or unsupported. */
export class FormatError extends QuantLensError {}

/** A usage mistake: exit 2 with one line. */
export class UsageError extends QuantLensError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** Long work stopped because the user asked. Not a failure: callers drop the partial result. */
export class CancelledError extends QuantLensError {
  constructor() {
    super('cancelled', 'cancelled');
  }
}

/** Throws a FormatError: the readers' one way to reject input. */
export function fail(code: ErrorCode, message: string, where?: string): never {
  throw new FormatError(code, message, where);
}

export interface DescribedError {
  code: ErrorCode;
  message: string;
}

const ERRNO_CODES: Record<string, [ErrorCode, string]> = {
  ENOENT: ['not-found', 'no such file'],
  EISDIR: ['is-directory', 'is a directory'],
  ENOTDIR: ['not-found', 'not a directory'],
  EACCES: ['permission-denied', 'permission denied'],
  EPERM: ['permission-denied', 'permission denied'],
};

/** Any thrown value as one line and a stable code: what the CLI prints and the Problems panel shows. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof QuantLensError) return { code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException | undefined;
  const errno = e && typeof e.code === 'string' ? ERRNO_CODES[e.code] : undefined;
  if (errno) return { code: errno[0], message: `${errno[1]}: ${e!.path ?? e!.message}` };
  if (e && typeof e.code === 'string' && e.code.startsWith('E')) return { code: 'io-error', message: e.message };
  if (e instanceof RangeError) return { code: 'limit-exceeded', message: `input too large or malformed: ${e.message}` };
  return { code: 'internal', message: e && e.message ? e.message : String(err) };
}
