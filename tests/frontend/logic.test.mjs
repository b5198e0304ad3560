// The logic of the Incidents panel and the card, without a browser: `node --test tests/frontend/`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import {
  applyChange,
  applyChangeToDetail,
  availableActions,
  bulkRequest,
  bulkResultText,
  cardRequests,
  checkCardConfig,
  clickSelection,
  defaultOverrideMember,
  deviceSubentries,
  FAILED_IDS_NAMED,
  formatAge,
  formatLength,
  formatMinutes,
  formatOverrideDuration,
  formatSize,
  formatTime,
  idsFilterText,
  idsFromSearch,
  idsRequest,
  incidentIdFromPath,
  incidentPath,
  listPath,
  listRequest,
  localDateTime,
  logKindLabel,
  matchesFilters,
  MAX_LINK_IDS,
  mergePages,
  NO_FILTERS,
  ON_CALL_PATH,
  onCallLine,
  onCallSignature,
  overrideData,
  OVERRIDE_MINUTES,
  pageSelection,
  panelView,
  sameIds,
  selectPage,
  snoozeDuration,
  sourceOptions,
  translate,
  visibleText,
} from "../../custom_components/email_incidents/frontend/logic.js";

/** An incident summary as the websocket API sends it. */
function incident(id, fields = {}) {
  return {
    id,
    source_id: "source_nas",
    source_name: "NAS",
    status: "pending",
    summary: `Summary of ${id}`,
    key: null,
    priority: "high",
    created: "2026-12-01T10:00:00+00:00",
    last_email: "2026-12-01T10:00:00+00:00",
    accepted_at: null,
    accepted_by: null,
    resolved_at: null,
    resolved_by: null,
    email_count: 1,
    snoozed_until: null,
    escalation_level: 0,
    url: `/email-incidents/${id}`,
    ...fields,
  };
}

describe("routes", () => {
  it("reads the incident of a deep link and builds one", () => {
    assert.equal(incidentIdFromPath("/INC-42"), "INC-42");
    assert.equal(incidentIdFromPath("/INC-42/"), "INC-42");
    assert.equal(incidentIdFromPath(""), null);
    assert.equal(incidentIdFromPath("/"), null);
    assert.equal(incidentIdFromPath(undefined), null);
    assert.equal(incidentPath("INC-42"), "/email-incidents/INC-42");
    assert.equal(
      incidentIdFromPath(incidentPath("INC 7/x").slice("/email-incidents".length)),
      "INC 7/x",
    );
  });

  it("ignores a path that is not valid percent-encoding", () => {
    assert.equal(incidentIdFromPath("/%E0%A4%A"), null);
  });
});

