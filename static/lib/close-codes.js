// Generated from floor/close_codes.py (python -m floor.close_codes > static/lib/close-codes.js): do not
// edit; tests/web/test_close_codes.py checks that it matches. The live socket's close codes.

export const CLOSE = Object.freeze({
  UNAUTHENTICATED: 4401, // not signed in (or the token is not valid)
  FORBIDDEN: 4403, // not allowed (origin, a display of another clinic, or staff who do not work in this clinic)
  UNKNOWN_CLINIC: 4404, // unknown clinic
  BAD_PARAMETER: 4400, // bad parameter (the reason says which)
  SIGNED_OUT: 1008, // the sign-in ended (signed out, expired, revoked display, removed staff)
  TOO_BIG: 1009, // a message over 4 KiB
  INTERNAL: 1011, // an error on the server (its log says which)
  RESTART: 1012, // the server is restarting
  TOO_SLOW: 4408, // the screen fell too far behind (it stopped reading)
  TOO_MANY_WAITING: 4429, // too many sockets from this address (or its IPv6 /64) are open and not yet signed in
});
