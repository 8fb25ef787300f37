import { call, setCSRF } from "./api";

export interface Who {
  name: string;
  roles: string[];
  clearance: string;
  via: string;
  csrf_token?: string;
}

let who: Who | null = null;

export function current(): Who | null {
  return who;
}

export function set(w: Who | null): void {
  who = w;
  setCSRF(w?.csrf_token ?? "");
}

// can reports whether the signed-in key holds role (admin holds all).
export function can(role: string): boolean {
  return !!who && (who.roles.includes(role) || who.roles.includes("admin"));
}

const tlpOrder = ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"];

export function tlpRank(tlp: string): number {
  const i = tlpOrder.indexOf((tlp || "").toUpperCase());
  return i < 0 ? tlpOrder.length : i;
}

// cleared reports whether the key may read something marked tlp.
export function cleared(tlp: string): boolean {
  return !!who && tlpRank(tlp) <= tlpRank(who.clearance);
}

// levels lists the TLP levels the key may mark a case with.
export function levels(): string[] {
  return tlpOrder.filter((l) => cleared(l) || can("admin"));
}

export async function resume(): Promise<Who | null> {
  try {
    const w = await call<Who>("GET", "/v1/session", undefined, { quiet401: true });
    set(w);
    return w;
  } catch {
    set(null);
    return null;
  }
}

export async function signIn(key: string): Promise<Who> {
  const w = await call<Who>("POST", "/v1/session", { key }, { quiet401: true });
  set(w);
  return w;
}

export async function signOut(): Promise<void> {
  try {
    await call("DELETE", "/v1/session", undefined, { quiet401: true });
  } finally {
    set(null);
  }
}
