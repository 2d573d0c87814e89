// Wire-level vocabulary shared by the HTTP and WebSocket sides: the error
// type every failure becomes, close codes, and nonces for idempotent sends.

export const PROTOCOL_VERSION = 1;

export const CLOSE = {
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  PROTOCOL: 4000,
  UNAUTHORIZED: 4001,
  POLICY: 4008,
};

/** Every failure, from HTTP or a WebSocket error frame, with the protocol's `code`. */
export class ChatError extends Error {
  constructor(code, message, { status = 0, retryAfter = null, until = null } = {}) {
    super(message || code);
    this.code = code;
    this.status = status;
    this.retry_after = retryAfter;
    this.until = until; // `muted`: when the timeout ends (an ISO time)
  }
}

/** Errors that mean "try again later" rather than "this will never work". */
export function isTransient(err) {
  return !err || ['disconnected', 'timeout', 'rate_limited', 'network'].includes(err.code);
}

/**
 * A nonce unique to one composed message. It is created once, when the user
 * presses Enter, and reused for every retry so the server can deduplicate.
 */
export function newNonce() {
  if (typeof crypto !== 'undefined' && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** ws:// or wss:// URL of the gateway on the page's own origin. */
export function gatewayUrl(loc = window.location) {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}
