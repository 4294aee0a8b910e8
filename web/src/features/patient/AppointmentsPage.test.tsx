import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderScreen } from "../../test/render";
import AppointmentsPage from "./AppointmentsPage";

const future = new Date(Date.now() + 2 * 24 * 3600 * 1000);
const appointment = {
  appointment_id: "a1",
  practitioner_id: "p1",
  start_time: future.toISOString(),
  end_time: new Date(future.getTime() + 20 * 60_000).toISOString(),
  timezone: "Europe/Paris",
  status: "booked",
  reason: "",
  urgency: null,
  cancellation_reason: "",
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

afterEach(() => vi.restoreAllMocks());

describe("AppointmentsPage", () => {
  it("cancels an appointment after confirmation, with the reason given", async () => {
    let cancelled = false;
    const fetchMock = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = String(input);
      if (url.startsWith("/auth/session")) {
        return json({ subject: "guest-1", roles: [], guest: true, permissions: [], expires_at: "",
          csrf_token: "t", guest_upgrade_pending: false });
      }
      if (url.includes("/appointments/a1/cancel")) {
        cancelled = true;
        return json({ ...appointment, status: "cancelled" });
      }
      if (url.startsWith("/api/v1/scheduling/appointments")) {
        return json({ appointments: [{ ...appointment, status: cancelled ? "cancelled" : "booked" }],
          next_page_token: null });
      }
      if (url.startsWith("/api/v1/scheduling/practitioners")) {
        return json({ practitioners: [{ practitioner_id: "p1", display_name: "Dr Claire Martin",
          specialties: ["general_practice"], languages: ["fr"], practice_id: "x1", active: true }] });
      }
      if (url.startsWith("/api/v1/scheduling/practices")) {
        return json({ practices: [{ practice_id: "x1", name: "Cabinet Bastille", address: "12 rue",
          city: "Paris", timezone: "Europe/Paris" }] });
      }
      return json({ title: "not found" }, 404);
    });

    renderScreen(<AppointmentsPage />, { path: "/appointments" });
    const row = await screen.findByTestId("appointment-row");
    expect(row).toHaveAttribute("data-status", "booked");
    expect(await within(row).findByText("Dr Claire Martin")).toBeInTheDocument();

    await userEvent.click(within(row).getByRole("button", { name: "Cancel" }));
    await userEvent.type(within(row).getByLabelText("Reason (optional)"), "Feeling better");
    await userEvent.click(within(row).getByRole("button", { name: "Yes, cancel it" }));

    expect(await screen.findByText("The appointment is cancelled.")).toBeInTheDocument();
    const call = fetchMock.mock.calls.find(([url]) => String(url).includes("/cancel"));
    const init = call?.[1] as RequestInit;
    expect(init.method).toBe("POST");
    expect(JSON.parse(String(init.body))).toEqual({ reason: "Feeling better" });
    expect((init.headers as Record<string, string>)["Idempotency-Key"]).toBeTruthy();
    expect(await screen.findByRole("heading", { name: "Past and cancelled" })).toBeInTheDocument();
    expect(screen.getByTestId("appointment-row")).toHaveAttribute("data-status", "cancelled");
  });
});
