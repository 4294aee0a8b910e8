// The analytics screen: the numbers tables show what the API answered, the empty state says so,
// and changing the period asks for the longer window.
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { renderScreen } from "../../../test/render";
import AnalyticsPage from "../AnalyticsPage";

const ANSWERS: Record<string, unknown> = {
  triage: {
    total_assessments: 42,
    by_level: [
      { level: "emergency", count: 5 },
      { level: "consultation", count: 30 },
      { level: "self_care", count: 7 },
    ],
    top_conditions: [{ condition_id: "c1", name: "Viral pharyngitis", icd10: "J02.9", count: 12 }],
  },
  bookings: { bookable_assessments: 37, booked: 20, rate: 20 / 37, cancelled: 2 },
  voice: { stages: [] },
};

class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}

describe("AnalyticsPage", () => {
  beforeEach(() => vi.stubGlobal("ResizeObserver", ResizeObserverStub));
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it("shows each chart's numbers as a table, and says when a chart has no data", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const kind = new URL(String(input), "http://localhost").pathname.split("/").pop() ?? "";
      return new Response(JSON.stringify(ANSWERS[kind]), { headers: { "Content-Type": "application/json" } });
    });
    const user = userEvent.setup();
    renderScreen(<AnalyticsPage />);

    expect(screen.getByRole("heading", { level: 1, name: "Analytics" })).toBeInTheDocument();
    const levels = await screen.findByTestId("chart-triage-levels");
    await user.click(await within(levels).findByText(/Show the numbers/));
    const levelTable = within(levels).getByRole("table");
    expect(within(levelTable).getByRole("row", { name: "Consultation 30" })).toBeInTheDocument();
    expect(within(levelTable).getByRole("row", { name: "Ambulance now 0" })).toBeInTheDocument();

    const conditions = screen.getByTestId("chart-top-conditions");
    await user.click(within(conditions).getByText(/Show the numbers/));
    expect(within(conditions).getByRole("row", { name: "Viral pharyngitis J02.9 12" })).toBeInTheDocument();

    const conversion = await screen.findByTestId("chart-booking-conversion");
    await user.click(await within(conversion).findByText(/Show the numbers/));
    expect(within(conversion).getByRole("row", { name: "Triage sessions 42" })).toBeInTheDocument();
    expect(within(conversion).getByRole("row", { name: "Offered a booking 37" })).toBeInTheDocument();
    expect(within(conversion).getByRole("row", { name: "Booked 20" })).toBeInTheDocument();

    const voice = screen.getByTestId("chart-voice-latency");
    expect(await within(voice).findByText("No data yet for this period.")).toBeInTheDocument();

    await user.selectOptions(screen.getByTestId("analytics-period"), "Last 30 days");
    await waitFor(() => expect(fetch.mock.calls.length).toBe(6));
    const last = new URL(String(fetch.mock.calls[5]?.[0]), "http://localhost");
    const start = Date.parse(last.searchParams.get("start") ?? "");
    const end = Date.parse(last.searchParams.get("end") ?? "");
    expect(Math.round((end - start) / 86_400_000)).toBe(30);
  });
});
