// French wording of the console: every code value shown to the operator goes through here.

export const SEVERITY = { 1: "Information", 2: "Modéré", 3: "Grave", 4: "Critique" };

export function severityLabel(level) {
  return SEVERITY[level] || "Inconnue";
}

export const SOURCES = [
  ["phone", "Téléphone"], ["police", "Police"], ["sdis", "SDIS"], ["elu", "Élu"],
  ["sensor", "Capteur"], ["agent", "Agent"], ["other", "Autre"],
];
const SOURCE_LABELS = Object.fromEntries(SOURCES);
export const sourceLabel = (code) => SOURCE_LABELS[code] || code;

// Who called the PC (the call log), and the event source it gives when an event is opened from the call.
export const CALLER_CATEGORIES = [
  ["citizen", "Particulier"], ["police", "Police, gendarmerie"], ["sdis", "SDIS (pompiers)"], ["elu", "Élu"],
  ["sensor", "Capteur, hyperviseur"], ["agent", "Agent de la commune"], ["contractor", "Prestataire"],
  ["other", "Autre"],
];
const CALLER_LABELS = Object.fromEntries(CALLER_CATEGORIES);
export const callerLabel = (code) => CALLER_LABELS[code] || code;
export const CALLER_SOURCE = { citizen: "phone", police: "police", sdis: "sdis", elu: "elu", sensor: "sensor",
                               agent: "agent", contractor: "other", other: "other" };

export const REPORT_TRIGGER = { closure: "à la clôture", on_demand: "à la demande" };

export const CHANNELS = { sms: "SMS", email: "e-mail", push: "notification", fcm: "notification (app)", voice: "appel" };
export const channelLabel = (code) => CHANNELS[code] || code;

export const EVENT_STATUS = { open: "Ouvert", acknowledged: "Pris en charge", closed: "Clos" };
export const PAGE_STATUS = {
  active: "Sollicitation en cours", acknowledged: "Prise en charge", unreached: "Personne n'a répondu",
  cancelled: "Sollicitation arrêtée",
};
export const NOTIFICATION_STATUS = {
  queued: "En file", sent: "Envoyé", delivered: "Remis", failed: "Échec d'envoi", cancelled: "Annulé",
  merged: "Regroupé",
};
export const RESPONSE = {
  ack: "Pris en charge", decline: "Indisponible", en_route: "En route", on_site: "Sur place", done: "Terminé",
  need_help: "Renfort demandé", note: "Note",
};
export const PURPOSE = {
  solicit: "sollicitation", inform: "information", closing: "fin de sollicitation", confirm: "confirmation",
  report: "rapport", digest: "récapitulatif",
};
export const VIA = {
  app: "depuis l'application", push: "depuis la notification", sms: "par SMS", email: "par e-mail",
  link: "par lien e-mail", operator: "saisi par le PC", api: "par l'API", voice: "au téléphone (touche)",
};

export const TRACE_KINDS = {
  "event.created": "Événement créé",
  "event.informed": "Information envoyée",
  "event.requalified": "Requalifié",
  "event.closed": "Événement clos",
  "page.started": "Début des sollicitations",
  "page.notify": "Sollicitation",
  "page.escalated": "Escalade",
  "page.repeated": "Nouveau tour",
  "page.acknowledged": "Sollicitation terminée",
  "page.cancelled": "Sollicitation arrêtée",
  "page.unreached": "Personne n'a répondu",
  "notification.sent": "Envoyé",
  "notification.delivered": "Remis",
  "notification.failed": "Échec d'envoi",
  "notification.retry": "Nouvel essai d'envoi",
  "notification.fallback": "Canal de secours",
  "notification.merged": "Message regroupé",
  "response.ack": "Pris en charge",
  "response.decline": "Indisponible",
  "response.en_route": "En route",
  "response.on_site": "Sur place",
  "response.done": "Terminé",
  "response.need_help": "Renfort demandé",
  "response.note": "Note",
  "response.photo": "Photo",
  "trace.correction": "Correction",
  "contact.removed": "Moyen de contact retiré",
  "voice.answered": "Appel décroché",
  "voice.key": "Touche pressée",
  "voice.ended": "Appel terminé",
  "report.sent": "Rapport diffusé",
  "report.written": "Rapport rédigé",
  "alarm.repeated": "Alarme répétée (personne n'est sollicité à nouveau)",
  "alarm.cleared": "Fin d'alarme",
  "event.out_of_coverage": "Hors des heures du PC",
  "event.reinforcement_noted": "Renfort pris en compte par le PC",
  "event.cap": "Message CAP reçu",
};

export function traceKindLabel(kind) {
  if (TRACE_KINDS[kind]) return TRACE_KINDS[kind];
  const [family] = kind.split(".");
  const families = { event: "Événement", page: "Sollicitation", notification: "Message", response: "Réponse",
                     report: "Rapport", trace: "Main courante" };
  return families[family] ? `${families[family]} (${kind})` : kind;
}

// Error codes of the API, said in French (the API's own messages are in English).
export const ERRORS = {
  bad_credentials: "Identifiant ou mot de passe incorrect.",
  rate_limited: "Trop de tentatives : réessayez dans quelques minutes.",
  busy: "Vigie est très sollicitée en ce moment : rien n'a été enregistré, réessayez dans quelques secondes.",
  database_unavailable: "La base de données ne répond pas : rien n'a été enregistré, réessayez dans quelques secondes.",
  invalid_token: "Votre session a expiré : reconnectez-vous.",
  not_authenticated: "Votre session a expiré : reconnectez-vous.",
  reason_required: "Indiquez pourquoi vous répondez à sa place (ex. : joint par téléphone).",
  already_acknowledged: "Quelqu'un d'autre a déjà pris en charge cette sollicitation.",
  event_closed: "L'événement est clos.",
  same_severity: "L'événement a déjà cette gravité.",
  unknown_procedure: "Cette procédure n'appartient pas à la commune choisie.",
  no_active_page: "Aucune sollicitation en cours pour cette personne.",
  not_solicited: "Cette personne n'a pas été sollicitée pour cet événement.",
  person_required: "Choisissez la personne.",
  role_forbidden: "Votre rôle ne permet pas cette action.",
  forbidden: "Votre rôle ne permet pas cette action.",
  not_found: "Introuvable (supprimé ou hors de votre périmètre).",
  invalid_input: "Certaines informations sont invalides ou manquantes.",
  category_required: "Choisissez une procédure.",
  procedure_not_validated: "Cette procédure n'a pas encore de version validée : un administrateur du PC doit la valider.",
  procedure_or_groups: "Choisissez une procédure ou des groupes, pas les deux.",
  unknown_group: "Un des groupes n'appartient pas à la commune.",
  duplicate_group: "Un groupe figure deux fois.",
  category_taken: "La commune a déjà une procédure de ce titre.",
  version_not_draft: "Cette version n'est pas (ou plus) un brouillon à valider.",
  version_outdated: "Une version plus récente est déjà validée.",
  import_refused: "Le fichier comporte des problèmes : rien n'a été importé.",
  network: "Le serveur ne répond pas. Réessayez dans un instant.",
  call_has_event: "Un événement a déjà été ouvert depuis cet appel.",
  call_in_future: "L'heure de l'appel est dans le futur.",
  alert_in_future: "La date de l'alerte est dans le futur.",
  bad_period: "Période invalide : la fin doit suivre le début (au plus deux ans, un an pour la main courante).",
};
