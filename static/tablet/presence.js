// Provider presence on the tablet: running late to clinic, stepped away, back (a provider their own, an
// assistant or a manager any provider's), and its Undo.

import { ApiError, Offline, newKey } from "../lib/api.js";
import { StoredThatDay } from "../lib/outbox.js";
import { labels, t } from "../lib/i18n.js";
import { $, el } from "../lib/dom.js";
import { kept, keptTap } from "./kept.js";
import { currentView, render } from "./lists.js";
import { signInEnded } from "./session.js";
import { app, board, clock, errorText, providerName, sameClinic, setText, toasts } from "./state.js";

export const PRESENCE_LABEL = labels("presence", { running_late: "running late to clinic", stepped_away: "stepped away", back: "back" });

/** Whose presence this tablet may say: a provider their own, an assistant or a manager any provider's. */
function presenceProvider() {
  if (!app.me || board.seq === null) return null;
  if (app.me.role === "provider") return app.me.provider && board.providers.has(app.me.provider) ? app.me.provider : null;
  if (app.me.role !== "medical_assistant" && app.me.role !== "manager") return null;
  const chosen = $("presence-provider").value;
  return board.providers.has(chosen) ? chosen : null;
}

export function fillPresenceProviders() {
  const select = $("presence-provider");
  const keep = select.value;
  select.replaceChildren(...[...board.providers.values()].map((p) => el("option", { value: p.id, text: p.name })));
  if (board.providers.has(keep)) select.value = keep;
}
$("presence-provider").addEventListener("change", () => render());

function presenceText(provider, p) {
  const own = app.me && app.me.provider === provider;
  const name = providerName(provider);
  if (!p || p.status === "back") return t(own ? "presence.you_on_floor" : "presence.on_floor", { name });
  const back = p.back_at ? t("presence.back_about", { time: clock(p.back_at) }) : "";
  return t(own ? "presence.you_said" : "presence.said", { name, what: PRESENCE_LABEL[p.status], back,
    by: p.by === app.me?.id ? t("presence.by_you") : p.by });
}

export function renderPresence() {
  const section = $("presence");
  const view = currentView();
  const provider = presenceProvider();
  const shown = view === "provider" || view === "medical_assistant";
  section.hidden = !shown || (app.me.role === "provider" && !provider) || board.seq === null;
  if (section.hidden) return;
  const own = app.me.role === "provider";
  $("presence-provider-field").hidden = own;
  setText($("presence-title"), t(own ? "presence.where_you" : "presence.where"));
  const p = provider ? board.presence.get(provider) : null;
  // A tap on its way says so beside the buttons it holds (the offline banner lists it too).
  const sending = app.presencePending?.provider === provider ? ` ${t("card.sending")}` : "";
  setText($("presence-now"), provider ? `${presenceText(provider, p)}${sending}` : "");
  for (const button of section.querySelectorAll("button[data-presence]")) {
    button.disabled = Boolean(app.presencePending) || !provider;
    button.setAttribute("aria-pressed", String(Boolean(p) && p.status === button.dataset.presence && p.status !== "back"));
  }
}

$("presence").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-presence]");
  if (button && !button.disabled) sendPresence(button.dataset.presence);
});

const presencePath = (provider) =>
  `/api/clinics/${encodeURIComponent(board.clinic)}/providers/${encodeURIComponent(provider)}/presence`;

async function sendPresence(status) {
  const provider = presenceProvider();
  if (!provider || app.presencePending) return;
  const body = { type: status, expected_version: board.presence.get(provider)?.version ?? 0 };
  const minutes = document.querySelector("input[name='presence-minutes']:checked")?.value;
  if (status !== "back" && minutes) body.back_in_minutes = Number(minutes);
  const w = { provider, status, waiting: null };
  app.presencePending = w;
  render();
  const token = app.token;
  const here = sameClinic();
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: presencePath(provider), body, provider }), {
      token,
      onWaiting: (attempt, err) => {
        w.waiting = err instanceof Offline ? "offline" : "busy";
        render();
      },
    });
    if (!here()) return undefined;
    const p = answer.presence;
    board.presence.set(p.provider, p);
    const said = { name: providerName(provider), what: PRESENCE_LABEL[p.status] };
    toasts.show({ text: t(app.me.provider === provider ? "presence.you_now" : "presence.now", said), undo: { presence: provider, version: p.version },
      patient: providerName(provider) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signInEnded(err, token);
    if (err instanceof StoredThatDay) return undefined; // said by tablet/kept.js: stored on its own day
    toasts.show({ text: t("presence.could_not", { what: PRESENCE_LABEL[status], why: errorText(err) }), error: true, ms: 8000 });
  } finally {
    if (app.presencePending === w) app.presencePending = null;
    render();
  }
  return undefined;
}

export async function sendPresenceUndo(sent) {
  const { presence: provider, version } = sent.undo;
  const token = app.token;
  const here = sameClinic();
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: presencePath(provider),
      body: { type: "undo", expected_version: version }, provider }), {
      token,
      // As a step's undo: the toast and the offline banner say it waits for the network (it said "Undoing…").
      onWaiting: (attempt, err) => {
        sent.waiting = err instanceof Offline ? "offline" : "busy";
        if (toasts.current === sent) toasts.paint();
        render();
      },
    });
    if (!here()) return undefined;
    const p = answer.presence;
    board.presence.set(p.provider, p);
    toasts.show({ text: t("toast.undone", { what: presenceText(provider, p) }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signInEnded(err, token);
    if (err instanceof StoredThatDay) return undefined; // said by tablet/kept.js: stored on its own day
    toasts.show({ text: t("detail.could_not_undo", { why: errorText(err) }), error: true, ms: 8000 });
  } finally {
    render();
  }
  return undefined;
}
