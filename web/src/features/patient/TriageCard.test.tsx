import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { TriageCard } from "./TriageCard";
import type { TriageResult } from "./protocol";

const base: TriageResult = {
  type: "triage.result",
  level: "consultation_24",
  instruction: "Book a visit with your GP today or tomorrow.",
  reasons: ["Fever for three days"],
  conditions: [
    { name: "Flu", probability: 0.62 },
    { name: "Pneumonia", probability: 0.08 },
    { name: "Pancreatic cancer", probability: 0.004 },
  ],
  disclaimer: "This is not a diagnosis.",
  assessment_id: "a1",
  emergency_number: null,
  bookable: true,
};

describe("TriageCard", () => {
  it("says the level in words, the likely conditions and the disclaimer", () => {
    render(<TriageCard result={base} />);
    const card = screen.getByRole("region", { name: "The assistant's advice" });
    expect(within(card).getByTestId("triage-level")).toHaveTextContent("See a doctor within 24 hours");
    expect(screen.getByText("Flu: likely (62%)")).toBeInTheDocument();
    expect(screen.getByText("Pneumonia: less likely (8%)")).toBeInTheDocument();
    // A near-zero tail is left out: it frightens more than it informs.
    expect(screen.queryByText(/Pancreatic cancer/)).not.toBeInTheDocument();
    expect(screen.getByTestId("triage-disclaimer")).toHaveTextContent("This is not a diagnosis.");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("leads an emergency with the number to call and offers no booking", () => {
    render(
      <TriageCard result={{ ...base, level: "emergency_ambulance", emergency_number: "112", bookable: false }} />,
    );
    const alert = screen.getByRole("alert");
    const call = within(alert).getByRole("link", { name: "Call 112" });
    expect(call).toHaveAttribute("href", "tel:112");
    expect(alert).toHaveTextContent("no appointment is offered");
    expect(screen.getByTestId("triage-level")).toHaveTextContent("Call an ambulance now");
    expect(screen.queryByRole("button")).not.toBeInTheDocument();
  });
});
