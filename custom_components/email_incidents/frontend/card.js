// @ts-check
/**
 * The dashboard card `custom:email-incidents-card`: the open incidents of the chosen alert
 * sources (all when none are chosen), with Accept and Resolve; each opens the Incidents panel.
 * Loaded on every page of the frontend (registered by the integration), so that no resource
 * needs adding by hand.
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
  availableActions,
  CARD_LIMIT,
  cardRequests,
  checkCardConfig,
  DOMAIN,
  formatAge,
  incidentPath,
  mergePages,
  PANEL_PATH,
  sourceOptions,
  translate,
  visibleText,
} from "./logic.js";

/** @typedef {import("./dom.js").Hass} Hass */
/** @typedef {import("./logic.js").CardConfig} CardConfig */
/** @typedef {import("./logic.js").IncidentSummary} IncidentSummary */

const CARD_TYPE = "email-incidents-card";
const EDITOR_TYPE = "email-incidents-card-editor";
const RELOAD_DELAY_MS = 250;

const CARD_CSS = `
  ha-card { overflow: hidden; }
  .card-header { display: flex; align-items: center; justify-content: space-between;
    padding: 12px 16px 4px; font-size: 20px; line-height: 40px; }
  .card-header button { background: none; border: none; color: var(--secondary-text-color);
    cursor: pointer; width: 40px; height: 40px; border-radius: 50%; }
  .rows { list-style: none; margin: 0; padding: 0 0 8px; }
  .row { display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; padding: 8px 16px;
    align-items: center; border-top: 1px solid var(--divider-color); }
  .open { cursor: pointer; min-width: 0; }
  .open:hover .summary { text-decoration: underline; }
  .summary { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .meta { font-size: 12px; color: var(--secondary-text-color); white-space: nowrap;
    overflow: hidden; text-overflow: ellipsis; }
  .buttons { display: flex; gap: 6px; grid-row: 1 / span 2; grid-column: 2; }
  .buttons button.action { padding: 4px 10px; min-height: 30px; font-size: 13px; }
  .empty, .more, .message { padding: 12px 16px; color: var(--secondary-text-color); }
  .more { display: block; text-align: center; cursor: pointer; color: var(--primary-color);
    border-top: 1px solid var(--divider-color); }
  .message { color: var(--error-color); }
`;

class EmailIncidentsCard extends HTMLElement {
  constructor() {
    super();
    /** @type {Hass | undefined} */
    this._hass = undefined;
    /** @type {CardConfig} */
    this._config = { type: `custom:${CARD_TYPE}` };
    /** @type {Record<string, string>} */
    this._texts = {};
    /** @type {IncidentSummary[]} */
    this._incidents = [];
    this._total = 0;
    this._loaded = false;
    this._error = "";
    /** @type {Set<string>} incidents with an action running */
    this._busy = new Set();
    /** @type {(() => unknown) | null} */
    this._unsubscribe = null;
    this._started = false;
    this._requestNumber = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._timer = undefined;
    this._card = h("ha-card", {});
    this.attachShadow({ mode: "open" }).append(style(SHARED_CSS + CARD_CSS), this._card);
  }

  /** @param {any} config */
  setConfig(config) {
    this._config = checkCardConfig(config);
    if (this._started) this._load();
  }

