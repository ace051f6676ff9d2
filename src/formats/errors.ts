/** An input file is malformed or hostile. `where` names the place in the file (entry, offset, key). */
export class FormatError extends Error {
  constructor(message: string, readonly where?: string) {
    super(where ? `${message} (at ${where})` : message);
    this.name = 'FormatError';
  }
}

export function fail(message: string, where?: string): never {
  throw new FormatError(message, where);
}
