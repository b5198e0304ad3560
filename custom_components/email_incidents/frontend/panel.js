// @ts-check
/**
 * The Incidents panel: every incident across alert sources, filtered, paged and live; a
 * selection of them (one, a range with shift, all on the page, all the filters match)
 * accepted or resolved together with a note; one incident with its header, actions, timeline
 * and e-mails at /email-incidents/INC-42. A notification summary's link,
 * /email-incidents?ids=INC-4,INC-5, shows only those incidents, under a removable chip.
 * Who is on call in each rotation, above the list and at /email-incidents/on-call, where a
 * member is put on call by hand (an override) and the rotation goes back to its schedule.
 */

import {
  errorMessage,
  h,
  icon,
  loadTexts,
  navigate,
  replaceChildren,
  SHARED_CSS,
  style,
} from "./dom.js";
import {
  applyChange,
  applyChangeToDetail,
  availableActions,
  bulkRequest,
  bulkResultText,
  clickSelection,
  defaultOverrideMember,
  DOMAIN,
  formatAge,
  formatLength,
  formatMinutes,
  formatOverrideDuration,
  formatSize,
  formatTime,
  idsFilterText,
  idsFromSearch,
  idsRequest,
  incidentPath,
  listPath,
  listRequest,
  localDateTime,
  logKindLabel,
  MAX_LINK_IDS,
  NO_FILTERS,
  ON_CALL_PATH,
  onCallLine,
  onCallSignature,
  overrideData,
  OVERRIDE_MINUTES,
  PAGE_SIZE,
  pageSelection,
  PANEL_PATH,
  panelView,
  sameIds,
  selectPage,
  SNOOZE_MINUTES,
  snoozeDuration,
  sourceOptions,
  STATUS_FILTERS,
  translate,
  visibleText,
} from "./logic.js";

/** @typedef {import("./dom.js").Hass} Hass */
/** @typedef {import("./logic.js").IncidentSummary} IncidentSummary */
/** @typedef {import("./logic.js").IncidentDetail} IncidentDetail */
/** @typedef {import("./logic.js").IncidentEmail} IncidentEmail */
/** @typedef {import("./logic.js").Filters} Filters */
/** @typedef {import("./logic.js").BulkAction} BulkAction */
/** @typedef {import("./logic.js").RotationView} RotationView */

/**
 * @typedef {object} OverrideForm the Override form of one rotation, as the user filled it in
 * @property {string} rotationId
 * @property {string} person
 * @property {"shift" | "duration" | "until"} end
 * @property {number} minutes
 * @property {string} local the end typed, `YYYY-MM-DDTHH:MM` in Home Assistant's time zone
 */

const RELOAD_DELAY_MS = 250;
const SEARCH_DELAY_MS = 300;

const LOG_ICONS = /** @type {Record<string, string>} */ ({
  created: "mdi:alert-circle-outline",
  email: "mdi:email-outline",
  accepted: "mdi:account-check",
  resolved: "mdi:check-circle-outline",
  escalated: "mdi:bullhorn-outline",
  notified: "mdi:message-arrow-right-outline",
  notify_failed: "mdi:message-alert-outline",
  note: "mdi:note-text-outline",
  snoozed: "mdi:alarm-snooze",
  escalate_now: "mdi:bullhorn",
  maintenance: "mdi:wrench-outline",
});

const LABELLED_KINDS = new Set(["created", "email", "note"]);

