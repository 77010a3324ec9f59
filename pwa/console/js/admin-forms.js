// What the Administration screens share: sending a change, saying a refusal in French next to the form
// (the typed values stay where they are), the communes in reach, and an ordered picker of people.

import { api, request } from "./api.js";
import { store } from "./store.js";
import { esc } from "./util.js";

export const ORGS_CHANGED = "vigie:orgs"; // window event: a commune was created or renamed

// The API's refusals of these screens, in French (its own messages are in English).
const REFUSALS = {
  code_taken: "Ce code est déjà pris par une autre commune.",
  integrity_conflict: "Ce changement entre en conflit avec des données existantes (code ou adresse déjà pris).",
  invalid_phone: "Ce numéro de téléphone n'est pas valide.",
  group_in_use: "Des procédures utilisent ce groupe : modifiez-les d'abord.",
  list_in_use: "Des procédures envoient leurs rapports à cette liste : modifiez-les d'abord.",
  email_taken: "Un utilisateur a déjà cette adresse e-mail.",
  invalid_email: "Cette adresse e-mail n'est pas valide.",
  password_not_used: "Un compte d'astreinte se connecte depuis l'application, sans mot de passe.",
  own_account: "Vous ne pouvez ni changer le rôle de votre propre compte ni le désactiver.",
  role_not_allowed_here: "Un opérateur ou un administrateur appartient à la métropole (le PC), pas à une commune.",
  password_required: "Ce rôle se connecte avec un mot de passe d'au moins 10 caractères.",
  person_required: "Un compte d'astreinte est une personne de l'annuaire : choisissez-la.",
  unknown_person: "Cette personne n'est pas dans l'annuaire de cette commune.",
  person_inactive: "Cette personne est désactivée.",
  not_member: "Cette personne n'appartient pas à la commune.",
  exception_exists: "Cette date a déjà des horaires particuliers : supprimez-les d'abord.",
  duplicate_member: "Une personne figure deux fois dans la rotation.",
  empty_rotation: "La rotation doit compter au moins une personne.",
  rotation_superseded: "Une version plus récente de la rotation existe : modifiez-la plutôt.",
  role_forbidden: "Votre rôle ne permet pas cette modification.",
  expiry_in_past: "La date d'expiration est déjà passée.",
  already_revoked: "Cette clé est déjà révoquée.",
  rule_target: "Chaque catégorie mène à une procédure ou à des groupes.",
  unknown_procedure: "Cette procédure n'est pas d'une commune couverte par la clé.",
  unknown_group: "Ces groupes ne sont pas d'une seule commune couverte par la clé.",
};

// What a field expects, said when the API finds it invalid (422 invalid_input, details[].loc).
const FIELDS = {
  name: "le nom est obligatoire (200 caractères au plus)",
  code: "le code compte 2 à 20 lettres A-Z ou chiffres, sans espace ni accent",
  timezone: "fuseau horaire inconnu (ex. : Europe/Paris)",
  pc_phone: "numéro du PC invalide",
  voice_after_sms_minutes: "de 1 à 120 minutes, ou vide pour ne jamais appeler",
  email: "adresse e-mail invalide",
  full_name: "le nom est obligatoire",
  password: "le mot de passe compte au moins 10 caractères",
  role: "choisissez un rôle",
  organization_id: "choisissez la commune",
  weekly: "une plage est « HH:MM » → « HH:MM » (24:00 pour minuit), la fin après le début",
  windows: "une plage est « HH:MM » → « HH:MM » (24:00 pour minuit), la fin après le début",
  day: "choisissez la date",
  label: "le libellé compte 200 caractères au plus",
  member_ids: "la rotation compte au moins une personne",
  anchor_local: "indiquez la date et l'heure de la relève",
  turn_days: "un tour dure de 1 à 366 jours",
  kind: "choisissez le type du groupe",
  person_ids: "liste des personnes invalide",
  watch_confirm_minutes: "de 5 à 720 minutes",
  scopes: "cochez au moins un droit",
  expires_at: "date d'expiration invalide",
  severities: "une gravité de la source compte 50 caractères au plus, et mène à 1, 2, 3 ou 4",
};

