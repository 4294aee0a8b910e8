import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { BookingOfferView } from "./BookingOffer";
import type { BookingOffer } from "./protocol";

const offer: BookingOffer = {
  type: "booking.offer",
  advice: null,
  practitioners: [
    {
      practitioner_id: "p1",
      display_name: "Dr Amina Khan",
      practice: "Danforth Family Health",
      timezone: "America/Toronto",
      slots: [
        { slot_id: "s1", start_time: "2026-12-02T13:30:00Z", duration_seconds: 1200, spoken_time: "" },
        { slot_id: "s2", start_time: "2026-12-02T13:50:00Z", duration_seconds: 1200, spoken_time: "" },
      ],
    },
  ],
};

describe("BookingOfferView", () => {
  it("books the chosen time, shown in the practitioner's timezone", async () => {
    const onSelect = vi.fn();
    render(<BookingOfferView offer={offer} onSelect={onSelect} pending={false} />);
    const book = screen.getByRole("button", { name: "Book this time" });
    expect(book).toBeDisabled();
    expect(screen.getByRole("group", { name: /Dr Amina Khan/ })).toBeInTheDocument();
    const second = screen.getByRole("radio", { name: /Wednesday, December 2.*8:50.*EST.*20 min/ });
    await userEvent.click(second);
    await userEvent.click(book);
    expect(onSelect).toHaveBeenCalledWith("s2");
  });

  it("shows the advice when there is nothing to offer", () => {
    render(
      <BookingOfferView offer={{ ...offer, practitioners: [], advice: "Call your GP." }}
        onSelect={vi.fn()} pending={false} />,
    );
    expect(screen.getByText("Call your GP.")).toBeInTheDocument();
    expect(screen.queryByRole("button")).not.toBeInTheDocument();
  });
});
