// The add-practitioner form: what it sends, and a server 422 shown at the field it concerns.
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderScreen } from "../../../test/render";
import { AddPractitionerForm } from "./AddPractitionerForm";

const PRACTICE = {
  practice_id: "83df33ef-20e7-5067-a29b-76a6ffe014fa",
  name: "Danforth Family Health",
  address: "1400 Danforth Ave",
  city: "Toronto",
  timezone: "America/Toronto",
  latitude: null,
  longitude: null,
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": status < 400 ? "application/json" : "application/problem+json" },
  });
}

function mockServer(answer: (body: unknown) => Response) {
  const sent: unknown[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = String(input);
    if (url.startsWith("/api/v1/scheduling/practices")) {
      return json({ practices: [PRACTICE], next_page_token: null });
    }
    if (url === "/api/v1/admin/practitioners" && init?.method === "POST") {
      const body = JSON.parse(String(init.body)) as unknown;
      sent.push(body);
      return answer(body);
    }
    return json({ title: "unexpected" }, 500);
  });
  return sent;
}

async function fillForm() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Display name"), "Dr Test Person");
  await user.selectOptions(screen.getByLabelText("Specialty"), "Dermatology");
  await user.selectOptions(screen.getByLabelText("Languages"), ["English", "French"]);
  await waitFor(() => expect(screen.getByLabelText("Practice")).toBeEnabled());
  await user.selectOptions(screen.getByLabelText("Practice"), "Danforth Family Health");
  await user.type(screen.getByLabelText("Work e-mail (optional)"), "test@clinic.example");
  await user.click(screen.getByRole("button", { name: "Add practitioner" }));
  return user;
}

describe("AddPractitionerForm", () => {
  afterEach(() => vi.restoreAllMocks());

  it("sends every field the API takes and reports the new practitioner", async () => {
    const onAdded = vi.fn();
    const sent = mockServer((body) =>
      json({ practitioner: { ...(body as object), practitioner_id: "p-1", active: true, user_id: null } }, 201),
    );
    renderScreen(<AddPractitionerForm onAdded={onAdded} />);
    await fillForm();

    await waitFor(() => expect(onAdded).toHaveBeenCalled());
    expect(sent).toEqual([
      {
        display_name: "Dr Test Person",
        specialties: ["dermatology"],
        languages: ["en", "fr"],
        practice_id: PRACTICE.practice_id,
        email: "test@clinic.example",
      },
    ]);
    expect(onAdded.mock.calls[0]?.[0]).toMatchObject({ practitioner_id: "p-1" });
  });

  it("shows a 422 at the field it concerns and keeps what was typed", async () => {
    mockServer(() =>
      json(
        {
          status: 422,
          title: "Request validation failed",
          errors: [{ location: ["body", "email"], message: "Work e-mail is not accepted", kind: "value_error" }],
        },
        422,
      ),
    );
    renderScreen(<AddPractitionerForm onAdded={vi.fn()} />);
    await fillForm();

    const email = screen.getByLabelText("Work e-mail (optional)");
    expect(await screen.findByText("Work e-mail is not accepted")).toBeInTheDocument();
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveValue("test@clinic.example");
    expect(screen.getByLabelText("Display name")).toHaveValue("Dr Test Person");
  });
});