/** The refusal in French, with what each faulty field expects. */
export function refusal(error) {
  if (error.code === "invalid_input" && Array.isArray(error.details)) {
    const fields = [...new Set(error.details.map((d) => (d.loc || []).find((part) => FIELDS[part])).filter(Boolean))];
    if (fields.length) return `Vérifiez : ${fields.map((f) => FIELDS[f]).join(" ; ")}.`;
  }
  if (error.code === "group_in_use" && error.details?.procedures?.length) {
    return `${REFUSALS.group_in_use} (${error.details.procedures.join(", ")})`;
  }
  if (error.code === "group_in_use") return "Ce groupe a déjà été sollicité pour des événements : il est conservé pour leur historique.";
  return REFUSALS[error.code] || error.french;
}

/** The inputs the API found invalid: `name`, or in a list of rows (`data-list`), the row's `name`. */
function faultyInputs(form, error) {
  if (error.code !== "invalid_input" || !Array.isArray(error.details)) return [];
  return error.details.flatMap((d) => {
    const loc = (d.loc || []).filter((part) => part !== "body");
    const [first, index, field] = loc;
    const rows = form.querySelector(`[data-list="${first}"]`);
    if (rows && Number.isInteger(index)) {
      const row = rows.children[index];
      return row ? [...row.querySelectorAll(field ? `[name="${field}"]` : "[name]")] : [];
    }
    return typeof first === "string" ? [...form.querySelectorAll(`[name="${first}"]`)] : [];
  });
}

/** Says the refusal in the form's alert and marks the faulty inputs; nothing typed is touched. */
export function showRefusal(form, error) {
  const alert = form.querySelector(".form-error");
  if (alert) {
    alert.textContent = refusal(error);
    alert.hidden = false;
  }
  const faulty = new Set(faultyInputs(form, error));
  for (const input of form.querySelectorAll("[name]")) input.toggleAttribute("aria-invalid", faulty.has(input));
}

