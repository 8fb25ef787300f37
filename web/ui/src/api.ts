// Calls to the node's API with the session cookie. Writes carry the
// session's CSRF token; a 401 means the session ended (signed out,
// expired, key revoked), and the application goes back to sign-in.

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = "";
let onSignedOut: () => void = () => {};

export function setCSRF(token: string): void {
  csrf = token;
}

export function onUnauthenticated(fn: () => void): void {
  onSignedOut = fn;
}

export interface CallOptions {
  // raw returns the response text instead of parsing JSON.
  raw?: boolean;
  body?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
  // quiet401 does not send the page to sign-in (the sign-in check itself).
  quiet401?: boolean;
}

export async function call<T = unknown>(method: string, path: string, json?: unknown, o: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined = o.body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (o.contentType) {
    headers["Content-Type"] = o.contentType;
  }
  if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, { method, headers, body, credentials: "same-origin", signal: o.signal, cache: "no-store" });
  if (resp.status === 401 && !o.quiet401) onSignedOut();
  if (!resp.ok) {
    let code = "http_" + resp.status;
    let msg = resp.statusText;
    try {
      const e = await resp.json();
      code = e?.error?.code ?? code;
      msg = e?.error?.message ?? msg;
    } catch {
      /* not JSON */
    }
    throw new ApiError(resp.status, code, msg);
  }
  if (resp.status === 204) return undefined as T;
  if (o.raw) return (await resp.text()) as T;
  return (await resp.json()) as T;
}

export const get = <T>(path: string, o?: CallOptions) => call<T>("GET", path, undefined, o);
export const post = <T>(path: string, body: unknown, o?: CallOptions) => call<T>("POST", path, body, o);
export const patch = <T>(path: string, body: unknown) => call<T>("PATCH", path, body);
export const del = <T>(path: string) => call<T>("DELETE", path);

// absent reports an endpoint the node does not serve (yet).
export function absent(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501) && e.code !== "bad_request";
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}
