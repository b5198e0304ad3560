// @ts-check
/**
 * What the Incidents panel and the dashboard card decide, without a DOM or a Home Assistant:
 * routes, requests, live updates of a list, how untrusted text is shown, durations, labels.
 * Tested with `node --test tests/frontend/`.
 */

/** @typedef {"pending" | "accepted" | "resolved"} Status */

/**
 * @typedef {object} IncidentSummary
 * @property {string} id
 * @property {string} source_id
 * @property {string} source_name
 * @property {Status} status
 * @property {string} summary
 * @property {string | null} key
 * @property {string} priority
 * @property {string} created
 * @property {string | null} last_email
 * @property {string | null} accepted_at
 * @property {string | null} accepted_by
 * @property {string | null} resolved_at
 * @property {string | null} resolved_by
 * @property {number} email_count
 * @property {string | null} snoozed_until
 * @property {number} escalation_level
 * @property {string} url
 */

/**
 * @typedef {object} IncidentEmail
 * @property {string} received
 * @property {string} from
 * @property {string[]} to
 * @property {string} subject
 * @property {string | null} message_id
 * @property {{name: string, content_type: string, size: number}[]} attachments
 * @property {string} body
 * @property {boolean} body_truncated
 */

/** @typedef {{kind: string, time: string, text: string, actor: string | null}} LogEntry */

/**
 * @typedef {IncidentSummary & {emails: IncidentEmail[], emails_omitted: number, log: LogEntry[]}}
 *   IncidentDetail
 */

/**
 * @typedef {object} Filters
 * @property {string} source_id
 * @property {string} status
 * @property {string} search
 * @property {string[]} [ids] only these incidents (a notification summary's link); none: all
 */

/** @typedef {{incident?: IncidentSummary, removed?: string}} IncidentChange */

export const DOMAIN = "email_incidents";
export const PANEL_PATH = "email-incidents";
export const PAGE_SIZE = 50;
/** Statuses of the status filter; "open" is pending or accepted. */
export const STATUS_FILTERS = ["open", "pending", "accepted", "resolved"];
/** Snooze durations offered, in minutes. */
export const SNOOZE_MINUTES = [15, 30, 60, 120, 240, 480, 1440];

/** @type {Filters} */
export const NO_FILTERS = Object.freeze({ source_id: "", status: "", search: "", ids: [] });

/** How many incidents a link's `?ids=` names at most; the websocket API's limit too. */
export const MAX_LINK_IDS = 500;
const INCIDENT_ID = /^INC-[0-9]{1,12}$/;

/**
 * The incident a panel route names: `{path: "/INC-42"}` is INC-42, an empty path the list.
 * @param {string | undefined | null} path the route's path below the panel's own
 * @returns {string | null}
 */
