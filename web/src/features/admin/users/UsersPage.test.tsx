// Inviting a user: the form sends what the admin chose, and a 422 shows next to its field.
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, test, vi } from "vitest";

import { renderScreen } from "../../../test/render";
import UsersPage from "./UsersPage";

const user = {
  user_id: "u1",
  email: "clinician@demo.example",
  display_name: "Demo Clinician",
  roles: ["clinician"],
  enabled: true,
  email_verified: true,
  mfa_enrolled: true,
  language: null,
  practitioner_id: null,
  create_time: null,
  last_sign_in_time: null,
};

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

function stubApi(invitationAnswer: () => Response) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    if (url.startsWith("/api/v1/admin/users?")) {
      return json({ users: [user], next_page_token: null, total_size: 1 });
    }
    if (url === "/api/v1/admin/users/invitations" && init?.method === "POST") return invitationAnswer();
    return json({ title: "Not Found", status: 404 }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}
afterEach(() => vi.unstubAllGlobals());

async function fillInvitation() {
  renderScreen(<UsersPage />);
  expect(await screen.findByText("Demo Clinician")).toBeVisible();
  await userEvent.click(screen.getByTestId("invite-user"));
  await userEvent.type(screen.getByLabelText("E-mail address"), "dr.new@clinic.example");
  await userEvent.type(screen.getByLabelText("Name (optional)"), "Dr New");
  await userEvent.click(screen.getByRole("checkbox", { name: "Administrator" }));
  await userEvent.click(screen.getByRole("button", { name: "Send the invitation" }));
}

test("the invitation form sends the e-mail, name and chosen roles", async () => {
  const fetchMock = stubApi(() => json({ ...user, user_id: "u2", email: "dr.new@clinic.example" }, 201));
  await fillInvitation();
  expect(await screen.findByText("Invitation sent to dr.new@clinic.example.")).toBeVisible();
  const post = fetchMock.mock.calls.find(([url]) => url === "/api/v1/admin/users/invitations");
  expect(JSON.parse(String((post?.[1] as RequestInit).body))).toEqual({
    email: "dr.new@clinic.example",
    display_name: "Dr New",
    roles: ["clinician", "admin"],
    language: "en",
  });
});

test("a 422 shows its message at the field and keeps what was typed", async () => {
  stubApi(() =>
    json(
      {
        title: "Request validation failed",
        status: 422,
        detail: "1 part(s) of the request are invalid; see errors.",
        errors: [{ location: ["body", "email"], message: "This address is not valid.", kind: "x" }],
      },
      422,
    ),
  );
  await fillInvitation();
  const email = screen.getByLabelText("E-mail address");
  expect(await screen.findByText("This address is not valid.")).toBeVisible();
  expect(email).toHaveAttribute("aria-invalid", "true");
  expect(email).toHaveAccessibleDescription("This address is not valid.");
  expect(email).toHaveValue("dr.new@clinic.example");
});