const CSS = `
  :host { display: block; min-height: 100vh; background: var(--primary-background-color);
    font-family: var(--paper-font-body1_-_font-family, var(--ha-font-family-body, Roboto, sans-serif)); }
  .toolbar { display: flex; align-items: center; gap: 4px; height: 56px; padding: 0 12px;
    box-sizing: border-box; font-size: 20px;
    background: var(--app-header-background-color, var(--primary-color));
    color: var(--app-header-text-color, var(--text-primary-color, #fff));
    border-bottom: var(--app-header-border-bottom, none); }
  .toolbar .title { flex: 1; margin-left: 12px; white-space: nowrap; overflow: hidden;
    text-overflow: ellipsis; }
  .toolbar button { background: none; border: none; color: inherit; cursor: pointer;
    width: 40px; height: 40px; border-radius: 50%; display: inline-flex;
    align-items: center; justify-content: center; }
  .toolbar button:hover { background: rgba(127, 127, 127, 0.2); }
  .toolbar button[hidden] { display: none; }
  .content { max-width: 1100px; margin: 0 auto; padding: 16px; box-sizing: border-box; }
  .card { background: var(--ha-card-background, var(--card-background-color, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    box-shadow: var(--ha-card-box-shadow, none);
    border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
    margin-bottom: 16px; overflow: hidden; }
  .card h2 { font-size: 16px; font-weight: 500; margin: 0; padding: 16px 16px 8px; }
  .filters { display: flex; flex-wrap: wrap; gap: 12px; padding: 16px; align-items: center; }
  .filters select, .filters input, textarea, .snooze select {
    font: inherit; font-size: 14px; color: var(--primary-text-color);
    background: var(--input-fill-color, var(--secondary-background-color, #f5f5f5));
    border: none; border-bottom: 1px solid var(--input-idle-line-color, var(--divider-color));
    border-radius: 4px 4px 0 0; padding: 10px 12px; min-height: 40px; box-sizing: border-box; }
  .filters input { flex: 1; min-width: 180px; }
  .ids-filter { display: inline-flex; align-items: center; gap: 6px; min-height: 36px;
    padding: 0 4px 0 12px; border-radius: 18px; font-size: 14px; font-weight: 500;
    color: var(--primary-text-color);
    background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.15);
    border: 1px solid var(--primary-color); }
  .ids-filter ha-icon { --mdc-icon-size: 18px; color: var(--primary-color); }
  .ids-filter button { display: inline-flex; align-items: center; justify-content: center;
    width: 28px; height: 28px; padding: 0; border: none; border-radius: 50%; cursor: pointer;
    color: var(--secondary-text-color); background: none; }
  .ids-filter button:hover { background: rgba(127, 127, 127, 0.2); }
  .ids-filter button ha-icon { --mdc-icon-size: 18px; color: inherit; }
  .ids-ignored { flex-basis: 100%; font-size: 13px; }
  .filters select:focus, .filters input:focus, textarea:focus {
    outline: none; border-bottom: 2px solid var(--primary-color); }
  .rows { list-style: none; margin: 0; padding: 0; }
  .row { display: grid; grid-template-columns: 28px 96px 1fr auto; gap: 4px 16px;
    align-items: center; padding: 12px 16px 12px 8px; border-top: 1px solid var(--divider-color);
    cursor: pointer; color: inherit; text-decoration: none; }
  .row:hover, .row:focus { background: var(--secondary-background-color); outline: none; }
  .row.selected { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.1); }
  .row .pick { grid-row: 1 / span 2; grid-column: 1; align-self: stretch; display: flex;
    align-items: center; justify-content: center; user-select: none; cursor: default; }
  .row .id { font-weight: 500; }
  .row .summary { overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
    grid-row: 1; grid-column: 3; }
  .row .meta { font-size: 13px; color: var(--secondary-text-color); grid-row: 2; grid-column: 3; }
  .row .side { text-align: right; font-size: 13px; color: var(--secondary-text-color);
    grid-row: 1 / span 2; grid-column: 4; }
  .row .status { grid-row: 1 / span 2; grid-column: 2; justify-self: start; }
  :host([narrow]) .row { grid-template-columns: 28px 1fr auto; }
  :host([narrow]) .row .pick { grid-row: 1 / span 3; }
  :host([narrow]) .row .status { grid-row: 1; grid-column: 2; justify-self: start; }
  :host([narrow]) .row .side { grid-row: 1; grid-column: 3; }
  :host([narrow]) .row .summary { grid-row: 2; grid-column: 2 / span 2; }
  :host([narrow]) .row .meta { grid-row: 3; grid-column: 2 / span 2; }
  input[type="checkbox"] { width: 18px; height: 18px; margin: 0; cursor: pointer;
    accent-color: var(--primary-color); }
  .selection { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px;
    padding: 8px 16px 8px 13px; border-top: 1px solid var(--divider-color); font-size: 14px;
    min-height: 36px; }
  .selection .count { font-weight: 500; }
  .selection button.link { font: inherit; color: var(--primary-color); background: none;
    border: none; padding: 4px; cursor: pointer; }
  .selection button.link:disabled { opacity: 0.5; cursor: default; }
  .bulk { display: flex; flex-wrap: wrap; gap: 8px; padding: 0 16px 12px; align-items: center; }
  .bulk input.bulk-note { flex: 1; min-width: 220px; font: inherit; font-size: 14px;
    color: var(--primary-text-color);
    background: var(--input-fill-color, var(--secondary-background-color, #f5f5f5));
    border: none; border-bottom: 1px solid var(--input-idle-line-color, var(--divider-color));
    border-radius: 4px 4px 0 0; padding: 8px 12px; min-height: 36px; box-sizing: border-box; }
  .bulk input.bulk-note:focus { outline: none; border-bottom: 2px solid var(--primary-color); }
  .message.done { background: rgba(67, 160, 71, 0.14); color: var(--primary-text-color); }
  .pager { display: flex; align-items: center; justify-content: flex-end; gap: 8px;
    padding: 8px 16px; border-top: 1px solid var(--divider-color); font-size: 14px; }
  .empty { padding: 32px 16px; text-align: center; color: var(--secondary-text-color); }
  .header { padding: 16px; }
  .header .summary { font-size: 22px; margin: 8px 0 12px; overflow-wrap: anywhere; }
  .chips { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
  .facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0;
    font-size: 14px; }
  .facts dt { color: var(--secondary-text-color); }
  .facts dd { margin: 0; overflow-wrap: anywhere; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; padding: 12px 16px;
    border-top: 1px solid var(--divider-color); align-items: center; }
  .note, .snooze { display: flex; flex-wrap: wrap; gap: 8px; padding: 0 16px 16px;
    align-items: flex-start; }
  .note textarea { flex: 1; min-width: 220px; min-height: 72px; resize: vertical; }
  .message { margin: 0 16px 12px; padding: 8px 12px; border-radius: 4px; font-size: 14px;
    background: rgba(219, 68, 55, 0.12); }
  .timeline { list-style: none; margin: 0; padding: 0 16px 12px; }
  .timeline li { display: grid; grid-template-columns: 24px 1fr; gap: 2px 12px; padding: 8px 0;
    border-bottom: 1px solid var(--divider-color); }
  .timeline li:last-child { border-bottom: none; }
  .timeline ha-icon { color: var(--secondary-text-color); --mdc-icon-size: 20px; grid-row: 1 / span 2; }
  .timeline .when { font-size: 12px; color: var(--secondary-text-color); }
  .timeline .text { overflow-wrap: anywhere; white-space: pre-wrap; }
  .timeline .kind { font-weight: 500; }
  .emails { list-style: none; margin: 0; padding: 0; }
  .email { border-top: 1px solid var(--divider-color); }
  .email > button { display: grid; grid-template-columns: 24px 1fr auto; gap: 2px 12px;
    width: 100%; padding: 12px 16px; text-align: left; font: inherit; color: inherit;
    background: none; border: none; cursor: pointer; }
  .email > button:hover { background: var(--secondary-background-color); }
  .email .subject { font-weight: 500; overflow-wrap: anywhere; }
  .email .from { font-size: 13px; color: var(--secondary-text-color); grid-column: 2; overflow-wrap: anywhere; }
  .email .when { font-size: 13px; color: var(--secondary-text-color); grid-row: 1; grid-column: 3; }
  .email .open-icon { grid-row: 1 / span 2; color: var(--secondary-text-color); }
  .email .details { padding: 0 16px 16px 52px; font-size: 14px; }
  .email pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 8px 0 0; padding: 12px;
    font-family: var(--code-font-family, monospace); font-size: 13px; border-radius: 4px;
    background: var(--secondary-background-color); color: var(--primary-text-color);
    max-height: 480px; overflow: auto; }
  .email .attachments { margin: 4px 0 0; padding-left: 20px; }
  .on-call-strip { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 16px;
    padding: 10px 16px; font-size: 14px; cursor: pointer; }
  .on-call-strip:hover, .on-call-strip:focus { background: var(--secondary-background-color);
    outline: none; }
  .on-call-strip > ha-icon { color: var(--primary-color); --mdc-icon-size: 20px; }
  .on-call-strip .label { font-weight: 500; }
  .on-call-strip .rotation-name { color: var(--secondary-text-color); }
  .rotation .header .name { font-size: 20px; margin-right: 4px; }
  .rotation .header .facts { margin-top: 8px; }
  .chip.overridden { background: var(--warning-color, #ffa600); }
  .override-form { display: flex; flex-wrap: wrap; gap: 12px; padding: 0 16px 16px;
    align-items: flex-end; }
  .override-form label { display: flex; flex-direction: column; gap: 4px; font-size: 12px;
    color: var(--secondary-text-color); }
  .override-form select, .override-form input { font: inherit; font-size: 14px;
    color: var(--primary-text-color);
    background: var(--input-fill-color, var(--secondary-background-color, #f5f5f5));
    border: none; border-bottom: 1px solid var(--input-idle-line-color, var(--divider-color));
    border-radius: 4px 4px 0 0; padding: 8px 12px; min-height: 40px; box-sizing: border-box;
    color-scheme: light dark; }
  .override-form select:focus, .override-form input:focus { outline: none;
    border-bottom: 2px solid var(--primary-color); }
  .override-form .buttons { display: flex; gap: 8px; }
`;

