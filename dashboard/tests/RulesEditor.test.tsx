// A gate's entry rules form: who counts as a second person is one choice, named after what the gate inherits.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import i18n from "i18next";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api } from "../src/api/client";
import "../src/i18n";
import { RulesEditor } from "../src/settings/RulesEditor";

// jsdom does not scroll; Mantine's open Select scrolls to the selected option.
Element.prototype.scrollIntoView ??= () => {};

const ok = (data: unknown, status = 200) => ({ data, response: new Response(null, { status }) });

const strict = { other_face_detector_score: 0, other_face_width_share: 0, other_face_overlap: 1 };
const ruleSet = { fever_threshold_c: 37.5, plausible_min_c: 30, plausible_max_c: 43, mask: "hard", mask_over_nose: "off", temperature: "hard", min_face_score: 0.5, ...strict };
const rules = {
  _links: { self: { href: "/api/v1/gates/gate-a/rules" }, edit: { href: "/api/v1/gates/gate-a/rules", method: "PUT" } },
  scope: "gate",
  subject_id: "gate-a",
  site_id: "default",
  effective: ruleSet,
  overrides: { min_face_score: 0.6 },
  inherited: ruleSet,
};

/** The form of gate-a with `rules` served; returns the spy on saving. */
function renderGateRules() {
  vi.spyOn(api, "GET").mockImplementation((async () => ok(rules)) as never);
  const put = vi.spyOn(api, "PUT").mockImplementation((async () => ok(rules)) as never);
  render(
    <MantineProvider env="test">
      <QueryClientProvider client={new QueryClient()}>
        <RulesEditor scope="gate" subject="gate-a" />
      </QueryClientProvider>
    </MantineProvider>,
  );
  return put;
}

describe("the entry rules form", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("lets a gate under a strict site count only people within reach", async () => {
    const put = renderGateRules();
    const people = (await screen.findByRole("combobox", { name: "Second person in the frame" })) as HTMLInputElement;
    expect(people.value).toBe("Inherited: Count every face as a person");
    expect(screen.getByText(/refuses a lone visitor more often/)).toBeTruthy();

    fireEvent.click(people);
    fireEvent.click(await screen.findByRole("option", { name: /Only people within reach count/ }));
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(put).toHaveBeenCalledWith("/api/v1/gates/{gate_id}/rules", {
        params: { path: { gate_id: "gate-a" } },
        body: { min_face_score: 0.6, other_face_detector_score: 0.5, other_face_width_share: 0.4, other_face_overlap: 0.25 },
      }),
    );
  });

  it("asks for the mask over the nose as its own rule", async () => {
    const put = renderGateRules();
    const nose = (await screen.findByRole("combobox", { name: "Mask over the nose" })) as HTMLInputElement;
    expect(nose.value).toBe("Inherited: Not checked");
    expect(screen.getByText(/mask over the nose: Not checked/)).toBeTruthy();

    fireEvent.click(nose);
    fireEvent.click(await screen.findByRole("option", { name: "Deny entry" }));
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(put).toHaveBeenCalledWith("/api/v1/gates/{gate_id}/rules", {
        params: { path: { gate_id: "gate-a" } },
        body: { min_face_score: 0.6, mask_over_nose: "hard" },
      }),
    );
  });
});
