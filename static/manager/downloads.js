// Downloads: a day's visits as FHIR Encounters, its measures as a FHIR MeasureReport or CSV.

import { $, formState, busy } from "./ui.js";

const EXPORTS = {
  encounters: { path: "/export/encounters", name: (c, d) => `${c}-${d}-encounters.json`, what: "visits" },
  "measure-report": { path: "/export/measures", name: (c, d) => `${c}-${d}-measures.json`, what: "measures" },
  "measures-csv": { path: "/export/measures", query: "&format=csv", name: (c, d) => `${c}-${d}-measures.csv`, what: "measures" },
};

export function downloadsSection(ctx) {
  const form = formState($("downloads"), { day: "downloads-day" });

  for (const node of $("downloads").querySelectorAll("button[data-export]")) {
    node.addEventListener("click", () => busy(node, async () => {
      if (form.missing()) return;
      const spec = EXPORTS[node.dataset.export];
      const clinic = ctx.clinic();
      const day = $("downloads-day").value;
      try {
        const res = await ctx.raw(`/api/clinics/${encodeURIComponent(clinic)}${spec.path}?day=${day}${spec.query || ""}`);
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = document.createElement("a");
        a.href = url;
        a.download = spec.name(clinic, day);
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        form.ok(`Downloaded ${a.download}.`);
      } catch (err) {
        form.fail(err, `Could not download the ${spec.what}.`);
      }
    }));
  }

  return {
    floorChanged() {
      const day = ctx.floor().day;
      if (!day) return;
      $("downloads-day").max = day;
      if (!$("downloads-day").value) $("downloads-day").value = day;
    },
    clear() {
      form.clear();
      $("downloads-day").value = "";
    },
  };
}
