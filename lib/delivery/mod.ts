/** Delivery of stored segments: ranges, validators, caching; signed URLs live in lib/auth. */
export {
  IMMUTABLE,
  parseRange,
  RangeNotSatisfiableError,
  serveBytes,
  serveObject,
} from "./serve.ts";
