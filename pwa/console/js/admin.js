// The Administration screens (#/admin/…): communes and their coverage hours, on-call groups and their
// rotations, distribution lists, user accounts, integrations' API keys. A PC admin reaches every commune; a commune's referent
// only theirs (the API scopes every read and write), and neither creates communes nor manages accounts.

import { isAdmin } from "./admin-forms.js";
import { mountCommunes } from "./admin-communes.js";
import { mountGroups } from "./admin-groups.js";
import { mountIntegrations } from "./admin-integrations.js";
import { mountLists } from "./admin-lists.js";
import { mountUsers } from "./admin-users.js";
import { mountWebhooks } from "./admin-webhooks.js";
import { store } from "./store.js";

const SECTIONS = [
  { path: "communes", label: "Communes", mount: mountCommunes },
  { path: "groupes", label: "Groupes et rotations", mount: mountGroups },
  { path: "listes", label: "Listes de diffusion", mount: mountLists },
  { path: "utilisateurs", label: "Utilisateurs", mount: mountUsers, adminOnly: true },
  { path: "webhooks", label: "Webhooks", mount: mountWebhooks },
  { path: "integrations", label: "Intégrations", mount: mountIntegrations },
];

export const mayAdminister = () => ["admin", "referent"].includes(store.me?.role);

/** `sub` is what follows #/admin/: "communes", "communes/nouvelle", "groupes"… */
export function mountAdmin(root, sub = "") {
  const [path = "communes", action = ""] = (sub || "").split("/");
  const sections = SECTIONS.filter((s) => !s.adminOnly || isAdmin());
  const section = sections.find((s) => s.path === path) || sections[0];
  root.innerHTML = `<div class="admin-view" data-testid="admin">
      <div class="adm-head">
        <h1>Administration</h1>
        <nav class="adm-tabs" aria-label="Administration">${sections.map((s) =>
          `<a href="#/admin/${s.path}"${s === section ? ' class="active" aria-current="page"' : ""}>${s.label}</a>`).join("")}</nav>
        <p class="adm-scope muted">${isAdmin() ? "Administrateur du PC : toutes les communes servies."
          : "Référent : votre commune seulement."}
          · <a href="#/personnes">Personnes et coordonnées</a>
          · <a href="/docs" target="_blank" rel="noopener" data-testid="api-docs">Documentation de l'API</a></p>
      </div>
      <div id="adm-body"></div>
    </div>`;
  const child = section.mount(root.querySelector("#adm-body"), { action });
  return { unmount: () => child?.unmount?.() };
}
