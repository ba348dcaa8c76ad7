export interface AuthContext {
  /** Remote address, for logs and failure limits. */
  readonly remoteAddress: string;
  /** Whether the connection is TLS or from a trusted network. */
  readonly secure: boolean;
}

export type AuthResult =
  | { readonly ok: true; /** canonical user name (maildrop name) */ readonly user: string }
  | { readonly ok: false; /** for logs only; never shown to the client */ readonly reason: AuthFailureReason };

export type AuthFailureReason = 'unknown-user' | 'bad-password' | 'invalid-name' | 'no-apop-secret' | 'disabled';

export interface Authenticator {
  /** USER/PASS. Takes the same time for an unknown user as for a wrong password. */
  verify(user: string, password: string, ctx: AuthContext): Promise<AuthResult>;
  /**
   * APOP (RFC 1939 section 7): `digest` is the lowercase hex MD5 of timestamp + secret.
   * Works only for users whose stored secret is plaintext-equivalent ({PLAIN}).
   */
  verifyApop(user: string, timestamp: string, digest: string, ctx: AuthContext): Promise<AuthResult>;
}