export function incidentIdFromPath(path) {
  const match = /^\/([^/?#]+)/.exec(path ?? "");
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/**
 * The panel's deep link of an incident.
 * @param {string} incidentId
 */
export function incidentPath(incidentId) {
  return `/${PANEL_PATH}/${encodeURIComponent(incidentId)}`;
}

/**
 * The incidents a link to the list names, such as a notification summary's
 * `/email-incidents?ids=INC-4,INC-5`: the ids of the form INC-<digits>, each once, in the
 * link's order, at most MAX_LINK_IDS of them; `ignored` counts the entries left out (not an
 * incident id, or beyond the limit). Null when the link has no `ids`.
 * @param {string | undefined | null} search the link's query, such as `location.search`
 * @returns {{ids: string[], ignored: number} | null}
 */
export function idsFromSearch(search) {
  const values = new URLSearchParams(search ?? "").getAll("ids");
  if (!values.length) return null;
  /** @type {Set<string>} */
  const ids = new Set();
  let ignored = 0;
  for (const entry of values.join(",").split(",")) {
    const id = entry.trim();
    if (!id || ids.has(id)) continue;
    if (INCIDENT_ID.test(id) && ids.size < MAX_LINK_IDS) ids.add(id);
    else ignored += 1;
  }
  return { ids: [...ids], ignored };
}

/**
 * The panel's list, of only these incidents when `ids` are given (as a summary links it).
 * @param {string[]} [ids]
 */
export function listPath(ids = []) {
  return ids.length ? `/${PANEL_PATH}?ids=${ids.join(",")}` : `/${PANEL_PATH}`;
}

/**
 * Whether two lists of ids are the same, in the same order.
 * @param {readonly string[]} a
 * @param {readonly string[]} b
 */
export function sameIds(a, b) {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

/**
 * The websocket message that lists one page of incidents; empty filters are left out.
 * @param {Filters} filters
 * @param {number} offset
 * @param {number} [limit]
 */
export function listRequest(filters, offset, limit = PAGE_SIZE) {
  return { type: `${DOMAIN}/incidents/list`, ...filterFields(filters), limit, offset };
}

/**
 * The websocket message that lists the ids of every incident the filters match (all pages).
 * @param {Filters} filters
 */
export function idsRequest(filters) {
  return { type: `${DOMAIN}/incidents/ids`, ...filterFields(filters) };
}

/**
 * The filters as fields of a websocket message; empty ones are left out.
 * @param {Filters} filters
 */
function filterFields(filters) {
  /** @type {Record<string, string | string[]>} */
  const fields = {};
  if (filters.ids?.length) fields.ids = filters.ids;
  if (filters.source_id) fields.source_id = filters.source_id;
  if (filters.status) fields.status = filters.status;
  const search = filters.search.trim();
  if (search) fields.search = search;
  return fields;
}

/**
 * Whether an incident passes the ids, source and status filters (the text search is the
 * server's).
 * @param {IncidentSummary} incident
 * @param {Filters} filters
 */
export function matchesFilters(incident, filters) {
  if (filters.ids?.length && !filters.ids.includes(incident.id)) return false;
  if (filters.source_id && incident.source_id !== filters.source_id) return false;
  if (filters.status === "open") return incident.status !== "resolved";
  return !filters.status || incident.status === filters.status;
}

/**
 * A pushed change applied to the page shown. An incident on the page that still passes the
 * filters is replaced in place; anything else (new, gone, moved across pages, or a text search
 * the server decides) makes the page stale: `reload` says to fetch it again.
 * @param {IncidentSummary[]} incidents the page shown
 * @param {IncidentChange} change
 * @param {Filters} filters
 * @returns {{incidents: IncidentSummary[], reload: boolean}}
 */
export function applyChange(incidents, change, filters) {
  const changed = change.incident;
  if (!changed) {
    const shown = incidents.some((incident) => incident.id === change.removed);
    return { incidents, reload: shown };
  }
  const index = incidents.findIndex((incident) => incident.id === changed.id);
  if (index >= 0 && matchesFilters(changed, filters) && !filters.search.trim()) {
    const updated = incidents.slice();
    updated[index] = changed;
    return { incidents: updated, reload: false };
  }
  return { incidents, reload: index >= 0 || matchesFilters(changed, filters) };
}

/**
 * The incident of a detail view after a pushed change: the summary's fields are fresh, the
 * e-mails and the timeline are fetched again when `reload`.
 * @param {IncidentDetail | null} detail
 * @param {IncidentChange} change
 * @returns {{detail: IncidentDetail | null, reload: boolean, removed: boolean}}
 */
export function applyChangeToDetail(detail, change) {
  if (!detail) return { detail, reload: false, removed: false };
  if (change.removed === detail.id) return { detail, reload: false, removed: true };
  if (change.incident?.id !== detail.id) return { detail, reload: false, removed: false };
  return { detail: { ...detail, ...change.incident }, reload: true, removed: false };
}

// Characters that reorder or hide text: bidirectional embeddings, overrides and isolates,
// zero-width characters, and C0/C1 controls other than tab and newline.
const HIDDEN_CHARACTERS =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/g;

/**
 * Untrusted text made visible as it is: each character that would reorder or hide text
 * (right-to-left overrides, zero-width spaces, control characters) is replaced by its code
 * point, such as ⟦U+202E⟧. The result is only ever put into text nodes.
 * @param {unknown} text
 */
export function visibleText(text) {
  if (text === null || text === undefined) return "";
  return String(text).replace(
    HIDDEN_CHARACTERS,
    (character) => `⟦U+${character.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}⟧`,
  );
}

/**
 * A duration such as "15 minutes" or "1 hour", in the user's language.
 * @param {number} minutes
 * @param {string} language
 */
export function formatMinutes(minutes, language) {
  const [value, unit] = minutes % 60 ? [minutes, "minute"] : [minutes / 60, "hour"];
  try {
    return new Intl.NumberFormat(language, { style: "unit", unit, unitDisplay: "long" }).format(
      value,
    );
  } catch {
    return new Intl.NumberFormat(undefined, { style: "unit", unit, unitDisplay: "long" }).format(
      value,
    );
  }
}

/**
 * A snooze duration for the snooze_incident action.
 * @param {number} minutes
 */
export function snoozeDuration(minutes) {
  return { hours: Math.floor(minutes / 60), minutes: minutes % 60 };
}

/**
 * Which actions an incident offers: snoozing and escalating concern the escalation of an
 * incident nobody accepted yet.
 * @param {IncidentSummary} incident
 */
export function availableActions(incident) {
  const pending = incident.status === "pending";
  return {
    accept: pending,
    resolve: incident.status !== "resolved",
    note: true,
    snooze: pending,
    escalate: pending,
  };
}

// --- selecting incidents and acting on the selection ------------------------------------------

/**
 * The selection after a click on an incident's checkbox, which is now `checked`. With `range`
 * (shift held) every incident of the page from the one clicked before (the anchor) to this one
 * becomes `checked` too, as in a file manager; without an anchor on the page only this one.
 * The incident clicked is the next anchor.
 * @param {ReadonlySet<string>} selected
 * @param {string[]} pageIds the ids of the page shown, in its order
 * @param {string} id
 * @param {boolean} checked
 * @param {string | null} anchor
 * @param {boolean} range
 * @returns {{selected: Set<string>, anchor: string}}
 */
export function clickSelection(selected, pageIds, id, checked, anchor, range) {
  const updated = new Set(selected);
  const from = range && anchor !== null ? pageIds.indexOf(anchor) : -1;
  const to = pageIds.indexOf(id);
  const ids =
    from >= 0 && to >= 0 ? pageIds.slice(Math.min(from, to), Math.max(from, to) + 1) : [id];
  for (const each of ids) {
    if (checked) updated.add(each);
    else updated.delete(each);
  }
  return { selected: updated, anchor: id };
}

/**
 * How much of the page is selected, for its "select all on this page" checkbox.
 * @param {ReadonlySet<string>} selected
 * @param {string[]} pageIds
 * @returns {"none" | "some" | "all"}
 */
export function pageSelection(selected, pageIds) {
  const count = pageIds.filter((id) => selected.has(id)).length;
  if (!count) return "none";
  return count === pageIds.length ? "all" : "some";
}

/**
 * The selection with every incident of the page added (`checked`) or taken out.
 * @param {ReadonlySet<string>} selected
 * @param {string[]} pageIds
 * @param {boolean} checked
 */
export function selectPage(selected, pageIds, checked) {
  const updated = new Set(selected);
  for (const id of pageIds) {
    if (checked) updated.add(id);
    else updated.delete(id);
  }
  return updated;
}

/** @typedef {"accept" | "resolve"} BulkAction */

/**
 * @typedef {object} BulkResult what the action did to one incident
 * @property {string} incident_id
 * @property {boolean} success
 * @property {string} [error] why not: the translation key of the action's error
 * @property {string} [message] the same in words (English)
 */

/** @typedef {{results: BulkResult[], succeeded: number, failed: number}} BulkResponse */

/**
 * The websocket message that accepts or resolves the incidents in one call of the action,
 * the note (if any) recorded in each one's timeline; the response tells what each did.
 * @param {BulkAction} action
 * @param {string[]} ids
 * @param {string} note
 */
export function bulkRequest(action, ids, note) {
  /** @type {Record<string, unknown>} */
  const data = { incident_id: ids };
  if (note.trim()) data.note = note.trim();
  return {
    type: "call_service",
    domain: DOMAIN,
    service: `${action}_incident`,
    service_data: data,
    return_response: true,
  };
}

/** How many ids of failed incidents are named for one reason; the rest are counted. */
export const FAILED_IDS_NAMED = 10;

/**
 * What a call of bulkRequest did, in words: "40 accepted", or "38 accepted, 2 failed:
 * INC-3 already resolved; INC-9 does not exist (any more)". Failures are grouped by reason.
 * @param {Record<string, string>} texts
 * @param {BulkAction} action
 * @param {BulkResponse} response
 * @returns {{text: string, failed: boolean}}
 */
export function bulkResultText(texts, action, response) {
  const done = translate(
    texts,
    action === "accept" ? "panel.bulk_accepted" : "panel.bulk_resolved",
    {
      count: response.succeeded,
    },
  );
  /** @type {Map<string, string[]>} */
  const byReason = new Map();
  for (const result of response.results) {
    if (result.success) continue;
    const key = `panel.reason_${result.error}`;
    const translated = translate(texts, key);
    const reason =
      translated === key ? visibleText(result.message || result.error || "") : translated;
    byReason.set(reason, [...(byReason.get(reason) ?? []), visibleText(result.incident_id)]);
  }
  if (!byReason.size) return { text: done, failed: false };
  const reasons = [...byReason]
    .map(([reason, ids]) => {
      const named = ids.slice(0, FAILED_IDS_NAMED).join(", ");
      const listed =
        ids.length > FAILED_IDS_NAMED
          ? translate(texts, "panel.and_more", {
              ids: named,
              count: ids.length - FAILED_IDS_NAMED,
            })
          : named;
      return `${listed} ${reason}`;
    })
    .join("; ");
  const failed = translate(texts, "panel.bulk_failed", { count: response.failed, reasons });
  return { text: `${done}, ${failed}`, failed: true };
}

/**
 * A translated text: `texts` are the integration's `selector` translations as the frontend
 * loads them; `{name}` placeholders are filled from `values`. A missing text shows its key.
 * @param {Record<string, string>} texts
 * @param {string} key such as "panel.accept" or "status.pending"
 * @param {Record<string, string | number>} [values]
 */
export function translate(texts, key, values = {}) {
  const [group, option] = key.split(".", 2);
  const text = texts[`component.${DOMAIN}.selector.${group}.options.${option}`] ?? key;
  return text.replace(/\{(\w+)\}/g, (placeholder, name) =>
    name in values ? String(values[name]) : placeholder,
  );
}

/**
 * What the chip of a summary's link says: "37 incidents from a notification summary".
 * @param {Record<string, string>} texts
 * @param {number} count how many incidents the link names
 */
export function idsFilterText(texts, count) {
  return count === 1
    ? translate(texts, "panel.ids_filter_one")
    : translate(texts, "panel.ids_filter_other", { count });
}

/**
 * The name of a kind of timeline entry; an unknown kind shows as it is.
 * @param {Record<string, string>} texts
 * @param {string} kind
 */
export function logKindLabel(texts, kind) {
  const key = `log_kind.${kind}`;
  const label = translate(texts, key);
  return label === key ? visibleText(kind) : label;
}

/**
 * A point in time in the user's language.
 * @param {string | null | undefined} iso
 * @param {string} language
 * @param {string} [timeZone] Home Assistant's time zone; the browser's when not given
 * @param {"medium" | "short"} [timeStyle] "short" leaves the seconds out
 */
export function formatTime(iso, language, timeZone, timeStyle = "medium") {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  try {
    return date.toLocaleString(language, { dateStyle: "medium", timeStyle, timeZone });
  } catch {
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle });
  }
}

/** @type {[Intl.RelativeTimeFormatUnit, number][]} */
const UNITS = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
];

/**
 * How long ago, such as "5 minutes ago", in the user's language.
 * @param {string | null | undefined} iso
 * @param {string} language
 * @param {number} [now] milliseconds since the epoch
 */
export function formatAge(iso, language, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return "";
  let format;
  try {
    format = new Intl.RelativeTimeFormat(language, { numeric: "auto" });
  } catch {
    format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  }
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(seconds, "second");
}

/**
 * A size in bytes, such as "12.5 KiB".
 * @param {number} size
 */
export function formatSize(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * @typedef {object} RegistryDevice
 * @property {string} id
 * @property {string | null} name
 * @property {string | null} [name_by_user]
 * @property {[string, string][]} identifiers
 * @property {string | null} [config_subentry_id] the device's one subentry (2026.10 and later)
 * @property {Record<string, (string | null)[]>} [config_entries_subentries] the same for older
 *   releases (deprecated in 2026.10, removed in 2027.8)
 */

/**
 * The config subentries a device belongs to, from whichever field the release sends.
 * @param {RegistryDevice} device
 * @returns {(string | null)[]}
 */
export function deviceSubentries(device) {
  if ("config_subentry_id" in device) return [device.config_subentry_id ?? null];
  return Object.values(device.config_entries_subentries ?? {}).flat();
}

/**
 * The alert sources to choose from: the devices of the integration that belong to a subentry
 * (the listener's device does not), and any source seen on an incident.
 * @param {RegistryDevice[]} devices
 * @param {IncidentSummary[]} [incidents]
 * @returns {{id: string, name: string}[]} sorted by name
 */
export function sourceOptions(devices, incidents = []) {
  /** @type {Map<string, string>} */
  const sources = new Map();
  for (const device of devices) {
    const subentries = deviceSubentries(device);
    for (const [domain, id] of device.identifiers ?? []) {
      if (domain === DOMAIN && subentries.includes(id)) {
        sources.set(id, device.name_by_user || device.name || id);
      }
    }
  }
  for (const incident of incidents) {
    if (!sources.has(incident.source_id)) sources.set(incident.source_id, incident.source_name);
  }
  return [...sources]
    .map(([id, name]) => ({ id, name }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * @typedef {object} CardConfig
 * @property {string} type
 * @property {string} [title]
 * @property {string[]} [sources]
 * @property {number} [limit]
 */

export const CARD_LIMIT = 10;

/**
 * The card's configuration checked: unknown types of values are refused with an Error, as
 * Lovelace shows a card's setConfig error.
 * @param {any} config
 * @returns {CardConfig}
 */
export function checkCardConfig(config) {
  if (!config || typeof config !== "object") throw new Error("Invalid configuration");
  const { sources, limit, title } = config;
  if (sources !== undefined) {
    if (!Array.isArray(sources) || !sources.every((source) => typeof source === "string")) {
      throw new Error("sources must be a list of alert source ids");
    }
  }
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) {
    throw new Error("limit must be a whole number from 1 to 100");
  }
  if (title !== undefined && typeof title !== "string") throw new Error("title must be text");
  return config;
}

/**
 * The websocket messages that fetch the open incidents a card shows: one for all sources, or
 * one per chosen source.
 * @param {CardConfig} config
 */
export function cardRequests(config) {
  const limit = config.limit ?? CARD_LIMIT;
  const sources = config.sources?.length ? config.sources : [""];
  return sources.map((source_id) =>
    listRequest({ ...NO_FILTERS, source_id, status: "open" }, 0, limit),
  );
}

/**
 * The pages of several list requests as one list, newest first, at most `limit` long.
 * @param {{incidents: IncidentSummary[], total: number}[]} pages
 * @param {number} limit
 */
export function mergePages(pages, limit) {
  const incidents = pages
    .flatMap((page) => page.incidents)
    .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0))
    .slice(0, limit);
  const total = pages.reduce((sum, page) => sum + page.total, 0);
  return { incidents, total };
}

// --- who is on call ---------------------------------------------------------------------------

/** @typedef {{person: string, name: string}} RotationMember a person entity and its name */

/**
 * @typedef {object} OnCallNow who is on call in a rotation now
 * @property {string} person
 * @property {string} name
 * @property {string} until when the shift or the override ends
 * @property {string} next_person who takes over then
 * @property {string} next_name
 * @property {boolean} overridden put on call by hand, not by the schedule
 */

/**
 * @typedef {object} RotationView a rotation as the websocket command `on_call` sends it
 * @property {string} id
 * @property {string} name
 * @property {string | null} entity_id its on-call sensor, whose state changes at each handover
 * @property {RotationMember[]} members in order
 * @property {number} shift_length
 * @property {string} shift_unit "hours", "days" or "weeks"
 * @property {string | null} shift_until when the shift running now ends (by the schedule)
 * @property {OnCallNow | null} on_call
 */

/**
 * How an override ends: with the shift running now (what the action does when told neither),
 * after a duration, or at a moment typed as the wall clock of Home Assistant's time zone.
 * @typedef {{kind: "shift"} | {kind: "duration", minutes: number} | {kind: "until", local: string}}
 *   OverrideEnd
 */

/** The panel's On call view: /email-incidents/on-call. */
export const ON_CALL_PATH = `/${PANEL_PATH}/on-call`;
/** Durations an override offers, in minutes: an hour to a week. */
export const OVERRIDE_MINUTES = [60, 120, 240, 480, 720, 1440, 2880, 4320, 10080];

/**
 * Which view of the panel a route shows: the list, one incident, or who is on call.
 * @param {string | undefined | null} path the route's path below the panel's own
 * @returns {{view: "list" | "on_call"} | {view: "incident", id: string}}
 */
export function panelView(path) {
  if (/^\/on-call\/?$/.test(path ?? "")) return { view: "on_call" };
  const id = incidentIdFromPath(path);
  return id ? { view: "incident", id } : { view: "list" };
}

/**
 * What the panel watches of Home Assistant's states to know that who is on call changed: the
 * on-call sensors' last updates. A handover, an override and its end each write the sensor;
 * a rotation removed takes its sensor away. Equal texts: nothing changed.
 * @param {Record<string, {last_updated?: string} | undefined> | undefined} states
 * @param {RotationView[]} rotations
 */
export function onCallSignature(states, rotations) {
  return rotations
    .map((rotation) =>
      rotation.entity_id
        ? `${rotation.entity_id}@${states?.[rotation.entity_id]?.last_updated ?? ""}`
        : "",
    )
    .join(" ");
}

/**
 * Who is on call in a rotation and until when, in a line: "Anna until Apr 6, 2027, 9:00 AM".
 * @param {Record<string, string>} texts
 * @param {RotationView} rotation
 * @param {string} language
 * @param {string} [timeZone] Home Assistant's time zone
 */
export function onCallLine(texts, rotation, language, timeZone) {
  const now = rotation.on_call;
  if (!now) return translate(texts, "panel.nobody_on_call");
  return translate(texts, "panel.on_call_line", {
    person: visibleText(now.name),
    until: formatTime(now.until, language, timeZone, "short"),
  });
}

/**
 * Who an override puts on call unless the user chooses another: the member after the one on
 * call now, in the rotation's order (the only member of a rotation of one).
 * @param {RotationView} rotation
 */
export function defaultOverrideMember(rotation) {
  const members = rotation.members;
  if (!members.length) return "";
  const index = members.findIndex((member) => member.person === rotation.on_call?.person);
  return members[(index + 1) % members.length].person;
}

/**
 * The data of the action `set_on_call` that puts a member on call until the end chosen.
 * @param {string} rotationId
 * @param {string} person
 * @param {OverrideEnd} end
 */
export function overrideData(rotationId, person, end) {
  /** @type {Record<string, unknown>} */
  const data = { rotation: rotationId, member: person };
  if (end.kind === "duration") data.duration = snoozeDuration(end.minutes);
  // A time without offset is Home Assistant's local time to the action.
  if (end.kind === "until") data.until = end.local;
  return data;
}

/**
 * A moment as a date-time field shows it (`YYYY-MM-DDTHH:MM`): the wall clock of the time zone.
 * Empty for no moment, or one that cannot be read.
 * @param {string | null | undefined} iso
 * @param {string} [timeZone] Home Assistant's time zone; the browser's when not given
 */
export function localDateTime(iso, timeZone) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  /** @type {Intl.DateTimeFormatOptions} */
  const options = {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  };
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-US", { ...options, timeZone }).formatToParts(date);
  } catch {
    parts = new Intl.DateTimeFormat("en-US", options).formatToParts(date);
  }
  /** @type {Record<string, string>} */
  const part = {};
  for (const { type, value } of parts) part[type] = value;
  return `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}`;
}

