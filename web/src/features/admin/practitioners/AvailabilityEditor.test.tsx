// The weekly availability editor: a range that ends before it starts is refused before sending.
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderScreen } from "../../../test/render";
import { AvailabilityEditor } from "./AvailabilityEditor";

describe("AvailabilityEditor", () => {
  afterEach(() => vi.restoreAllMocks());

  it("refuses a range whose end is before its start, and sends it once fixed", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) =>
      new Response(String(init?.body), { status: 200, headers: { "Content-Type": "application/json" } }),
    );
    const user = userEvent.setup();
    renderScreen(<AvailabilityEditor practitionerId="p-1" initial={[]} timezone="Europe/Paris" />);

    await user.click(screen.getByRole("button", { name: "Add a time range" }));
    await user.selectOptions(screen.getByLabelText("Day"), "Tuesday");
    const from = screen.getByLabelText("From");
    const to = screen.getByLabelText("To");
    await user.clear(from);
    await user.type(from, "14:00");
    await user.clear(to);
    await user.type(to, "10:00");
    await user.click(screen.getByRole("button", { name: "Save availability" }));

    expect(await screen.findByText("The end must be after the start.")).toBeInTheDocument();
    expect(fetch).not.toHaveBeenCalled();

    await user.clear(to);
    await user.type(to, "17:00");
    await user.click(screen.getByRole("button", { name: "Save availability" }));

    expect(await screen.findByText("Weekly availability saved.")).toBeInTheDocument();
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe("/api/v1/admin/practitioners/p-1/availability");
    expect(init?.method).toBe("PUT");
    expect(JSON.parse(String(init?.body))).toEqual({
      rules: [{ weekday: 2, start: "14:00", end: "17:00", slot_minutes: 30 }],
    });
  });
});
