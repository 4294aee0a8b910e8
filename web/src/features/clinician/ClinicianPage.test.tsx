// The clinician sees a patient's triage (level in words, answers) and records that they came.
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, expect, test, vi } from "vitest";

import { renderScreen } from "../../test/render";
import ClinicianPage from "./ClinicianPage";

const appointment = {
  appointment_id: "a1",
  patient_subject: "p1",
  practitioner_id: "dr1",
  start_time: "2030-05-02T08:00:00Z",
  end_time: "2030-05-02T08:20:00Z",
  timezone: "Europe/Paris",
  status: "booked",
  reason: "Chest pain since this morning",
  urgency: "consultation_24",
  triage_assessment_id: "t1",
};

const assessment = {
  assessment_id: "t1",
  create_time: "2030-05-01T10:00:00Z",
  patient: { age_years: 54, sex: "male" },
  outcome: {
    level: "consultation_24",
    red_flags: [],
    instruction: "See a doctor within 24 hours.",
    recommended_specialty: "cardiology",
    conditions: [
      { condition_id: "c1", name: "Stable angina", lay_name: "", icd10: "I20.8", probability: 0.42 },
    ],
  },
  questions_asked: 1,
  findings: [{ evidence_id: "E_1", question: "Does the pain spread to your arm?", answer: "Yes" }],
};

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

let fetchMock: ReturnType<typeof vi.fn>;
beforeEach(() => {
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    if (url.startsWith("/api/v1/scheduling/appointments?")) {
      return json({ appointments: [appointment], next_page_token: null });
    }
    if (url === "/api/v1/triage/assessments/t1") return json({ assessment, disclaimer: "" });
    if (url === "/api/v1/scheduling/appointments/a1/outcome" && init?.method === "POST") {
      return json({ ...appointment, status: "fulfilled" });
    }
    return json({ title: "Not Found", status: 404 }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

test("shows the triage level in words and the patient's answers", async () => {
  renderScreen(<ClinicianPage />);
  const summary = await screen.findByTestId("triage-summary");
  expect(within(summary).getByText("See a doctor within 24 hours", { exact: false, selector: "span" })).toBeVisible();
  expect(within(summary).getByText(/Stable angina/)).toBeInTheDocument();
  expect(within(summary).getByText("Does the pain spread to your arm?")).toBeInTheDocument();
  expect(within(summary).getByText("Yes")).toBeInTheDocument();
  expect(screen.getByRole("heading", { level: 1, name: "My upcoming appointments" })).toBeVisible();
});

test("marking an appointment fulfilled posts the outcome after confirming", async () => {
  vi.spyOn(window, "confirm").mockReturnValue(true);
  renderScreen(<ClinicianPage />);
  await userEvent.click(await screen.findByRole("button", { name: "Fulfilled" }));
  expect(await screen.findByText("Outcome recorded.")).toBeVisible();
  const post = fetchMock.mock.calls.find(([, init]) => (init as RequestInit | undefined)?.method === "POST");
  expect(post?.[0]).toBe("/api/v1/scheduling/appointments/a1/outcome");
  expect(JSON.parse(String((post?.[1] as RequestInit).body))).toEqual({ attendance: "attended" });
});