/** @type {Record<string, string>} */
const UNIT_NAMES = { minutes: "minute", hours: "hour", days: "day", weeks: "week" };

/**
 * A length of time such as "1 week", "12 hours" or "2 days", in the user's language.
 * @param {number} value
 * @param {string} unit "minutes", "hours", "days" or "weeks" (a rotation's shift unit)
 * @param {string} language
 */
export function formatLength(value, unit, language) {
  /** @type {Intl.NumberFormatOptions} */
  const format = { style: "unit", unit: UNIT_NAMES[unit] ?? "minute", unitDisplay: "long" };
  try {
    return new Intl.NumberFormat(language, format).format(value);
  } catch {
    return new Intl.NumberFormat(undefined, format).format(value);
  }
}

/**
 * A duration offered for an override, in the largest unit it is a whole number of: "2 hours",
 * "1 day", "1 week".
 * @param {number} minutes
 * @param {string} language
 */
export function formatOverrideDuration(minutes, language) {
  if (minutes % 10080 === 0) return formatLength(minutes / 10080, "weeks", language);
  if (minutes % 1440 === 0) return formatLength(minutes / 1440, "days", language);
  if (minutes % 60 === 0) return formatLength(minutes / 60, "hours", language);
  return formatLength(minutes, "minutes", language);
}
