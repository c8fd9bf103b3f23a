import { ValidationError } from "../errors/mod.ts";

/**
 * Bytes that are not the media they claim to be (a truncated box, a missing track, a codec this
 * reader does not know). A ValidationError, so an upload it rejects becomes a 400.
 */
export class MediaFormatError extends ValidationError {
  constructor(message: string) {
    super(message);
  }
}
