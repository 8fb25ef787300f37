// Half-typed text survives a session that ends mid-sentence: drafts are
// kept in sessionStorage (this tab only) until the text is sent.
const prefix = "tracehound.draft.";

export function keep(el: HTMLTextAreaElement | HTMLInputElement, key: string): () => void {
  const k = prefix + key;
  try {
    const v = sessionStorage.getItem(k);
    if (v !== null && el.value === "") el.value = v;
  } catch {
    /* storage blocked */
  }
  el.addEventListener("input", () => {
    try {
      if (el.value) sessionStorage.setItem(k, el.value);
      else sessionStorage.removeItem(k);
    } catch {
      /* storage full or blocked */
    }
  });
  return () => {
    try {
      sessionStorage.removeItem(k);
    } catch {
      /* storage blocked */
    }
  };
}
