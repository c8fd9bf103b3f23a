/** Errors of the Janus sidecar and its API. */

/** Janus refused a request or a plugin reported an error. */
export class JanusError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "JanusError";
  }
}

/** The connection to Janus is gone (Janus stopped or restarted); state on it is lost. */
export class JanusDisconnectedError extends Error {
  constructor(message = "Janus connection closed") {
    super(message);
    this.name = "JanusDisconnectedError";
  }
}
