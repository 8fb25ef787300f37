import { h } from "../dom";
import { t } from "../i18n";
import { view, field } from "../ui";
import { signIn } from "../session";
import { ApiError } from "../api";

export function signInView(_next: string, expired: boolean, done: () => void): void {
  const key = h("input", { type: "password", name: "key", id: "key", attrs: { autocomplete: "off", spellcheck: "false", required: "" } });
  const msg = h("p", { class: "error", attrs: { role: "alert" } });
  const form = h(
    "form",
    {
      class: "signin",
      // Without the script the key would still go in a body, never a URL.
      attrs: { method: "post", action: "/v1/session" },
      on: {
        submit: async (ev) => {
          ev.preventDefault();
          msg.textContent = "";
          try {
            await signIn(key.value.trim());
            key.value = "";
            done();
          } catch (e) {
            key.value = "";
            msg.textContent = e instanceof ApiError && e.status === 401 ? t("signin.failed") : String((e as Error).message);
          }
        },
      },
    },
    expired ? h("p", { class: "notice" }, t("signin.expired")) : null,
    field(t("signin.key"), key),
    h("p", { class: "muted" }, t("signin.help")),
    h("button", { type: "submit", class: "primary" }, t("signin.submit")),
    msg,
  );
  view(t("signin.title"), form);
  key.focus();
}
