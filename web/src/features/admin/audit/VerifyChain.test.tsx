// "Verify the chain" says in words whether the audit log is intact, or where it breaks.
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, test, vi } from "vitest";

import { renderScreen } from "../../../test/render";
import { VerifyChain } from "./VerifyChain";

function answer(body: unknown) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } })),
  );
}
afterEach(() => vi.unstubAllGlobals());

test("an intact chain says how many records were checked", async () => {
  answer({ intact: true, checked_count: 26, first_broken: null, verify_time: null });
  renderScreen(<VerifyChain />);
  await userEvent.click(screen.getByRole("button", { name: "Verify the chain" }));
  const result = await screen.findByTestId("audit-verify-result");
  expect(result).toHaveAttribute("data-intact", "true");
  expect(result).toHaveTextContent("The audit log is intact: 26 records checked");
  expect(screen.getByRole("status")).toContainElement(result);
});

test("a broken chain says where it breaks and why", async () => {
  answer({
    intact: false,
    checked_count: 26,
    first_broken: { sequence: 12, record_id: "r-12", problem: "hash mismatch" },
    verify_time: null,
  });
  renderScreen(<VerifyChain />);
  await userEvent.click(screen.getByRole("button", { name: "Verify the chain" }));
  const result = await screen.findByTestId("audit-verify-result");
  expect(result).toHaveAttribute("data-intact", "false");
  expect(result).toHaveTextContent("the chain breaks at record no. 12 (hash mismatch)");
  expect(result).toHaveTextContent("Record id: r-12.");
});