  /** @param {Hass} hass */
  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first && this.isConnected) this._start();
  }

  get hass() {
    return /** @type {Hass} */ (this._hass);
  }

  getCardSize() {
    return 1 + Math.min(this._incidents.length, this._config.limit ?? CARD_LIMIT);
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  static getStubConfig() {
    return { sources: [] };
  }

  static getConfigElement() {
    return document.createElement(EDITOR_TYPE);
  }

  connectedCallback() {
    if (this._hass) this._start();
  }

  disconnectedCallback() {
    this._started = false;
    this._unsubscribe?.();
    this._unsubscribe = null;
    clearTimeout(this._timer);
  }

  async _start() {
    if (this._started) return;
    this._started = true;
    this._texts = await loadTexts(this.hass);
    this._render();
    this._load();
    try {
      const unsubscribe = await this.hass.connection.subscribeMessage(
        (/** @type {import("./logic.js").IncidentChange} */ change) => {
          const sources = this._config.sources ?? [];
          const id = change.incident?.id ?? change.removed;
          const shown = this._incidents.some((incident) => incident.id === id);
          const relevant =
            change.incident && (!sources.length || sources.includes(change.incident.source_id));
          if (shown || relevant) {
            clearTimeout(this._timer);
            this._timer = setTimeout(() => this._load(), RELOAD_DELAY_MS);
          }
        },
        { type: `${DOMAIN}/incidents/subscribe` },
      );
      if (this._started) this._unsubscribe = unsubscribe;
      else unsubscribe();
    } catch (error) {
      this._error = errorMessage(error);
      this._render();
    }
  }

  async _load() {
    const number = ++this._requestNumber;
    try {
      const pages = await Promise.all(
        cardRequests(this._config).map((message) => this.hass.callWS(message)),
      );
      if (number !== this._requestNumber) return;
      const merged = mergePages(pages, this._config.limit ?? CARD_LIMIT);
      this._incidents = merged.incidents;
      this._total = merged.total;
      this._loaded = true;
      this._error = "";
    } catch (error) {
      if (number !== this._requestNumber) return;
      this._error = errorMessage(error);
    }
    this._render();
  }

  /**
   * @param {string} key
   * @param {Record<string, string | number>} [values]
   */
  _t(key, values) {
    return translate(this._texts, key, values);
  }

  _render() {
    const more = this._total - this._incidents.length;
    replaceChildren(
      this._card,
      h(
        "div",
        { class: "card-header" },
        h("span", { class: "name" }, this._config.title ?? this._t("panel.open_incidents")),
        h(
          "button",
          { title: this._t("panel.title"), onclick: () => navigate(`/${PANEL_PATH}`) },
          icon("mdi:open-in-app"),
        ),
      ),
      this._error ? h("div", { class: "message" }, visibleText(this._error)) : null,
      this._loaded && !this._incidents.length
        ? h("div", { class: "empty" }, this._t("panel.no_open_incidents"))
        : h(
            "ul",
            { class: "rows" },
            this._incidents.map((incident) => this._renderRow(incident)),
          ),
      more > 0
        ? h(
            "a",
            { class: "more", onclick: () => navigate(`/${PANEL_PATH}`) },
            this._t("panel.more", { count: more }),
          )
        : null,
    );
  }

  /** @param {IncidentSummary} incident */
  _renderRow(incident) {
    const actions = availableActions(incident);
    const busy = this._busy.has(incident.id);
    /**
     * @param {string} name
     * @param {string} service
     */
    const button = (name, service) =>
      h(
        "button",
        {
          class: `action ${name}`,
          disabled: busy,
          onclick: () => this._call(incident.id, service),
        },
        this._t(`panel.${name}`),
      );
    return h(
      "li",
      { class: "row", dataset: { incident: incident.id } },
      h(
        "div",
        {
          class: "open",
          role: "link",
          tabIndex: 0,
          onclick: () => navigate(incidentPath(incident.id)),
        },
        h(
          "div",
          { class: "summary untrusted" },
          h(
            "span",
            { class: `chip status ${incident.status}` },
            this._t(`status.${incident.status}`),
          ),
          " ",
          visibleText(incident.summary),
        ),
        h(
          "div",
          { class: "meta untrusted" },
          [
            visibleText(incident.id),
            visibleText(incident.source_name),
            formatAge(incident.last_email ?? incident.created, this.hass.language),
          ].join(" · "),
        ),
      ),
      h(
        "div",
        { class: "buttons" },
        actions.accept ? button("accept", "accept_incident") : null,
        actions.resolve ? button("resolve", "resolve_incident") : null,
      ),
    );
  }

  /**
   * @param {string} incidentId
   * @param {string} service
   */
  async _call(incidentId, service) {
    this._busy.add(incidentId);
    this._render();
    try {
      await this.hass.callService(DOMAIN, service, { incident_id: incidentId });
      this._error = "";
    } catch (error) {
      this._error = errorMessage(error);
    } finally {
      this._busy.delete(incidentId);
      this._load();
    }
  }
}