class EmailIncidentsPanel extends HTMLElement {
  constructor() {
    super();
    /** @type {Hass | undefined} */
    this._hass = undefined;
    this._narrow = false;
    /** @type {{prefix?: string, path?: string} | undefined} */
    this._route = undefined;
    /** @type {Record<string, string>} */
    this._texts = {};
    /** @type {Filters} */
    this._filters = { ...NO_FILTERS };
    /** entries of the link's `?ids=` left out: not incident ids, or beyond the limit */
    this._idsIgnored = 0;
    this._offset = 0;
    /** @type {IncidentSummary[]} */
    this._incidents = [];
    this._total = 0;
    this._listLoaded = false;
    /** @type {{id: string, name: string}[]} */
    this._sources = [];
    /** @type {import("./logic.js").RegistryDevice[]} */
    this._devices = [];
    /** @type {"list" | "incident" | "on_call"} */
    this._view = "list";
    /** @type {string | null} */
    this._incidentId = null;
    /** @type {IncidentDetail | null} */
    this._detail = null;
    /** @type {string} */
    this._error = "";
    /** @type {Set<number>} indexes of the e-mails shown open */
    this._openEmails = new Set();
    this._noteOpen = false;
    this._snoozeOpen = false;
    this._busy = false;
    /** @type {Set<string>} ids of the incidents selected in the list, on any page */
    this._selected = new Set();
    /** @type {string | null} the incident clicked last: where a shift-click range starts */
    this._anchor = null;
    this._bulkNote = "";
    /** @type {{text: string, failed: boolean} | null} what the last bulk action did */
    this._bulkResult = null;
    /** @type {RotationView[]} the rotations, by name, with who is on call */
    this._rotations = [];
    this._rotationsLoaded = false;
    /** the on-call sensors' last updates when the rotations were fetched: see _followOnCall */
    this._onCallSignature = "";
    this._onCallRequestNumber = 0;
    this._onCallFailed = false;
    /** @type {OverrideForm | null} */
    this._override = null;
    /** @type {(() => unknown) | null} */
    this._unsubscribe = null;
    this._started = false;
    this._listRequestNumber = 0;
    this._detailRequestNumber = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._listTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._detailTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._searchTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._onCallTimer = undefined;
    // Home Assistant routes panels by the path alone: a link that changes only the query
    // (another summary's ?ids=, or back from a summary's list) reaches the panel here.
    this._locationChanged = () => this._followQuery();

    const root = this.attachShadow({ mode: "open" });
    this._menuButton = h(
      "button",
      {
        class: "menu",
        onclick: () =>
          this.dispatchEvent(
            new CustomEvent("hass-toggle-menu", { bubbles: true, composed: true }),
          ),
      },
      icon("mdi:menu"),
    );
    this._backButton = h(
      "button",
      { class: "back", onclick: () => navigate(listPath(this._filters.ids)) },
      icon("mdi:arrow-left"),
    );
    this._title = h("div", { class: "title" });
    this._onCallButton = h(
      "button",
      { class: "on-call", onclick: () => navigate(ON_CALL_PATH) },
      icon("mdi:account-clock"),
    );
    this._content = h("div", { class: "content" });
    root.append(
      style(SHARED_CSS + CSS),
      h(
        "div",
        { class: "toolbar" },
        this._menuButton,
        this._backButton,
        this._title,
        this._onCallButton,
      ),
      this._content,
    );
  }

