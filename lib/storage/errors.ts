/** Why a put stored nothing: conditions of the body that callers turn into client errors. */

/** The body's SHA-256 is not the one the writer claimed. */
export class DigestMismatchError extends Error {
  constructor(readonly key: string, readonly actual: string) {
    super(`Cannot store "${key}": the body has sha-256 "${actual}", not the one claimed`);
    this.name = "DigestMismatchError";
  }
}

/** The body is longer than the put allowed. */
export class BodyTooLargeError extends Error {
  constructor(readonly key: string, readonly limit: number) {
    super(`Cannot store "${key}": the body is larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The body ended early: its stream failed, or it is shorter or longer than declared. */
export class IncompleteBodyError extends Error {
  constructor(
    readonly key: string,
    readonly received: number,
    readonly expected: number | undefined,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot store "${key}": ${
        expected === undefined
          ? `the body failed after ${received} bytes`
          : `${received} of ${expected} bytes arrived`
      }`,
      options,
    );
    this.name = "IncompleteBodyError";
  }
}