export function clearRefusal(form) {
  const alert = form.querySelector(".form-error");
  if (alert) alert.hidden = true;
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** Sends a change from a form: the button waits, a refusal is shown in the form. Returns the reply or null. */
export async function submitFrom(form, method, path, json) {
  clearRefusal(form);
  const buttons = [...form.querySelectorAll("button")];
  for (const b of buttons) b.disabled = true;
  try {
    return { ok: true, data: await request(method, path, json === undefined ? {} : { json }) };
  } catch (error) {
    showRefusal(form, error);
    return { ok: false, error };
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

export const errorBox = () => `<p class="form-error" role="alert" hidden></p>`;

export const isAdmin = () => store.me?.role === "admin";

/** The communes the user may administer: all those in reach for an admin, their own for a referent. */
export function editableCommunes() {
  return [...store.orgs.values()]
    .filter((o) => o.kind === "commune" && (isAdmin() || o.id === store.me.organization_id))
    .sort((a, b) => a.name.localeCompare(b.name, "fr"));
}

/** The organizations in reach read again (a commune created or renamed), and every screen told. */
export async function refreshOrgs() {
  const orgs = await api.get("/api/v1/organizations");
  store.orgs = new Map(orgs.map((o) => [o.id, o]));
  window.dispatchEvent(new CustomEvent(ORGS_CHANGED));
}

export function communeOptions(list, selected) {
  return list.map((o) => `<option value="${o.id}"${o.id === selected ? " selected" : ""}>${esc(o.name)}</option>`).join("");
}

/** The active people of a commune, by name. */
export async function peopleOf(orgId) {
  const people = await api.get(`/api/v1/people?organization_id=${orgId}&active=true&limit=1000`);
  return people.sort((a, b) => a.display_name.localeCompare(b.display_name, "fr"));
}

/**
 * An ordered (or not) list of people with an « Ajouter » choice among `people`; buttons move a person up or
 * down and take them out — every one a real button, so the keyboard does it all. `onChange` after each move.
 */
export function mountPicker(box, { people, ids, ordered = true, label, onChange = () => {} }) {
  let chosen = [...ids];
  const names = new Map(people.map((p) => [p.id, p.display_name]));
  const nameOf = (id) => names.get(id) || `Personne n° ${id}`;

  function render(focus) {
    const rest = people.filter((p) => !chosen.includes(p.id));
    box.innerHTML = `<ol class="adm-picker${ordered ? "" : " unordered"}" aria-label="${esc(label)}">${chosen.map((id, i) =>
      `<li data-person-id="${id}"><span class="adm-pos">${ordered ? `${i + 1}.` : "•"}</span>
        <span class="adm-who">${esc(nameOf(id))}</span>
        ${ordered ? `<button type="button" class="small" data-up="${i}" aria-label="Monter ${esc(nameOf(id))}"${i === 0 ? " disabled" : ""}>↑</button>
        <button type="button" class="small" data-down="${i}" aria-label="Descendre ${esc(nameOf(id))}"${i === chosen.length - 1 ? " disabled" : ""}>↓</button>` : ""}
        <button type="button" class="small" data-remove="${i}" aria-label="Retirer ${esc(nameOf(id))}">Retirer</button></li>`).join("")
      || `<li class="muted">Personne pour l'instant.</li>`}</ol>
      <div class="adm-add">${rest.length ? `<label class="inline">Ajouter
        <select data-add aria-label="Ajouter une personne à : ${esc(label)}"><option value="">— choisir —</option>${rest.map((p) =>
          `<option value="${p.id}">${esc(p.display_name)}</option>`).join("")}</select></label>`
        : people.length ? `<span class="muted small">Toutes les personnes de la commune y sont.</span>`
          : `<span class="muted small">Aucune personne dans l'annuaire de la commune : <a href="#/personnes">ajoutez-en</a>.</span>`}</div>`;
    if (focus) box.querySelector(focus)?.focus();
  }

  box.addEventListener("click", (click) => {
    const button = click.target.closest("button");
    if (!button) return;
    const { up, down, remove } = button.dataset;
    let focus = null;
    if (up != null && Number(up) > 0) {
      const i = Number(up);
      [chosen[i - 1], chosen[i]] = [chosen[i], chosen[i - 1]];
      focus = i - 1 > 0 ? `[data-up="${i - 1}"]` : `[data-down="${i - 1}"]`;
    } else if (down != null && Number(down) < chosen.length - 1) {
      const i = Number(down);
      [chosen[i + 1], chosen[i]] = [chosen[i], chosen[i + 1]];
      focus = i + 1 < chosen.length - 1 ? `[data-down="${i + 1}"]` : `[data-up="${i + 1}"]`;
    } else if (remove != null) {
      chosen.splice(Number(remove), 1);
      focus = "[data-add]";
    } else {
      return;
    }
    render(focus);
    onChange(chosen);
  });
  box.addEventListener("change", (change) => {
    if (!change.target.matches("[data-add]") || !change.target.value) return;
    chosen.push(Number(change.target.value));
    render("[data-add]");
    onChange(chosen);
  });
  render();
  return {
    get ids() { return [...chosen]; },
    set(next) { chosen = [...next]; render(); },
  };
}

const COMMUNE_KEY = "vigie.console.admin.org";

/** The commune a section works on: the last one chosen in Administration, else the first. */
export function chosenCommune() {
  const list = editableCommunes();
  const saved = Number(sessionStorage.getItem(COMMUNE_KEY));
  return list.some((o) => o.id === saved) ? saved : list[0]?.id ?? null;
}

export function chooseCommune(orgId) {
  sessionStorage.setItem(COMMUNE_KEY, String(orgId));
}

/** The commune's choice at the head of a section (its name alone when there is one). */
export function communeChoice(orgId) {
  const list = editableCommunes();
  if (list.length === 1) return `<p class="adm-commune">Commune : <strong>${esc(list[0].name)}</strong></p>`;
  return `<label class="inline adm-commune">Commune <select id="adm-org">${communeOptions(list, orgId)}</select></label>`;
}

/** No commune yet: where to go. */
export function noCommune() {
  return `<p class="empty" data-testid="no-commune">Aucune commune dans votre périmètre.${isAdmin()
    ? ` <a href="#/admin/communes/nouvelle">Créer une commune</a>` : ""}</p>`;
}
