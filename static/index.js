// The landing page: one board link per clinic this server runs. Text only through textContent.

const list = document.getElementById("clinics");

function item(...children) {
  const li = document.createElement("li");
  li.append(...children);
  return li;
}

async function load() {
  let clinics;
  try {
    const res = await fetch("/api/clinics", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    clinics = await res.json();
  } catch (e) {
    const a = document.createElement("a");
    a.href = "board.html";
    a.textContent = "Live board (first clinic)";
    list.replaceChildren(item(a, ` (could not list clinics: ${e.message})`));
    return;
  }
  if (!Array.isArray(clinics) || clinics.length === 0) {
    list.replaceChildren(item("No clinics are configured on this server."));
    return;
  }
  list.replaceChildren(...clinics.map((c) => {
    const a = document.createElement("a");
    a.href = `board.html?clinic=${encodeURIComponent(c.id)}`;
    a.textContent = String(c.name);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = ` · ${c.id} · ${c.timezone} · ${c.day}`;
    return item(a, meta);
  }));
}

load();
