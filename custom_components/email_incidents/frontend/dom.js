// @ts-check
/**
 * Building the DOM of the panel and the card. Every text, and above all e-mail content, goes
 * into text nodes: no element is ever given HTML to parse.
 */

import { DOMAIN } from "./logic.js";

/** @typedef {Node | string | number | null | undefined | false | ChildList} Child */
/** @typedef {Array<Child>} ChildList */

const REFUSED_PROPERTIES = new Set(["innerHTML", "outerHTML", "srcdoc"]);

/**
 * An element with properties, listeners (`onclick`) and children; strings become text nodes.
 * @template {string} K
 * @param {K} tag
 * @param {Record<string, any>} [props]
 * @param {...Child} children
 * @returns {K extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[K] : HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (REFUSED_PROPERTIES.has(name)) throw new Error(`${name} is never set`);
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name in element && !name.includes("-")) {
      /** @type {any} */ (element)[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return /** @type {any} */ (element);
}

/**
 * @param {Node} parent
 * @param {Child[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replace what a node holds.
 * @param {Node} parent
 * @param {...Child} children
 */
export function replaceChildren(parent, ...children) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/**
 * An icon of Home Assistant (`ha-icon`, an mdi: name).
 * @param {string} icon
 */
export function icon(icon) {
  return h("ha-icon", { icon });
}

/**
 * Move to a page of the frontend as its own links do, so the panel's route follows.
 * @param {string} path
 */
export function navigate(path) {
  history.pushState(null, "", path);
  window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace: false } }));
}

/**
 * A style sheet of constant CSS text.
 * @param {string} css
 */
export function style(css) {
  const element = document.createElement("style");
  element.textContent = css;
  return element;
}

/**
 * @typedef {object} Hass the parts of Home Assistant's frontend object used here
 * @property {string} language
 * @property {{time_zone?: string}} [config]
 * @property {{id: string, name: string} | undefined} [user]
 * @property {Record<string, HassState | undefined>} [states] every entity's state, by entity id
 * @property {(message: Record<string, unknown>) => Promise<any>} callWS
 * @property {(domain: string, service: string, data: Record<string, unknown>) => Promise<unknown>} callService
 * @property {{subscribeMessage: (callback: (message: any) => void, message: Record<string, unknown>) => Promise<() => Promise<void> | void>}} connection
 */

/**
 * @typedef {object} HassState an entity's state as the frontend holds it
 * @property {string} state
 * @property {string} [last_updated] when the state or an attribute changed last
 * @property {Record<string, unknown>} [attributes]
 */

/** @type {Map<string, Promise<Record<string, string>>>} */
const textsByLanguage = new Map();

/**
 * The integration's translated texts for the panel and the card (in translations/en.json
 * under `selector`), loaded once per language.
 * @param {Hass} hass
 * @returns {Promise<Record<string, string>>}
 */
export function loadTexts(hass) {
  const language = hass.language || "en";
  let texts = textsByLanguage.get(language);
  if (!texts) {
    texts = hass
      .callWS({
        type: "frontend/get_translations",
        language,
        category: "selector",
        integration: [DOMAIN],
      })
      .then((result) => result.resources)
      .catch(() => {
        textsByLanguage.delete(language);
        return {};
      });
    textsByLanguage.set(language, texts);
  }
  return texts;
}

/**
 * The message of an error from a websocket call or an action, as text.
 * @param {unknown} error
 */
export function errorMessage(error) {
  if (error && typeof error === "object" && "message" in error) return String(error.message);
  return String(error);
}

/** Theme-aware CSS both the panel and the card use. */
export const SHARED_CSS = `
  :host { color: var(--primary-text-color); }
  button.action {
    font: inherit; font-weight: 500; font-size: 14px; letter-spacing: 0.02em;
    display: inline-flex; align-items: center; gap: 6px;
    padding: 6px 14px; min-height: 36px; border-radius: 18px; cursor: pointer;
    color: var(--primary-color); background: transparent;
    border: 1px solid var(--divider-color);
  }
  button.action:hover { background: var(--secondary-background-color); }
  button.action.primary {
    color: var(--text-primary-color, #fff); background: var(--primary-color);
    border-color: var(--primary-color);
  }
  button.action:disabled { opacity: 0.5; cursor: default; }
  button.action ha-icon { --mdc-icon-size: 18px; }
  .chip {
    display: inline-block; padding: 1px 10px; border-radius: 12px; font-size: 12px;
    font-weight: 500; white-space: nowrap; color: var(--text-primary-color, #fff);
    background: var(--state-icon-color, var(--secondary-text-color));
  }
  .chip.pending { background: var(--error-color, #db4437); }
  .chip.accepted { background: var(--warning-color, #ffa600); }
  .chip.resolved { background: var(--success-color, #43a047); }
  .chip.priority { background: transparent; color: var(--secondary-text-color);
    border: 1px solid var(--divider-color); }
  .chip.priority.high { color: var(--error-color, #db4437); border-color: currentColor; }
  .muted { color: var(--secondary-text-color); }
  .error-text { color: var(--error-color, #db4437); }
  .untrusted { unicode-bidi: plaintext; overflow-wrap: anywhere; }
`;