describe("a notification summary's link", () => {
  it("names the incidents to show, in the link's order", () => {
    assert.deepEqual(idsFromSearch("?ids=INC-4,INC-5,INC-17"), {
      ids: ["INC-4", "INC-5", "INC-17"],
      ignored: 0,
    });
    assert.deepEqual(idsFromSearch("ids=INC-4"), { ids: ["INC-4"], ignored: 0 });
    assert.deepEqual(idsFromSearch("?x=1&ids=INC-4%2CINC-5&y=2"), {
      ids: ["INC-4", "INC-5"],
      ignored: 0,
    });
    assert.deepEqual(idsFromSearch("?ids=INC-1&ids=INC-2"), {
      ids: ["INC-1", "INC-2"],
      ignored: 0,
    });
  });

  it("is no filter without ids", () => {
    assert.equal(idsFromSearch(""), null);
    assert.equal(idsFromSearch(undefined), null);
    assert.equal(idsFromSearch("?idsx=INC-1&search=INC-2"), null);
  });

  it("takes each id once, skips empty entries and spaces", () => {
    assert.deepEqual(idsFromSearch("?ids=,INC-4,,INC-4,+INC-5%20,"), {
      ids: ["INC-4", "INC-5"],
      ignored: 0,
    });
  });

  it("leaves out and counts what is not an incident id", () => {
    const search =
      "?ids=INC-4,inc-5,INC-,INC-x,42,INC-6;INC-7,<script>,INC-1234567890123," +
      "INC-%D9%A3,INC-8%00,../INC-9,INC-10";
    assert.deepEqual(idsFromSearch(search), { ids: ["INC-4", "INC-10"], ignored: 10 });
    assert.deepEqual(idsFromSearch("?ids="), { ids: [], ignored: 0 });
    assert.deepEqual(idsFromSearch("?ids=nothing"), { ids: [], ignored: 1 });
  });

  it("shows at most 500 incidents of a link and counts the rest", () => {
    assert.equal(MAX_LINK_IDS, 500);
    const many = Array.from({ length: 503 }, (_, index) => `INC-${index + 1}`);
    const link = idsFromSearch(`?ids=${many.join(",")}`);
    assert.deepEqual(link?.ids, many.slice(0, 500));
    assert.equal(link?.ignored, 3);
  });

  it("links back to the same incidents, or to all", () => {
    assert.equal(listPath(["INC-4", "INC-5"]), "/email-incidents?ids=INC-4,INC-5");
    assert.equal(listPath([]), "/email-incidents");
    assert.equal(listPath(), "/email-incidents");
    assert.deepEqual(idsFromSearch(listPath(["INC-4", "INC-5"]).split("?")[1])?.ids, [
      "INC-4",
      "INC-5",
    ]);
    assert.ok(sameIds(["INC-4", "INC-5"], ["INC-4", "INC-5"]));
    assert.ok(!sameIds(["INC-4", "INC-5"], ["INC-5", "INC-4"]));
    assert.ok(!sameIds(["INC-4"], []));
  });

  it("asks the server for only those incidents, with the other filters", () => {
    const filters = { ...NO_FILTERS, ids: ["INC-4", "INC-5"], status: "pending" };
    assert.deepEqual(listRequest(filters, 0), {
      type: "email_incidents/incidents/list",
      ids: ["INC-4", "INC-5"],
      status: "pending",
      limit: 50,
      offset: 0,
    });
    assert.deepEqual(idsRequest(filters), {
      type: "email_incidents/incidents/ids",
      ids: ["INC-4", "INC-5"],
      status: "pending",
    });
    assert.deepEqual(listRequest({ ...NO_FILTERS, ids: [] }, 0), {
      type: "email_incidents/incidents/list",
      limit: 50,
      offset: 0,
    });
  });

  it("follows live changes of those incidents only", () => {
    const filters = { ...NO_FILTERS, ids: ["INC-4", "INC-5"] };
    assert.ok(matchesFilters(incident("INC-4"), filters));
    assert.ok(!matchesFilters(incident("INC-6"), filters));
    const page = [incident("INC-5"), incident("INC-4")];
    assert.equal(applyChange(page, { incident: incident("INC-6") }, filters).reload, false);
    const accepted = incident("INC-4", { status: "accepted" });
    const changed = applyChange(page, { incident: accepted }, filters);
    assert.equal(changed.reload, false);
    assert.equal(changed.incidents[1].status, "accepted");
  });

  it("says how many incidents the summary named, in the user's language", () => {
    const english = panelTexts("en");
    const german = panelTexts("de");
    assert.equal(idsFilterText(english, 37), "37 incidents from a notification summary");
    assert.equal(idsFilterText(english, 1), "1 incident from a notification summary");
    assert.equal(
      idsFilterText(german, 37),
      "37 Vorfälle aus einer Benachrichtigungs-Zusammenfassung",
    );
    assert.equal(idsFilterText(german, 1), "1 Vorfall aus einer Benachrichtigungs-Zusammenfassung");
    for (const texts of [english, german]) {
      for (const key of ["show_all", "ids_ignored"]) {
        assert.notEqual(translate(texts, `panel.${key}`), `panel.${key}`);
      }
      assert.doesNotMatch(translate(texts, "panel.ids_ignored", { count: 2, max: 500 }), /\{/);
    }
  });
});

describe("list requests", () => {
  it("leaves out empty filters and trims the search", () => {
    assert.deepEqual(listRequest(NO_FILTERS, 0), {
      type: "email_incidents/incidents/list",
      limit: 50,
      offset: 0,
    });
    assert.deepEqual(
      listRequest({ source_id: "source_nas", status: "open", search: "  disk " }, 100, 25),
      {
        type: "email_incidents/incidents/list",
        limit: 25,
        offset: 100,
        source_id: "source_nas",
        status: "open",
        search: "disk",
      },
    );
  });

  it("asks for the ids of every incident the same filters match", () => {
    assert.deepEqual(idsRequest(NO_FILTERS), { type: "email_incidents/incidents/ids" });
    assert.deepEqual(idsRequest({ source_id: "source_nas", status: "pending", search: " 7 " }), {
      type: "email_incidents/incidents/ids",
      source_id: "source_nas",
      status: "pending",
      search: "7",
    });
  });

  it("filters by source and status; open means not resolved", () => {
    const filters = { ...NO_FILTERS, status: "open" };
    assert.ok(matchesFilters(incident("INC-1"), filters));
    assert.ok(matchesFilters(incident("INC-1", { status: "accepted" }), filters));
    assert.ok(!matchesFilters(incident("INC-1", { status: "resolved" }), filters));
    assert.ok(!matchesFilters(incident("INC-1"), { ...NO_FILTERS, source_id: "other" }));
    assert.ok(matchesFilters(incident("INC-1"), { ...NO_FILTERS, status: "pending" }));
    assert.ok(!matchesFilters(incident("INC-1"), { ...NO_FILTERS, status: "accepted" }));
  });
});

describe("live updates of the list", () => {
  const page = [incident("INC-2"), incident("INC-1")];

  it("replaces an incident shown that still passes the filters", () => {
    const accepted = incident("INC-1", { status: "accepted" });
    const result = applyChange(page, { incident: accepted }, NO_FILTERS);
    assert.equal(result.reload, false);
    assert.deepEqual(
      result.incidents.map((i) => i.status),
      ["pending", "accepted"],
    );
    assert.equal(page[1].status, "pending", "the page given is not changed");
  });

  it("reloads for a new incident, one that leaves the filters, or one removed", () => {
    assert.equal(applyChange(page, { incident: incident("INC-3") }, NO_FILTERS).reload, true);
    const resolved = incident("INC-1", { status: "resolved" });
    assert.equal(
      applyChange(page, { incident: resolved }, { ...NO_FILTERS, status: "open" }).reload,
      true,
    );
    assert.equal(applyChange(page, { removed: "INC-2" }, NO_FILTERS).reload, true);
  });

  it("ignores what the page does not show and the filters exclude", () => {
    const other = incident("INC-9", { source_id: "other" });
    const filters = { ...NO_FILTERS, source_id: "source_nas" };
    assert.equal(applyChange(page, { incident: other }, filters).reload, false);
    assert.equal(applyChange(page, { removed: "INC-9" }, filters).reload, false);
  });

  it("leaves a text search to the server", () => {
    const filters = { ...NO_FILTERS, search: "disk" };
    assert.equal(applyChange(page, { incident: incident("INC-1") }, filters).reload, true);
  });

  it("refreshes the incident shown and notices it is gone", () => {
    const detail = { ...incident("INC-1"), emails: [], emails_omitted: 0, log: [] };
    const accepted = incident("INC-1", { status: "accepted", accepted_by: "Anna" });
    const changed = applyChangeToDetail(detail, { incident: accepted });
    assert.equal(changed.reload, true);
    assert.equal(changed.detail?.accepted_by, "Anna");
    assert.deepEqual(changed.detail?.log, []);
    assert.equal(applyChangeToDetail(detail, { incident: incident("INC-2") }).reload, false);
    assert.equal(applyChangeToDetail(detail, { removed: "INC-1" }).removed, true);
    assert.equal(applyChangeToDetail(null, { removed: "INC-1" }).removed, false);
  });
});

describe("untrusted text", () => {
  it("shows bidirectional overrides, zero-width and control characters as code points", () => {
    assert.equal(visibleText("invoice\u202Efdp.exe"), "invoice⟦U+202E⟧fdp.exe");
    assert.equal(visibleText("pay\u200Bpal\u2066x\u2069"), "pay⟦U+200B⟧pal⟦U+2066⟧x⟦U+2069⟧");
    assert.equal(visibleText("a\u0000b\u001Bc\uFEFF"), "a⟦U+0000⟧b⟦U+001B⟧c⟦U+FEFF⟧");
  });

  it("keeps markup, newlines, tabs and other scripts as they are", () => {
    const text = '<script>alert(1)</script>\n\t<img src=x onerror="x()"> שלום مرحبا';
    assert.equal(visibleText(text), text);
    assert.equal(visibleText(null), "");
    assert.equal(visibleText(42), "42");
  });
});

describe("actions and durations", () => {
  it("offers accept, snooze and escalate while pending and only a note once resolved", () => {
    assert.deepEqual(availableActions(incident("INC-1")), {
      accept: true,
      resolve: true,
      note: true,
      snooze: true,
      escalate: true,
    });
    assert.deepEqual(availableActions(incident("INC-1", { status: "accepted" })), {
      accept: false,
      resolve: true,
      note: true,
      snooze: false,
      escalate: false,
    });
    assert.deepEqual(availableActions(incident("INC-1", { status: "resolved" })), {
      accept: false,
      resolve: false,
      note: true,
      snooze: false,
      escalate: false,
    });
  });

  it("splits a snooze into hours and minutes", () => {
    assert.deepEqual(snoozeDuration(90), { hours: 1, minutes: 30 });
    assert.deepEqual(snoozeDuration(15), { hours: 0, minutes: 15 });
    assert.deepEqual(snoozeDuration(1440), { hours: 24, minutes: 0 });
  });
});

describe("texts", () => {
  const texts = {
    "component.email_incidents.selector.panel.options.range": "{first}–{last} of {total}",
    "component.email_incidents.selector.status.options.pending": "Pending",
  };

  it("fills placeholders and falls back to the key", () => {
    assert.equal(
      translate(texts, "panel.range", { first: 1, last: 50, total: 10000 }),
      "1–50 of 10000",
    );
    assert.equal(translate(texts, "status.pending"), "Pending");
    assert.equal(translate(texts, "panel.missing"), "panel.missing");
    assert.equal(translate(texts, "panel.range", { first: 1 }), "1–{last} of {total}");
  });

  it("names the kinds of timeline entries, an unknown one as it is", () => {
    const withKinds = { "component.email_incidents.selector.log_kind.options.note": "Note" };
    assert.equal(logKindLabel(withKinds, "note"), "Note");
    assert.equal(logKindLabel(withKinds, "rebooted"), "rebooted");
  });

  it("formats times, ages and sizes", () => {
    assert.equal(formatTime(null, "en"), "");
    assert.equal(formatTime("not a time", "en"), "not a time");
    assert.match(formatTime("2026-12-01T10:00:00+00:00", "en", "UTC"), /Dec 1, 2026.*10:00:00/);
    const now = Date.parse("2026-12-01T10:05:00Z");
    assert.equal(formatAge("2026-12-01T10:00:00Z", "en", now), "5 minutes ago");
    assert.equal(formatAge("2026-11-29T10:05:00Z", "en", now), "2 days ago");
    assert.equal(formatAge("2026-12-01T10:04:58Z", "en", now), "2 seconds ago");
    assert.equal(formatAge(null, "en", now), "");
    assert.equal(formatMinutes(15, "en"), "15 minutes");
    assert.equal(formatMinutes(60, "en"), "1 hour");
    assert.equal(formatMinutes(1440, "en"), "24 hours");
    assert.equal(formatMinutes(90, "en"), "90 minutes");
    assert.equal(formatSize(512), "512 B");
    assert.equal(formatSize(2048), "2.0 KiB");
    assert.equal(formatSize(3 * 1024 * 1024), "3.0 MiB");
  });
});

describe("sources", () => {
  it("are the integration's devices of subentries, then sources seen on incidents", () => {
    const devices = [
      {
        id: "d1",
        name: "Email Incidents listener",
        identifiers: [["email_incidents", "entry"]],
        config_entries_subentries: { entry: [null] },
      },
      {
        id: "d2",
        name: "NAS",
        identifiers: [["email_incidents", "source_nas"]],
        config_entries_subentries: { entry: ["source_nas"] },
      },
      {
        id: "d3",
        name: "Backup",
        name_by_user: "Backups",
        identifiers: [["email_incidents", "source_backup"]],
        config_entries_subentries: { entry: ["source_backup"] },
      },
      { id: "d4", name: "Lamp", identifiers: [["hue", "x"]], config_entries_subentries: {} },
    ];
    const seen = [incident("INC-1", { source_id: "source_old", source_name: "Alarm" })];
    assert.deepEqual(sourceOptions(devices, seen), [
      { id: "source_old", name: "Alarm" },
      { id: "source_backup", name: "Backups" },
      { id: "source_nas", name: "NAS" },
    ]);
  });

  it("take a device's subentry from config_subentry_id where the release sends it", () => {
    // 2026.10 sends both fields (the old one deprecated); 2027.8 only config_subentry_id.
    const devices = [
      {
        id: "d1",
        name: "Email Incidents listener",
        identifiers: [["email_incidents", "entry"]],
        config_subentry_id: null,
        config_entries_subentries: { entry: ["entry"] },
      },
      {
        id: "d2",
        name: "NAS",
        identifiers: [["email_incidents", "source_nas"]],
        config_subentry_id: "source_nas",
      },
    ];
    assert.deepEqual(deviceSubentries(devices[1]), ["source_nas"]);
    assert.deepEqual(sourceOptions(devices), [{ id: "source_nas", name: "NAS" }]);
  });
});

describe("the card", () => {
  it("checks its configuration", () => {
    const config = {
      type: "custom:email-incidents-card",
      sources: ["a"],
      limit: 5,
      title: "On call",
    };
    assert.equal(checkCardConfig(config), config);
    assert.throws(() => checkCardConfig(null), /Invalid configuration/);
    assert.throws(() => checkCardConfig({ sources: "a" }), /sources/);
    assert.throws(() => checkCardConfig({ sources: [1] }), /sources/);
    assert.throws(() => checkCardConfig({ limit: 0 }), /limit/);
    assert.throws(() => checkCardConfig({ title: 3 }), /title/);
  });

  it("asks for the open incidents of all sources or of each chosen one", () => {
    assert.deepEqual(cardRequests({ type: "x" }), [
      { type: "email_incidents/incidents/list", limit: 10, offset: 0, status: "open" },
    ]);
    assert.deepEqual(
      cardRequests({ type: "x", sources: ["a", "b"], limit: 3 }).map((m) => [m.source_id, m.limit]),
      [
        ["a", 3],
        ["b", 3],
      ],
    );
  });

  it("merges the pages newest first", () => {
    const pages = [
      { incidents: [incident("INC-3", { created: "2026-12-01T12:00:00Z" })], total: 4 },
      {
        incidents: [
          incident("INC-4", { created: "2026-12-01T13:00:00Z" }),
          incident("INC-1", { created: "2026-12-01T09:00:00Z" }),
        ],
        total: 2,
      },
    ];
    const merged = mergePages(pages, 2);
    assert.deepEqual(
      merged.incidents.map((i) => i.id),
      ["INC-4", "INC-3"],
    );
    assert.equal(merged.total, 6);
  });
});

/** The panel's texts of a translation file, as the frontend loads them (`selector`). */
function panelTexts(language) {
  const file = new URL(
    `../../custom_components/email_incidents/translations/${language}.json`,
    import.meta.url,
  );
  const { selector } = JSON.parse(readFileSync(file, "utf-8"));
  const texts = {};
  for (const [group, { options }] of Object.entries(selector)) {
    for (const [option, text] of Object.entries(options)) {
      texts[`component.email_incidents.selector.${group}.options.${option}`] = text;
    }
  }
  return texts;
}

describe("selecting incidents", () => {
  const page = ["INC-9", "INC-8", "INC-7", "INC-6", "INC-5"];

  it("selects and unselects one with a click; it becomes the anchor", () => {
    const first = clickSelection(new Set(), page, "INC-8", true, null, false);
    assert.deepEqual([...first.selected], ["INC-8"]);
    assert.equal(first.anchor, "INC-8");
    const second = clickSelection(first.selected, page, "INC-6", true, first.anchor, false);
    assert.deepEqual([...second.selected].sort(), ["INC-6", "INC-8"]);
    const third = clickSelection(second.selected, page, "INC-8", false, second.anchor, false);
    assert.deepEqual([...third.selected], ["INC-6"]);
    assert.equal(third.anchor, "INC-8");
  });

  it("selects a range with shift, either way from the anchor", () => {
    const down = clickSelection(new Set(["INC-9"]), page, "INC-6", true, "INC-8", true);
    assert.deepEqual([...down.selected].sort(), ["INC-6", "INC-7", "INC-8", "INC-9"]);
    const up = clickSelection(new Set(), page, "INC-8", true, "INC-5", true);
    assert.deepEqual([...up.selected].sort(), ["INC-5", "INC-6", "INC-7", "INC-8"]);
  });

  it("unselects a range with shift when the box clicked was unchecked", () => {
    const all = new Set(page);
    const result = clickSelection(all, page, "INC-7", false, "INC-9", true);
    assert.deepEqual([...result.selected].sort(), ["INC-5", "INC-6"]);
  });

  it("selects only the one clicked when the anchor is not on the page", () => {
    const result = clickSelection(new Set(["INC-42"]), page, "INC-7", true, "INC-42", true);
    assert.deepEqual([...result.selected].sort(), ["INC-42", "INC-7"]);
    const none = clickSelection(new Set(), page, "INC-7", true, null, true);
    assert.deepEqual([...none.selected], ["INC-7"]);
  });

  it("leaves the selection given as it was", () => {
    const selected = new Set(["INC-9"]);
    clickSelection(selected, page, "INC-5", true, "INC-9", true);
    selectPage(selected, page, false);
    assert.deepEqual([...selected], ["INC-9"]);
  });

  it("tells how much of the page is selected and selects or unselects the page", () => {
    assert.equal(pageSelection(new Set(), page), "none");
    assert.equal(pageSelection(new Set(["INC-42"]), page), "none");
    assert.equal(pageSelection(new Set(["INC-7"]), page), "some");
    const whole = selectPage(new Set(["INC-42"]), page, true);
    assert.equal(pageSelection(whole, page), "all");
    assert.equal(whole.size, 6);
    // Incidents of other pages stay selected when the page is unselected.
    assert.deepEqual([...selectPage(whole, page, false)], ["INC-42"]);
    assert.equal(pageSelection(new Set(), []), "none");
  });
});

describe("acting on a selection", () => {
  const english = panelTexts("en");
  const german = panelTexts("de");
  const ids = Array.from({ length: 40 }, (_, index) => `INC-${index + 1}`);

  it("accepts or resolves the incidents in one action call that returns its response", () => {
    assert.deepEqual(bulkRequest("accept", ids, "  Power is back  "), {
      type: "call_service",
      domain: "email_incidents",
      service: "accept_incident",
      service_data: { incident_id: ids, note: "Power is back" },
      return_response: true,
    });
    assert.deepEqual(bulkRequest("resolve", ["INC-1"], " ").service_data, {
      incident_id: ["INC-1"],
    });
    assert.equal(bulkRequest("resolve", ["INC-1"], "").service, "resolve_incident");
  });

  it("says how many were changed", () => {
    const response = {
      results: ids.map((incident_id) => ({ incident_id, success: true })),
      succeeded: 40,
      failed: 0,
    };
    assert.deepEqual(bulkResultText(english, "accept", response), {
      text: "40 accepted",
      failed: false,
    });
    assert.equal(bulkResultText(german, "resolve", response).text, "40 behoben");
  });

  it("names the incidents that failed, grouped by why, in the user's language", () => {
    const response = {
      results: [
        { incident_id: "INC-1", success: true },
        {
          incident_id: "INC-3",
          success: false,
          error: "already_resolved",
          message: "Incident INC-3 is already resolved",
        },
        { incident_id: "INC-4", success: true },
        {
          incident_id: "INC-9",
          success: false,
          error: "unknown_incident",
          message: "There is no incident INC-9",
        },
        { incident_id: "INC-5", success: false, error: "already_resolved", message: "" },
      ],
      succeeded: 2,
      failed: 3,
    };
    assert.deepEqual(bulkResultText(english, "accept", response), {
      text:
        "2 accepted, 3 failed: INC-3, INC-5 already resolved; " + "INC-9 does not exist (any more)",
      failed: true,
    });
    assert.equal(
      bulkResultText(german, "accept", response).text,
      "2 angenommen, 3 fehlgeschlagen: INC-3, INC-5 bereits behoben; " +
        "INC-9 gibt es nicht (mehr)",
    );
  });

  it("shows the back end's words for a reason it has no text for, as untrusted text", () => {
    const response = {
      results: [
        {
          incident_id: "INC-2",
          success: false,
          error: "something_new",
          message: "Something \u202enew",
        },
        { incident_id: "INC-3", success: false, error: "other" },
      ],
      succeeded: 0,
      failed: 2,
    };
    assert.equal(
      bulkResultText(english, "resolve", response).text,
      "0 resolved, 2 failed: INC-2 Something ⟦U+202E⟧new; INC-3 other",
    );
  });

  it("counts the failed incidents of one reason beyond the first ones", () => {
    const results = ids.map((incident_id) => ({
      incident_id,
      success: false,
      error: "already_accepted",
    }));
    const text = bulkResultText(english, "accept", { results, succeeded: 0, failed: 40 }).text;
    const named = ids.slice(0, FAILED_IDS_NAMED).join(", ");
    assert.equal(
      text,
      `0 accepted, 40 failed: ${named} and ${40 - FAILED_IDS_NAMED} more already accepted`,
    );
  });
});

/** A rotation as the websocket command `email_incidents/on_call` sends it. */
function rotation(fields = {}) {
  return {
    id: "rotation_ops",
    name: "Ops",
    entity_id: "sensor.ops_on_call",
    members: [
      { person: "person.anna", name: "Anna" },
      { person: "person.ben", name: "Ben" },
      { person: "person.carla", name: "Carla" },
    ],
    shift_length: 1,
    shift_unit: "weeks",
    shift_until: "2027-04-05T07:00:00+00:00",
    on_call: {
      person: "person.anna",
      name: "Anna",
      until: "2027-04-05T07:00:00+00:00",
      next_person: "person.ben",
      next_name: "Ben",
      overridden: false,
    },
    ...fields,
  };
}

describe("who is on call", () => {
  const english = panelTexts("en");
  const german = panelTexts("de");

  it("has a view of its own at /email-incidents/on-call", () => {
    assert.equal(ON_CALL_PATH, "/email-incidents/on-call");
    assert.deepEqual(panelView("/on-call"), { view: "on_call" });
    assert.deepEqual(panelView("/on-call/"), { view: "on_call" });
    assert.deepEqual(panelView("/INC-42"), { view: "incident", id: "INC-42" });
    assert.deepEqual(panelView(""), { view: "list" });
    assert.deepEqual(panelView(undefined), { view: "list" });
  });

  it("notices a handover or an override by the on-call sensors' states", () => {
    const rotations = [rotation(), rotation({ id: "r2", entity_id: "sensor.home_on_call" })];
    const states = {
      "sensor.ops_on_call": { state: "Anna", last_updated: "2027-03-29T07:00:00Z" },
      "sensor.home_on_call": { state: "Ben", last_updated: "2027-03-29T06:00:00Z" },
      "light.kitchen": { state: "on", last_updated: "2027-03-29T07:01:00Z" },
    };
    const before = onCallSignature(states, rotations);
    // Other entities do not matter.
    const kitchen = {
      ...states,
      "light.kitchen": { state: "off", last_updated: "2027-03-29T07:02:00Z" },
    };
    assert.equal(onCallSignature(kitchen, rotations), before);
    const handover = {
      ...states,
      "sensor.ops_on_call": { state: "Ben", last_updated: "2027-04-05T07:00:00Z" },
    };
    assert.notEqual(onCallSignature(handover, rotations), before);
    // A rotation removed takes its sensor away.
    const { "sensor.home_on_call": _removed, ...without } = states;
    assert.notEqual(onCallSignature(without, rotations), before);
    assert.equal(onCallSignature(undefined, [rotation({ entity_id: null })]), "");
  });

  it("offers the member after the one on call", () => {
    assert.equal(defaultOverrideMember(rotation()), "person.ben");
    const carla = rotation();
    carla.on_call.person = "person.carla";
    assert.equal(defaultOverrideMember(carla), "person.anna");
    assert.equal(defaultOverrideMember(rotation({ on_call: null })), "person.anna");
    const alone = rotation({ members: [{ person: "person.anna", name: "Anna" }] });
    assert.equal(defaultOverrideMember(alone), "person.anna");
    assert.equal(defaultOverrideMember(rotation({ members: [], on_call: null })), "");
  });

  it("calls set_on_call with the end chosen", () => {
    assert.deepEqual(overrideData("rotation_ops", "person.ben", { kind: "shift" }), {
      rotation: "rotation_ops",
      member: "person.ben",
    });
    assert.deepEqual(
      overrideData("rotation_ops", "person.ben", { kind: "duration", minutes: 1440 }),
      { rotation: "rotation_ops", member: "person.ben", duration: { hours: 24, minutes: 0 } },
    );
    assert.deepEqual(
      overrideData("rotation_ops", "person.ben", { kind: "until", local: "2027-03-28T12:00" }),
      { rotation: "rotation_ops", member: "person.ben", until: "2027-03-28T12:00" },
    );
  });

  it("shows a moment in a date-time field on Home Assistant's wall clock", () => {
    assert.equal(localDateTime("2027-04-05T07:00:00+00:00", "Europe/Berlin"), "2027-04-05T09:00");
    // Across the spring change: 09:00 CET on Saturday, 09:00 CEST on Sunday.
    assert.equal(localDateTime("2027-03-27T08:00:00Z", "Europe/Berlin"), "2027-03-27T09:00");
    assert.equal(localDateTime("2027-03-28T07:00:00Z", "Europe/Berlin"), "2027-03-28T09:00");
    assert.equal(localDateTime("2027-01-01T00:30:00Z", "UTC"), "2027-01-01T00:30");
    assert.equal(localDateTime("2027-01-01T00:30:00Z", "America/New_York"), "2026-12-31T19:30");
    assert.equal(localDateTime(null, "UTC"), "");
    assert.equal(localDateTime("not a time", "UTC"), "");
  });

  it("names shifts and durations in the user's language", () => {
    assert.equal(formatLength(1, "weeks", "en"), "1 week");
    assert.equal(formatLength(12, "hours", "en"), "12 hours");
    assert.equal(formatLength(2, "days", "de"), "2 Tage");
    assert.deepEqual(
      OVERRIDE_MINUTES.map((minutes) => formatOverrideDuration(minutes, "en")),
      [
        "1 hour",
        "2 hours",
        "4 hours",
        "8 hours",
        "12 hours",
        "1 day",
        "2 days",
        "3 days",
        "1 week",
      ],
    );
    assert.equal(formatOverrideDuration(90, "en"), "90 minutes");
  });

  it("says who is on call until when, without seconds", () => {
    // Newer ICU puts a narrow no-break space before AM.
    assert.match(
      onCallLine(english, rotation(), "en", "Europe/Berlin"),
      /^Anna until Apr 5, 2027, 9:00\sAM$/,
    );
    assert.equal(
      onCallLine(german, rotation(), "de", "Europe/Berlin"),
      "Anna bis 05.04.2027, 09:00",
    );
    assert.equal(onCallLine(english, rotation({ on_call: null }), "en"), "Nobody is on call.");
    const hidden = rotation();
    hidden.on_call.name = "Anna\u202e";
    assert.match(onCallLine(english, hidden, "en", "UTC"), /^Anna⟦U\+202E⟧ until/);
  });
});

describe("the panel's texts", () => {
  const panel = ["panel.js", "card.js", "logic.js"]
    .map((module) =>
      readFileSync(
        new URL(`../../custom_components/email_incidents/frontend/${module}`, import.meta.url),
        "utf-8",
      ),
    )
    .join("\n");
  const keys = [...new Set([...panel.matchAll(/"(panel\.\w+)"/g)].map((match) => match[1]))];

  it("finds the keys the modules name", () => {
    assert.ok(keys.includes("panel.on_call"));
    assert.ok(keys.length > 50, String(keys.length));
  });

  for (const language of ["en", "de"]) {
    it(`has every key the modules name in ${language}`, () => {
      const texts = panelTexts(language);
      assert.deepEqual(
        keys.filter((key) => translate(texts, key) === key),
        [],
      );
    });
  }
});
