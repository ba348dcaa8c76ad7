/** Checks a bearer token and names the user it was issued for. */
export interface OAuthValidator {
  validate(token: string): Promise<OAuthResult>;
}

export type OAuthResult =
  /** `user` is the name the token maps to, not yet checked against the users file. */
  | { readonly ok: true; readonly user: string }
  /** `reason` is for logs only. `temporary`: the server could not check (key file unreadable). */
  | { readonly ok: false; readonly reason: string; readonly temporary?: boolean };
