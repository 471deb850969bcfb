// Pairing a wall display, on a manager's tablet: the code the wall shows, which clinic (and zone) it is for,
// its name. The page gives how to call the server (its sign-in) and which clinics this person has.
//
//   const pairing = pairingForm({ request, clinics: () => clinics, errorText });
//   pairing.show(clinic)   fill the clinic choice (chosen first) and its zones
//   pairing.reset()        forget what was shown (sign-out)

import { ApiError } from "../lib/api.js";
import { $, el, titleCase } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { show } from "../lib/page.js";

export function pairingForm({ request, clinics, errorText }) {
  const zonesOf = new Map(); // clinic id -> [zone]

  async function loadZones(clinic) {
    const select = $("pair-zone");
    const whole = el("option", { value: "", text: t("pair.whole_clinic") });
    select.replaceChildren(whole);
    let zones = zonesOf.get(clinic);
    if (!zones) {
      try {
        const b = await request("GET", `/api/clinics/${encodeURIComponent(clinic)}/board`);
        zones = [...new Set((b.rooms || []).map((r) => String(r.zone)))].sort();
        zonesOf.set(clinic, zones);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) show($("pair-message"), t("pair.could_not_list_zones", { why: errorText(err) }), "error");
        return;
      }
    }
    if ($("pair-clinic").value !== clinic) return; // changed meanwhile
    select.replaceChildren(whole, ...zones.map((z) => el("option", { value: z, text: titleCase(z) })));
  }

  $("pair-clinic").addEventListener("change", () => loadZones($("pair-clinic").value));

  $("pair-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const code = $("pair-code").value.replace(/[\s-]+/g, "").toUpperCase();
    const clinic = $("pair-clinic").value;
    const zone = $("pair-zone").value || null;
    const label = $("pair-label").value.trim();
    const button = $("pair-button");
    button.disabled = true;
    show($("pair-message"), "");
    try {
      const paired = await request("POST", "/api/displays", { code, clinic, zone, label });
      const clinicName = clinics().find((c) => c.id === paired.clinic)?.name || paired.clinic;
      show($("pair-message"),
        t(paired.zone ? "pair.paired_zone" : "pair.paired", { label: paired.label, clinic: clinicName, zone: titleCase(paired.zone || "") }),
        "success");
      $("pair-code").value = "";
      $("pair-label").value = "";
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      show($("pair-message"), errorText(err), "error");
      $(err instanceof ApiError && err.body?.field === "zone" ? "pair-zone" : "pair-code").focus();
    } finally {
      button.disabled = false;
    }
  });

  return {
    show(chosen) {
      const options = () => clinics().map((c) => el("option", { value: c.id, text: c.name }));
      $("pair-clinic").replaceChildren(...options());
      $("pair-clinic").value = chosen;
      loadZones(chosen);
    },
    reset() {
      zonesOf.clear();
      $("pair-message").hidden = true;
      $("pair-form").reset();
    },
  };
}