  /** @param {Hass} hass */
  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first && this.isConnected) this._start();
    else this._followOnCall();
  }

  get hass() {
    return /** @type {Hass} */ (this._hass);
  }

  /** @param {boolean} narrow */
  set narrow(narrow) {
    this._narrow = narrow;
    this.toggleAttribute("narrow", narrow);
    this._renderToolbar();
  }

  get narrow() {
    return this._narrow;
  }

  /** @param {{prefix?: string, path?: string}} route */
  set route(route) {
    this._route = route;
    this._followRoute();
  }

  get route() {
    return this._route ?? { prefix: `/${PANEL_PATH}`, path: "" };
  }

  /**
   * Home Assistant sets the panel's configuration; nothing in it is needed.
   * @param {unknown} _panel
   */
  set panel(_panel) {}

  connectedCallback() {
    window.addEventListener("location-changed", this._locationChanged);
    window.addEventListener("popstate", this._locationChanged);
    if (this._hass) this._start();
  }

  disconnectedCallback() {
    window.removeEventListener("location-changed", this._locationChanged);
    window.removeEventListener("popstate", this._locationChanged);
    this._started = false;
    this._unsubscribe?.();
    this._unsubscribe = null;
    clearTimeout(this._listTimer);
    clearTimeout(this._detailTimer);
    clearTimeout(this._searchTimer);
    clearTimeout(this._onCallTimer);
  }

  async _start() {
    if (this._started) return;
    this._started = true;
    // Shown again after a while away: what it showed may be old, and no changes came.
    this._listLoaded = false;
    this._detail = null;
    this._rotationsLoaded = false;
    this._texts = await loadTexts(this.hass);
    this._renderToolbar();
    this._followRoute();
    this._subscribe();
    this._loadSources();
    // The list shows who is on call above it too (the On call view fetched it already).
    if (this._view !== "on_call") this._loadOnCall();
  }

  /**
   * @param {string} key
   * @param {Record<string, string | number>} [values]
   */
  _t(key, values) {
    return translate(this._texts, key, values);
  }

  async _subscribe() {
    try {
      const unsubscribe = await this.hass.connection.subscribeMessage(
        (change) => this._changed(change),
        { type: `${DOMAIN}/incidents/subscribe` },
      );
      if (this._started) this._unsubscribe = unsubscribe;
      else unsubscribe();
    } catch (error) {
      this._showError(error);
    }
  }

  async _loadSources() {
    try {
      this._devices = await this.hass.callWS({ type: "config/device_registry/list" });
    } catch {
      this._devices = [];
    }
    this._updateSources();
  }

  _updateSources() {
    const sources = sourceOptions(this._devices, this._incidents);
    if (sources.map((s) => s.id).join() === this._sources.map((s) => s.id).join()) return;
    this._sources = sources;
    if (this._view === "list" && this._listLoaded) this._render();
  }

  /** @param {import("./logic.js").IncidentChange} change */
  _changed(change) {
    if (change.removed) this._selected.delete(change.removed);
    const list = applyChange(this._incidents, change, this._filters);
    this._incidents = list.incidents;
    if (list.reload) this._scheduleListReload();
    const detail = applyChangeToDetail(this._detail, change);
    if (detail.removed) {
      this._detail = null;
      this._error = this._t("panel.not_found", { id: this._incidentId ?? "" });
    } else {
      this._detail = detail.detail;
    }
    if (detail.reload) this._scheduleDetailReload();
    // The On call view shows no incident: left alone, its form keeps what is being typed.
    if (this._view !== "on_call") this._render();
  }

  _followRoute() {
    if (!this._started) return;
    const route = panelView(
      this._route ? this._route.path : location.pathname.slice(PANEL_PATH.length + 1),
    );
    const id = route.view === "incident" ? route.id : null;
    const idsChanged = route.view === "list" && this._takeIdsFromLink();
    const loaded = {
      list: this._listLoaded,
      incident: Boolean(this._detail),
      on_call: this._rotationsLoaded,
    }[route.view];
    if (!idsChanged && route.view === this._view && id === this._incidentId && loaded) return;
    this._view = route.view;
    this._incidentId = id;
    this._error = "";
    this._detail = null;
    this._noteOpen = false;
    this._snoozeOpen = false;
    this._override = null;
    this._openEmails = new Set();
    this._renderToolbar();
    if (route.view === "incident") this._loadDetail();
    else if (route.view === "on_call") this._loadOnCall();
    else this._loadList();
    this._render();
  }

  /** The list's link changed only its query: the incidents it names may be others. */
  _followQuery() {
    if (!this._started || this._view !== "list") return;
    const path = location.pathname;
    if (path !== `/${PANEL_PATH}` && path !== `/${PANEL_PATH}/`) return;
    const ignored = this._idsIgnored;
    if (!this._takeIdsFromLink()) {
      if (this._idsIgnored !== ignored) this._render();
      return;
    }
    this._error = "";
    this._loadList();
    this._render();
  }

  /**
   * The list's filters follow the link's `?ids=`: a summary's link shows only its incidents,
   * with no other filter; a link without them shows all again (the other filters stay).
   * Whether the filters changed.
   */
  _takeIdsFromLink() {
    const link = idsFromSearch(location.search);
    const ids = link?.ids ?? [];
    this._idsIgnored = link?.ignored ?? 0;
    if (sameIds(ids, this._filters.ids ?? [])) return false;
    clearTimeout(this._searchTimer);
    this._searchTimer = undefined;
    this._filters = ids.length ? { ...NO_FILTERS, ids } : { ...this._filters, ids: [] };
    this._offset = 0;
    this._selected = new Set();
    this._anchor = null;
    this._bulkResult = null;
    this._listLoaded = false;
    return true;
  }

  _scheduleListReload() {
    clearTimeout(this._listTimer);
    this._listTimer = setTimeout(() => this._loadList(), RELOAD_DELAY_MS);
  }

  _scheduleDetailReload() {
    clearTimeout(this._detailTimer);
    this._detailTimer = setTimeout(() => this._loadDetail(), RELOAD_DELAY_MS);
  }

  async _loadList() {
    const number = ++this._listRequestNumber;
    try {
      const result = await this.hass.callWS(listRequest(this._filters, this._offset));
      if (number !== this._listRequestNumber) return;
      this._incidents = result.incidents;
      this._total = result.total;
      this._listLoaded = true;
      if (this._view === "list") this._error = "";
      this._updateSources();
    } catch (error) {
      if (number !== this._listRequestNumber) return;
      if (this._view === "list") this._error = errorMessage(error);
    }
    if (this._view === "list") this._render();
  }

  async _loadDetail() {
    const id = this._incidentId;
    if (!id) return;
    const number = ++this._detailRequestNumber;
    try {
      const result = await this.hass.callWS({ type: `${DOMAIN}/incidents/get`, incident_id: id });
      if (number !== this._detailRequestNumber || id !== this._incidentId) return;
      const first = !this._detail;
      this._detail = result.incident;
      if (first && result.incident.emails.length) {
        this._openEmails.add(result.incident.emails.length - 1);
      }
      this._error = "";
    } catch (error) {
      if (number !== this._detailRequestNumber || id !== this._incidentId) return;
      this._error =
        error && typeof error === "object" && "code" in error && error.code === "not_found"
          ? this._t("panel.not_found", { id })
          : errorMessage(error);
    }
    this._render();
  }

  _renderToolbar() {
    this._menuButton.hidden = !this._narrow;
    this._menuButton.title = this._t("panel.menu");
    this._backButton.hidden = this._view === "list";
    this._backButton.title = this._t("panel.back");
    this._onCallButton.hidden = this._view !== "list";
    this._onCallButton.title = this._t("panel.on_call");
    this._onCallButton.setAttribute("aria-label", this._t("panel.on_call"));
    this._title.textContent =
      this._view === "incident"
        ? visibleText(this._incidentId)
        : this._t(this._view === "on_call" ? "panel.on_call" : "panel.title");
  }

  _render() {
    if (!this._started) return;
    const message = this._error
      ? h("div", { class: "message error-text" }, visibleText(this._error))
      : null;
    if (this._view === "incident") {
      replaceChildren(
        this._content,
        message,
        this._detail ? this._renderDetail(this._detail) : null,
      );
    } else if (this._view === "on_call") {
      replaceChildren(this._content, message, this._renderOnCall());
    } else {
      replaceChildren(this._content, message, this._renderOnCallStrip(), this._renderList());
    }
  }

  // --- who is on call ---------------------------------------------------------------------

  /**
   * The rotations, with who is on call in each. Fetched at the start, when the On call view
   * opens, after an override from here, and whenever an on-call sensor's state changes.
   */
  async _loadOnCall() {
    const number = ++this._onCallRequestNumber;
    try {
      const result = await this.hass.callWS({ type: `${DOMAIN}/on_call` });
      if (number !== this._onCallRequestNumber) return;
      this._rotations = result.rotations;
      this._rotationsLoaded = true;
      this._onCallSignature = onCallSignature(this.hass.states, this._rotations);
      const form = this._override;
      if (form && !this._rotations.some((rotation) => rotation.id === form.rotationId)) {
        this._override = null;
      }
      // What an action said stays; only a failed fetch is over.
      if (this._onCallFailed && this._view === "on_call") this._error = "";
      this._onCallFailed = false;
    } catch (error) {
      if (number !== this._onCallRequestNumber) return;
      // Above the list the rotations are left out; the On call view says why.
      this._onCallFailed = true;
      if (this._view === "on_call") this._error = errorMessage(error);
    }
    if (this._view !== "incident") this._render();
  }

  /**
   * Home Assistant set a new `hass`: when an on-call sensor changed (a handover, an override
   * made anywhere, or its end), the rotations are fetched again.
   */
  _followOnCall() {
    if (!this._started || !this._rotationsLoaded) return;
    const signature = onCallSignature(this.hass.states, this._rotations);
    if (signature === this._onCallSignature) return;
    this._onCallSignature = signature;
    clearTimeout(this._onCallTimer);
    this._onCallTimer = setTimeout(() => this._loadOnCall(), RELOAD_DELAY_MS);
  }

  /** Above the list: who is on call in each rotation; a click opens the On call view. */
  _renderOnCallStrip() {
    if (!this._rotations.length) return null;
    const language = this.hass.language;
    const timeZone = this.hass.config?.time_zone;
    const open = () => navigate(ON_CALL_PATH);
    return h(
      "div",
      {
        class: "card on-call-strip",
        role: "link",
        tabIndex: 0,
        title: this._t("panel.on_call"),
        onclick: open,
        onkeydown: (/** @type {KeyboardEvent} */ event) => {
          if (event.key === "Enter") open();
        },
      },
      icon("mdi:account-clock"),
      h("span", { class: "label" }, this._t("panel.on_call")),
      this._rotations.map((rotation) =>
        h(
          "span",
          { class: "on-call-entry untrusted", dataset: { rotation: rotation.id } },
          h("span", { class: "rotation-name" }, `${visibleText(rotation.name)}: `),
          onCallLine(this._texts, rotation, language, timeZone),
          rotation.on_call?.overridden
            ? [" ", h("span", { class: "chip overridden" }, this._t("panel.overridden"))]
            : null,
        ),
      ),
    );
  }

  _renderOnCall() {
    if (!this._rotationsLoaded) return null;
    if (!this._rotations.length) {
      return h(
        "div",
        { class: "card" },
        h("div", { class: "empty" }, this._t("panel.no_rotations")),
      );
    }
    return this._rotations.map((rotation) => this._renderRotation(rotation));
  }

  /** @param {RotationView} rotation */
  _renderRotation(rotation) {
    const language = this.hass.language;
    const timeZone = this.hass.config?.time_zone;
    const now = rotation.on_call;
    /** @type {[string, string, string][]} class, label, value */
    const facts = [
      ["person", this._t("panel.on_call_now"), now ? now.name : this._t("panel.nobody_on_call")],
    ];
    if (now) {
      const until = formatTime(now.until, language, timeZone, "short");
      facts.push(
        ["until", this._t("panel.until"), `${until} (${formatAge(now.until, language)})`],
        ["next", this._t("panel.next_on_call"), now.next_name],
      );
    }
    facts.push(
      [
        "shift",
        this._t("panel.shift"),
        formatLength(rotation.shift_length, rotation.shift_unit, language),
      ],
      [
        "members",
        this._t("panel.members"),
        rotation.members.map((member) => member.name).join(", "),
      ],
    );
    const formOpen = this._override?.rotationId === rotation.id;
    return h(
      "div",
      { class: "card rotation", dataset: { rotation: rotation.id } },
      h(
        "div",
        { class: "header" },
        h(
          "div",
          { class: "chips" },
          h("span", { class: "name untrusted" }, visibleText(rotation.name)),
          now?.overridden
            ? h("span", { class: "chip overridden" }, this._t("panel.overridden"))
            : null,
        ),
        h(
          "dl",
          { class: "facts untrusted" },
          facts.map(([name, label, value]) => [
            h("dt", { class: name }, label),
            h("dd", { class: name }, visibleText(value)),
          ]),
        ),
      ),
      h(
        "div",
        { class: "actions" },
        rotation.members.length
          ? h(
              "button",
              {
                class: `action override${formOpen ? "" : " primary"}`,
                disabled: this._busy,
                onclick: () => {
                  this._override = formOpen ? null : this._newOverride(rotation);
                  this._render();
                },
              },
              icon("mdi:account-switch"),
              this._t("panel.override"),
            )
          : null,
        now?.overridden
          ? h(
              "button",
              {
                class: "action end-override",
                disabled: this._busy,
                onclick: () =>
                  this._onCallAction("end_on_call_override", { rotation: rotation.id }),
              },
              icon("mdi:calendar-sync"),
              this._t("panel.back_to_schedule"),
            )
          : null,
      ),
      formOpen ? this._renderOverrideForm(rotation) : null,
    );
  }

  /**
   * The Override form as it opens: the member after the one on call, until the end of the
   * shift running now; the other ends start at four hours, and at that shift's end.
   * @param {RotationView} rotation
   * @returns {OverrideForm}
   */
  _newOverride(rotation) {
    return {
      rotationId: rotation.id,
      person: defaultOverrideMember(rotation),
      end: "shift",
      minutes: 240,
      local: localDateTime(rotation.shift_until, this.hass.config?.time_zone),
    };
  }

  /** @param {RotationView} rotation */
  _renderOverrideForm(rotation) {
    const form = /** @type {OverrideForm} */ (this._override);
    const language = this.hass.language;
    const timeZone = this.hass.config?.time_zone;
    /**
     * @param {string} text
     * @param {HTMLElement} control
     */
    const labelled = (text, control) => h("label", {}, text, control);
    const member = h(
      "select",
      {
        class: "override-member",
        onchange: () => {
          form.person = member.value;
        },
      },
      rotation.members.map((each) =>
        h(
          "option",
          { value: each.person, selected: each.person === form.person },
          visibleText(each.name),
        ),
      ),
    );
    const shiftEnd = formatTime(rotation.shift_until, language, timeZone, "short");
    /** @type {[OverrideForm["end"], string][]} */
    const ends = [
      ["shift", this._t("panel.end_of_shift", { time: shiftEnd })],
      ["duration", this._t("panel.after_duration")],
      ["until", this._t("panel.at_time")],
    ];
    const end = h(
      "select",
      {
        class: "override-end",
        onchange: () => {
          form.end = /** @type {OverrideForm["end"]} */ (end.value);
          this._render();
        },
      },
      ends.map(([value, text]) => h("option", { value, selected: value === form.end }, text)),
    );
    let detail = null;
    if (form.end === "duration") {
      const duration = h(
        "select",
        {
          class: "override-duration",
          onchange: () => {
            form.minutes = Number(duration.value);
          },
        },
        OVERRIDE_MINUTES.map((minutes) =>
          h(
            "option",
            { value: String(minutes), selected: minutes === form.minutes },
            formatOverrideDuration(minutes, language),
          ),
        ),
      );
      detail = labelled(this._t("panel.override_duration"), duration);
    } else if (form.end === "until") {
      const until = h("input", {
        type: "datetime-local",
        class: "override-until",
        value: form.local,
        oninput: () => {
          form.local = until.value;
        },
      });
      detail = labelled(this._t("panel.override_until"), until);
    }
    return h(
      "div",
      { class: "override-form" },
      labelled(this._t("panel.override_member"), member),
      labelled(this._t("panel.override_end"), end),
      detail,
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          {
            class: "action primary confirm-override",
            disabled: this._busy,
            onclick: () => this._setOnCall(form),
          },
          this._t("panel.confirm_override"),
        ),
        h(
          "button",
          {
            class: "action cancel-override",
            onclick: () => {
              this._override = null;
              this._render();
            },
          },
          this._t("panel.cancel"),
        ),
      ),
    );
  }

  /**
   * Put the member chosen on call until the end chosen, as the user.
   * @param {OverrideForm} form
   */
  async _setOnCall(form) {
    /** @type {import("./logic.js").OverrideEnd} */
    const end =
      form.end === "duration"
        ? { kind: "duration", minutes: form.minutes }
        : form.end === "until"
          ? { kind: "until", local: form.local }
          : { kind: "shift" };
    if (end.kind === "until" && !end.local) {
      this._error = this._t("panel.override_until_missing");
      this._render();
      return;
    }
    if (await this._onCallAction("set_on_call", overrideData(form.rotationId, form.person, end))) {
      this._override = null;
      this._render();
    }
  }

  /**
   * Run an action of a rotation; its error is shown as text. Whether it succeeded.
   * @param {string} service
   * @param {Record<string, unknown>} data
   */
  async _onCallAction(service, data) {
    return this._runAction(service, data, () => this._loadOnCall());
  }

  // --- the list ---------------------------------------------------------------------------

  _renderList() {
    // The list is built anew on each change: the text field being typed in keeps the focus.
    const focused = this.shadowRoot?.activeElement;
    const search = h("input", {
      type: "search",
      class: "search",
      placeholder: this._t("panel.search"),
      value: this._filters.search,
      "aria-label": this._t("panel.search"),
      oninput: (/** @type {Event} */ event) => {
        this._filters = {
          ...this._filters,
          search: /** @type {HTMLInputElement} */ (event.target).value,
        };
        clearTimeout(this._searchTimer);
        this._searchTimer = setTimeout(() => {
          this._searchTimer = undefined;
          this._filtersChanged();
        }, SEARCH_DELAY_MS);
      },
    });
    const card = h(
      "div",
      { class: "card list" },
      h(
        "div",
        { class: "filters" },
        this._renderIdsFilter(),
        this._select(
          "source",
          this._t("panel.source"),
          [
            ["", this._t("panel.all_sources")],
            ...this._sources.map((s) => [s.id, visibleText(s.name)]),
          ],
          this._filters.source_id,
          (value) => ({ ...this._filters, source_id: value }),
        ),
        this._select(
          "status",
          this._t("panel.status"),
          [
            ["", this._t("panel.all_statuses")],
            ...STATUS_FILTERS.map((status) => [
              status,
              status === "open" ? this._t("panel.open") : this._t(`status.${status}`),
            ]),
          ],
          this._filters.status,
          (value) => ({ ...this._filters, status: value }),
        ),
        search,
      ),
      this._renderSelection(),
      this._listLoaded && !this._incidents.length
        ? h("div", { class: "empty" }, this._t("panel.no_incidents"))
        : h(
            "ul",
            { class: "rows" },
            this._incidents.map((incident) => this._renderRow(incident)),
          ),
      this._renderPager(),
    );
    for (const name of ["search", "bulk-note"]) {
      const input = card.querySelector(`input.${name}`);
      if (!(focused instanceof HTMLInputElement && focused.classList.contains(name))) continue;
      if (!(input instanceof HTMLInputElement)) continue;
      const { selectionStart, selectionEnd } = focused;
      queueMicrotask(() => {
        input.focus();
        input.setSelectionRange(
          selectionStart ?? input.value.length,
          selectionEnd ?? input.value.length,
        );
      });
    }
    return card;
  }

  /**
   * The chip of a summary's link: how many incidents it names, and a button back to all;
   * below it, how many entries of the link were left out, if any.
   */
  _renderIdsFilter() {
    const ids = this._filters.ids ?? [];
    const ignored = this._idsIgnored
      ? h(
          "div",
          { class: "ids-ignored muted" },
          this._t("panel.ids_ignored", { count: this._idsIgnored, max: MAX_LINK_IDS }),
        )
      : null;
    if (!ids.length) return ignored;
    const showAll = this._t("panel.show_all");
    return [
      h(
        "div",
        { class: "ids-filter" },
        icon("mdi:bell-badge-outline"),
        h("span", { class: "text" }, idsFilterText(this._texts, ids.length)),
        h(
          "button",
          {
            class: "remove-ids",
            title: showAll,
            "aria-label": showAll,
            onclick: () => navigate(listPath()),
          },
          icon("mdi:close"),
        ),
      ),
      ignored,
    ];
  }

  /** The ids of the incidents on the page shown, in its order. */
  _pageIds() {
    return this._incidents.map((incident) => incident.id);
  }

  /** @param {Set<string>} selected */
  _setSelection(selected) {
    this._selected = selected;
    this._bulkResult = null;
    this._render();
  }

  /**
   * The bar above the rows: select the page or all the filters match, how many are selected,
   * and for a selection Accept and Resolve with an optional note; then what they did.
   */
  _renderSelection() {
    const pageIds = this._pageIds();
    const count = this._selected.size;
    const page = pageSelection(this._selected, pageIds);
    const result = this._bulkResult
      ? h(
          "div",
          { class: `message bulk-result ${this._bulkResult.failed ? "error-text" : "done"}` },
          this._bulkResult.text,
        )
      : null;
    if (!pageIds.length && !count) return result;
    const selectPageBox = h("input", {
      type: "checkbox",
      class: "select-page",
      checked: page === "all",
      indeterminate: page === "some",
      disabled: !pageIds.length,
      "aria-label": this._t("panel.select_page"),
      title: this._t("panel.select_page"),
      onchange: () => this._setSelection(selectPage(this._selected, pageIds, page !== "all")),
    });
    const bar = h(
      "div",
      { class: "selection" },
      selectPageBox,
      count ? h("span", { class: "count" }, this._t("panel.selected", { count })) : null,
      count < this._total
        ? h(
            "button",
            {
              class: "link select-matching",
              disabled: this._busy,
              onclick: () => this._selectMatching(),
            },
            this._t("panel.select_matching", { total: this._total }),
          )
        : null,
      count
        ? h(
            "button",
            {
              class: "link clear-selection",
              disabled: this._busy,
              onclick: () => {
                this._anchor = null;
                this._setSelection(new Set());
              },
            },
            this._t("panel.clear_selection"),
          )
        : null,
    );
    if (!count) return [bar, result];
    const note = h("input", {
      type: "text",
      class: "bulk-note",
      maxLength: 2000,
      value: this._bulkNote,
      placeholder: this._t("panel.bulk_note"),
      "aria-label": this._t("panel.bulk_note"),
      oninput: (/** @type {Event} */ event) => {
        this._bulkNote = /** @type {HTMLInputElement} */ (event.target).value;
      },
    });
    /**
     * @param {BulkAction} action
     * @param {string} iconName
     */
    const button = (action, iconName) =>
      h(
        "button",
        {
          class: `action bulk-${action}${action === "accept" ? " primary" : ""}`,
          disabled: this._busy,
          onclick: () => this._bulk(action),
        },
        icon(iconName),
        this._t(`panel.${action}`),
      );
    return [
      bar,
      h(
        "div",
        { class: "bulk" },
        note,
        button("accept", "mdi:account-check"),
        button("resolve", "mdi:check-circle-outline"),
      ),
      result,
    ];
  }

  /** Select every incident the filters match, on every page. */
  async _selectMatching() {
    if (this._busy) return;
    if (this._searchTimer !== undefined) {
      // A search still being typed is a filter already: the list follows it now, and its
      // change does not undo the selection afterwards.
      clearTimeout(this._searchTimer);
      this._searchTimer = undefined;
      this._filtersChanged();
    }
    this._busy = true;
    this._render();
    try {
      const result = await this.hass.callWS(idsRequest(this._filters));
      this._selected = new Set([...this._selected, ...result.ids]);
      this._bulkResult = null;
      this._error = "";
    } catch (error) {
      this._error = errorMessage(error);
    } finally {
      this._busy = false;
      this._render();
    }
  }

  /**
   * Accept or resolve the selection in one action call, as the user, the note in the timeline
   * of each; then say what it did. The list follows by its live updates.
   * @param {BulkAction} action
   */
  async _bulk(action) {
    if (this._busy || !this._selected.size) return;
    this._busy = true;
    this._bulkResult = null;
    this._render();
    try {
      const result = await this.hass.callWS(
        bulkRequest(action, [...this._selected], this._bulkNote),
      );
      this._bulkResult = bulkResultText(this._texts, action, result.response);
      this._selected = new Set();
      this._anchor = null;
      this._bulkNote = "";
    } catch (error) {
      this._bulkResult = { text: visibleText(errorMessage(error)), failed: true };
    } finally {
      this._busy = false;
      this._render();
    }
  }

  /**
   * @param {string} name
   * @param {string} label
   * @param {string[][]} options value and label
   * @param {string} value
   * @param {(value: string) => Filters} filters
   */
  _select(name, label, options, value, filters) {
    return h(
      "select",
      {
        class: name,
        "aria-label": label,
        title: label,
        onchange: (/** @type {Event} */ event) => {
          this._filters = filters(/** @type {HTMLSelectElement} */ (event.target).value);
          this._filtersChanged();
        },
      },
      options.map(([optionValue, optionLabel]) =>
        h("option", { value: optionValue, selected: optionValue === value }, optionLabel),
      ),
    );
  }

  _filtersChanged() {
    this._offset = 0;
    // A selection is of what the filters matched: other filters, another selection.
    this._selected = new Set();
    this._anchor = null;
    this._bulkResult = null;
    this._loadList();
  }

  /** @param {IncidentSummary} incident */
  _renderRow(incident) {
    const language = this.hass.language;
    const open = () => navigate(incidentPath(incident.id));
    const selected = this._selected.has(incident.id);
    const box = h("input", {
      type: "checkbox",
      class: "select",
      checked: selected,
      "aria-label": this._t("panel.select_incident", { id: visibleText(incident.id) }),
    });
    // The whole cell around the checkbox picks, and a click in it never opens the incident.
    const pick = h(
      "div",
      {
        class: "pick",
        onclick: (/** @type {MouseEvent} */ event) => {
          event.stopPropagation();
          const checked = event.target === box ? box.checked : !selected;
          const click = clickSelection(
            this._selected,
            this._pageIds(),
            incident.id,
            checked,
            this._anchor,
            event.shiftKey,
          );
          this._anchor = click.anchor;
          this._setSelection(click.selected);
        },
        onkeydown: (/** @type {KeyboardEvent} */ event) => event.stopPropagation(),
      },
      box,
    );
    return h(
      "li",
      {
        class: selected ? "row selected" : "row",
        tabIndex: 0,
        role: "link",
        dataset: { incident: incident.id },
        onclick: open,
        onkeydown: (/** @type {KeyboardEvent} */ event) => {
          if (event.key === "Enter") open();
        },
      },
      pick,
      h("span", { class: `chip status ${incident.status}` }, this._t(`status.${incident.status}`)),
      h(
        "div",
        { class: "summary untrusted" },
        h("span", { class: "id" }, visibleText(incident.id)),
        " · ",
        visibleText(incident.summary),
      ),
      h(
        "div",
        { class: "side" },
        h("div", {}, formatAge(incident.last_email ?? incident.created, language)),
        h("div", {}, this._t("panel.email_count", { count: incident.email_count })),
      ),
      h(
        "div",
        { class: "meta untrusted" },
        [
          visibleText(incident.source_name),
          incident.key ? `${this._t("panel.key")}: ${visibleText(incident.key)}` : "",
          incident.priority === "high" ? this._t("priority.high") : "",
        ]
          .filter(Boolean)
          .join(" · "),
      ),
    );
  }

  _renderPager() {
    if (this._total <= PAGE_SIZE && this._offset === 0) return null;
    const last = Math.min(this._offset + this._incidents.length, this._total);
    const page = (/** @type {number} */ offset) => () => {
      this._offset = offset;
      this._loadList();
    };
    return h(
      "div",
      { class: "pager" },
      h(
        "span",
        { class: "range" },
        this._t("panel.range", { first: this._offset + 1, last, total: this._total }),
      ),
      h(
        "button",
        {
          class: "action previous",
          disabled: this._offset === 0,
          title: this._t("panel.previous"),
          onclick: page(Math.max(0, this._offset - PAGE_SIZE)),
        },
        icon("mdi:chevron-left"),
      ),
      h(
        "button",
        {
          class: "action next",
          disabled: last >= this._total,
          title: this._t("panel.next"),
          onclick: page(this._offset + PAGE_SIZE),
        },
        icon("mdi:chevron-right"),
      ),
    );
  }

  // --- one incident -----------------------------------------------------------------------

  /** @param {IncidentDetail} incident */
  _renderDetail(incident) {
    return [
      this._renderHeader(incident),
      this._renderTimeline(incident),
      this._renderEmails(incident),
    ];
  }

  /** @param {IncidentDetail} incident */
  _renderHeader(incident) {
    const language = this.hass.language;
    const timeZone = this.hass.config?.time_zone;
    const time = (/** @type {string | null} */ iso) => formatTime(iso, language, timeZone);
    /** @type {[string, string][]} */
    const facts = [
      [this._t("panel.source"), visibleText(incident.source_name)],
      [this._t("panel.key"), visibleText(incident.key ?? "")],
      [this._t("panel.created"), time(incident.created)],
      [this._t("panel.last_email"), time(incident.last_email)],
    ];
    if (incident.accepted_at) {
      facts.push([
        this._t("panel.accepted"),
        this._t("panel.at_by", {
          time: time(incident.accepted_at),
          actor: visibleText(incident.accepted_by ?? ""),
        }),
      ]);
    }
    if (incident.resolved_at) {
      facts.push([
        this._t("panel.resolved"),
        this._t("panel.at_by", {
          time: time(incident.resolved_at),
          actor: visibleText(incident.resolved_by ?? ""),
        }),
      ]);
    }
    if (incident.snoozed_until)
      facts.push([this._t("panel.snoozed_until"), time(incident.snoozed_until)]);
    if (incident.escalation_level) {
      facts.push([this._t("panel.escalation_level"), String(incident.escalation_level)]);
    }
    return h(
      "div",
      { class: "card header-card" },
      h(
        "div",
        { class: "header" },
        h(
          "div",
          { class: "chips" },
          h(
            "span",
            { class: `chip status ${incident.status}` },
            this._t(`status.${incident.status}`),
          ),
          h(
            "span",
            { class: `chip priority ${incident.priority}` },
            this._t(`priority.${incident.priority}`),
          ),
          h(
            "span",
            { class: "muted" },
            this._t("panel.email_count", { count: incident.email_count }),
          ),
        ),
        h("div", { class: "summary untrusted" }, visibleText(incident.summary)),
        h(
          "dl",
          { class: "facts untrusted" },
          facts
            .filter(([, value]) => value)
            .map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
        ),
      ),
      this._renderActions(incident),
      this._noteOpen ? this._renderNoteForm(incident) : null,
      this._snoozeOpen ? this._renderSnoozeForm(incident) : null,
    );
  }

  /** @param {IncidentDetail} incident */
  _renderActions(incident) {
    const actions = availableActions(incident);
    /**
     * @param {string} name
     * @param {string} iconName
     * @param {boolean} shown
     * @param {() => void} run
     * @param {boolean} [primary]
     */
    const button = (name, iconName, shown, run, primary = false) =>
      shown
        ? h(
            "button",
            {
              class: `action ${name}${primary ? " primary" : ""}`,
              disabled: this._busy,
              onclick: run,
            },
            icon(iconName),
            this._t(`panel.${name}`),
          )
        : null;
    return h(
      "div",
      { class: "actions" },
      button(
        "accept",
        "mdi:account-check",
        actions.accept,
        () => this._call("accept_incident", {}),
        true,
      ),
      button(
        "resolve",
        "mdi:check-circle-outline",
        actions.resolve,
        () => this._call("resolve_incident", {}),
        !actions.accept,
      ),
      button("add_note", "mdi:note-plus-outline", actions.note, () => {
        this._noteOpen = !this._noteOpen;
        this._snoozeOpen = false;
        this._render();
      }),
      button("snooze", "mdi:alarm-snooze", actions.snooze, () => {
        this._snoozeOpen = !this._snoozeOpen;
        this._noteOpen = false;
        this._render();
      }),
      button("escalate", "mdi:bullhorn-outline", actions.escalate, () =>
        this._call("escalate_incident", {}),
      ),
    );
  }

  /** @param {IncidentDetail} _incident */
  _renderNoteForm(_incident) {
    const text = h("textarea", {
      class: "note-text",
      "aria-label": this._t("panel.note"),
      placeholder: this._t("panel.note"),
    });
    queueMicrotask(() => text.focus());
    return h(
      "div",
      { class: "note" },
      text,
      h(
        "button",
        {
          class: "action primary save-note",
          disabled: this._busy,
          onclick: async () => {
            const note = text.value.trim();
            if (!note) return;
            if (await this._call("add_note", { note })) this._noteOpen = false;
            this._render();
          },
        },
        this._t("panel.save_note"),
      ),
    );
  }

  /** @param {IncidentDetail} _incident */
  _renderSnoozeForm(_incident) {
    const choice = h(
      "select",
      { class: "snooze-duration", "aria-label": this._t("panel.snooze_for") },
      SNOOZE_MINUTES.map((minutes) =>
        h(
          "option",
          { value: String(minutes), selected: minutes === 60 },
          formatMinutes(minutes, this.hass.language),
        ),
      ),
    );
    return h(
      "div",
      { class: "snooze" },
      h("span", { class: "muted" }, this._t("panel.snooze_for")),
      choice,
      h(
        "button",
        {
          class: "action primary confirm-snooze",
          disabled: this._busy,
          onclick: async () => {
            const duration = snoozeDuration(Number(choice.value));
            if (await this._call("snooze_incident", { duration })) this._snoozeOpen = false;
            this._render();
          },
        },
        this._t("panel.snooze"),
      ),
    );
  }

  /**
   * Run an action on the incident shown; its error is shown as text.
   * @param {string} service
   * @param {Record<string, unknown>} data
   */
  async _call(service, data) {
    const id = this._incidentId;
    if (!id) return false;
    return this._runAction(service, { incident_id: id, ...data }, () => this._loadDetail());
  }

  /**
   * Run one action at a time, its error shown as text, then load again what it changed.
   * Whether it succeeded.
   * @param {string} service
   * @param {Record<string, unknown>} data
   * @param {() => unknown} reload
   */
  async _runAction(service, data, reload) {
    if (this._busy) return false;
    this._busy = true;
    this._error = "";
    this._render();
    try {
      await this.hass.callService(DOMAIN, service, data);
      return true;
    } catch (error) {
      this._error = errorMessage(error);
      return false;
    } finally {
      this._busy = false;
      this._render();
      reload();
    }
  }

  /** @param {IncidentDetail} incident */
  _renderTimeline(incident) {
    const language = this.hass.language;
    const timeZone = this.hass.config?.time_zone;
    return h(
      "div",
      { class: "card timeline-card" },
      h("h2", {}, this._t("panel.timeline")),
      h(
        "ul",
        { class: "timeline" },
        incident.log.map((entry) =>
          h(
            "li",
            { dataset: { kind: entry.kind } },
            icon(LOG_ICONS[entry.kind] ?? "mdi:circle-small"),
            h(
              "div",
              { class: "when" },
              [formatTime(entry.time, language, timeZone), visibleText(entry.actor ?? "")]
                .filter(Boolean)
                .join(" · "),
            ),
            h(
              "div",
              { class: "text untrusted" },
              // The back end's text says what happened; a note, an e-mail or a bare entry
              // also needs its kind.
              !entry.text || LABELLED_KINDS.has(entry.kind)
                ? [h("span", { class: "kind" }, logKindLabel(this._texts, entry.kind)), " "]
                : null,
              visibleText(entry.text),
            ),
          ),
        ),
      ),
    );
  }

  /** @param {IncidentDetail} incident */
  _renderEmails(incident) {
    const emails = incident.emails.map((email, index) => this._renderEmail(email, index));
    if (incident.emails_omitted) {
      emails.splice(
        Math.min(10, emails.length),
        0,
        h(
          "li",
          { class: "empty omitted" },
          this._t("panel.emails_omitted", { count: incident.emails_omitted }),
        ),
      );
    }
    return h(
      "div",
      { class: "card emails-card" },
      h("h2", {}, this._t("panel.emails")),
      h("ul", { class: "emails" }, emails),
    );
  }

  /**
   * @param {IncidentEmail} email
   * @param {number} index
   */
  _renderEmail(email, index) {
    const open = this._openEmails.has(index);
    const language = this.hass.language;
    const timeZone = this.hass.config?.time_zone;
    return h(
      "li",
      { class: "email", dataset: { index: String(index) } },
      h(
        "button",
        {
          "aria-expanded": String(open),
          onclick: () => {
            if (open) this._openEmails.delete(index);
            else this._openEmails.add(index);
            this._render();
          },
        },
        h("span", { class: "open-icon" }, icon(open ? "mdi:chevron-down" : "mdi:chevron-right")),
        h("span", { class: "subject untrusted" }, visibleText(email.subject)),
        h("span", { class: "when" }, formatTime(email.received, language, timeZone)),
        h("span", { class: "from untrusted" }, visibleText(email.from)),
      ),
      open ? this._renderEmailDetails(email) : null,
    );
  }

  /** @param {IncidentEmail} email */
  _renderEmailDetails(email) {
    return h(
      "div",
      { class: "details" },
      h(
        "dl",
        { class: "facts untrusted" },
        h("dt", {}, this._t("panel.to")),
        h("dd", {}, visibleText(email.to.join(", "))),
        email.message_id
          ? [h("dt", {}, this._t("panel.message_id")), h("dd", {}, visibleText(email.message_id))]
          : null,
      ),
      email.attachments.length
        ? h(
            "ul",
            { class: "attachments untrusted" },
            email.attachments.map((attachment) =>
              h(
                "li",
                {},
                `${visibleText(attachment.name)} (${visibleText(attachment.content_type)}, ${formatSize(attachment.size)})`,
              ),
            ),
          )
        : null,
      h("pre", { class: "body untrusted" }, visibleText(email.body)),
      email.body_truncated
        ? h("div", { class: "muted truncated" }, this._t("panel.body_truncated"))
        : null,
    );
  }

  /** @param {unknown} error */
  _showError(error) {
    this._error = errorMessage(error);
    this._render();
  }
}

if (!customElements.get("email-incidents-panel")) {
  customElements.define("email-incidents-panel", EmailIncidentsPanel);
}
