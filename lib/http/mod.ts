/** HTTP plumbing: the OpenAPI app, route access rules, problem+json errors, logs and metrics. */
export { type ApiApp, type AppEnv, createApiApp, ProblemSchema, secured } from "./api.ts";
export type { BodyLimits, SecuredOptions } from "./api.ts";
export { AllowedMethods, optionsRequest, unmatchedRequest } from "./allowed_methods.ts";
export {
  acceptedEncodings,
  compressAnswer,
  compression,
  type CompressionOptions,
} from "./compression.ts";
export { Metrics } from "./metrics.ts";
export { observe } from "./observe.ts";
export { clientAddress, forwardedClient } from "./client_address.ts";
export {
  type ConnectionLimits,
  connectionLimits,
  defaultMaxConnections,
  FDS_PER_CONNECTION,
  type GatedServer,
  type GateOptions,
  openFileLimits,
  serveGated,
} from "./gate.ts";
export { SERVER_TIME_HEADER, serverTime } from "./server_time.ts";
export {
  checkPublicTarget,
  isPublicAddress,
  PrivateTargetError,
  resolveAddresses,
  type Resolver,
} from "./public_target.ts";
export { HSTS, securityHeaders } from "./security_headers.ts";
export { handleError, type Problem, PROBLEM_TYPE, problemOf, problemResponse } from "./problem.ts";