/** The card's editor: a title and the alert sources to show. */
class EmailIncidentsCardEditor extends HTMLElement {
  constructor() {
    super();
    /** @type {Hass | undefined} */
    this._hass = undefined;
    /** @type {CardConfig} */
    this._config = { type: `custom:${CARD_TYPE}` };
    /** @type {Record<string, string>} */
    this._texts = {};
    /** @type {{id: string, name: string}[]} */
    this._sources = [];
    this._form = h("div", { class: "form" });
    this.attachShadow({ mode: "open" }).append(
      style(`
        ${SHARED_CSS}
        .form { display: flex; flex-direction: column; gap: 12px; }
        input[type="text"] { font: inherit; padding: 10px 12px; color: var(--primary-text-color);
          background: var(--input-fill-color, var(--secondary-background-color));
          border: none; border-bottom: 1px solid var(--divider-color); }
        label { display: flex; gap: 8px; align-items: center; }
      `),
      this._form,
    );
  }

  /** @param {any} config */
  setConfig(config) {
    this._config = checkCardConfig(config);
    this._render();
  }

  /** @param {Hass} hass */
  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) this._start(hass);
  }

  /** @param {Hass} hass */
  async _start(hass) {
    this._texts = await loadTexts(hass);
    try {
      this._sources = sourceOptions(await hass.callWS({ type: "config/device_registry/list" }));
    } catch {
      this._sources = [];
    }
    this._render();
  }

  /** @param {Partial<CardConfig>} change */
  _changed(change) {
    /** @type {Record<string, unknown>} */
    const config = { ...this._config, ...change };
    for (const [name, value] of Object.entries(config)) {
      if (value === "" || (Array.isArray(value) && !value.length)) delete config[name];
    }
    this._config = /** @type {CardConfig} */ (config);
    this.dispatchEvent(
      new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }),
    );
  }

  _render() {
    const chosen = new Set(this._config.sources ?? []);
    replaceChildren(
      this._form,
      h(
        "label",
        {},
        translate(this._texts, "panel.card_title"),
        h("input", {
          type: "text",
          value: this._config.title ?? "",
          onchange: (/** @type {Event} */ event) =>
            this._changed({ title: /** @type {HTMLInputElement} */ (event.target).value }),
        }),
      ),
      h("div", { class: "muted" }, translate(this._texts, "panel.card_sources")),
      this._sources.map((source) =>
        h(
          "label",
          {},
          h("input", {
            type: "checkbox",
            checked: chosen.has(source.id),
            onchange: (/** @type {Event} */ event) => {
              if (/** @type {HTMLInputElement} */ (event.target).checked) chosen.add(source.id);
              else chosen.delete(source.id);
              this._changed({
                sources: this._sources.map((s) => s.id).filter((id) => chosen.has(id)),
              });
            },
          }),
          visibleText(source.name),
        ),
      ),
    );
  }
}

if (!customElements.get(CARD_TYPE)) customElements.define(CARD_TYPE, EmailIncidentsCard);
if (!customElements.get(EDITOR_TYPE)) customElements.define(EDITOR_TYPE, EmailIncidentsCardEditor);

/** @type {any} */
const page = window;
page.customCards = page.customCards || [];
if (!page.customCards.some((/** @type {{type: string}} */ card) => card.type === CARD_TYPE)) {
  page.customCards.push({
    type: CARD_TYPE,
    name: "Email Incidents",
    preview: true,
    documentationURL: "https://github.com/email-incidents/email-incidents#incidents-panel-and-card",
  });
}
