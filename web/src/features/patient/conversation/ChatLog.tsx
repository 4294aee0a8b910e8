/**
 * The conversation so far, as chat bubbles, with the triage card, the booking offer and the
 * confirmation where they arrived. A role="log" region, so screen readers announce what is new;
 * who said it is read out from generated content (conversation.css), so a bubble's text is
 * only what was said.
 */
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";

import { BookingConfirmation } from "../BookingConfirmation";
import { BookingOfferView } from "../BookingOffer";
import { TriageCard } from "../TriageCard";
import type { LogItem } from "./state";

export function ChatLog({
  log,
  bookingPending,
  onSelectSlot,
}: {
  log: LogItem[];
  bookingPending: boolean;
  onSelectSlot: (slotId: string) => void;
}) {
  const { t } = useTranslation("conversation");
  const endRef = useRef<HTMLDivElement>(null);
  const lastOffer = log.reduce<number | undefined>(
    (last, item) => (item.kind === "offer" ? item.id : last),
    undefined,
  );

  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: "nearest" });
  }, [log.length]);

  return (
    <div
      className="chat"
      role="log"
      aria-label={t("chat.label")}
      data-testid="chat-log"
      // Scrollable, so keyboard users must be able to focus it to scroll.
      tabIndex={0}
    >
      {log.map((item) => {
        switch (item.kind) {
          case "message":
            return (
              <div
                key={item.id}
                className={`chat__message chat__message--${item.from}`}
                data-testid="chat-message"
                data-from={item.from}
                data-sender={t(`chat.${item.from}`)}
              >
                {item.text}
              </div>
            );
          case "triage":
            return (
              <div key={item.id} className="chat__card">
                <TriageCard result={item.result} />
              </div>
            );
          case "offer":
            return (
              <div key={item.id} className="chat__card">
                <BookingOfferView
                  offer={item.offer}
                  onSelect={onSelectSlot}
                  pending={bookingPending && item.id === lastOffer}
                />
              </div>
            );
          case "confirmed":
            return (
              <div key={item.id} className="chat__card">
                <BookingConfirmation confirmed={item.confirmed} />
              </div>
            );
        }
      })}
      <div ref={endRef} />
    </div>
  );
}
