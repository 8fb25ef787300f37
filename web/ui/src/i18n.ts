import { en, type Key } from "./messages/en";
import { ja } from "./messages/ja";
import { ko } from "./messages/ko";

// Every UI string comes from a catalogue; the language is the browser's
// (navigator.languages) unless the user chose one.
export type Lang = "en" | "ja" | "ko";
export const languages: { lang: Lang; name: string }[] = [
  { lang: "en", name: "English" },
  { lang: "ja", name: "日本語" },
  { lang: "ko", name: "한국어" },
];
const catalogues: Record<Lang, Record<Key, string>> = { en, ja, ko };
const stored = "tracehound.lang";

let current: Lang = pick();

function pick(): Lang {
  try {
    const s = localStorage.getItem(stored);
    if (s === "en" || s === "ja" || s === "ko") return s;
  } catch {
    /* storage blocked */
  }
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = l.toLowerCase().split("-")[0];
    if (base === "ja" || base === "ko" || base === "en") return base;
  }
  return "en";
}

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(stored, l);
  } catch {
    /* storage blocked */
  }
}

// t looks a message up and fills its {placeholders}.
export function t(key: Key, params?: Record<string, string | number>): string {
  let s = catalogues[current][key] ?? en[key] ?? key;
  if (params) for (const [k, v] of Object.entries(params)) s = s.split("{" + k + "}").join(String(v));
  return s;
}

export function fmtTime(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  return d.toLocaleString(current, { timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }) + " UTC";
}

export type { Key };
