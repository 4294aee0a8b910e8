/**
 * The free times the assistant found after triage: each matched practitioner with their next
 * slots as one radio group, and a single "Book this time" that sends the chosen slot back to
 * the conversation (which books it). When there is nothing to offer, the advice says why.
 */
import { useId, useState } from "react";
import type { FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { Progress } from "../../components/Progress";
import { currentLanguage } from "../../i18n";
import type { BookingOffer, OfferedPractitioner } from "./protocol";
import { formatWhen } from "./shared/format";
import "./shared/patient.css";

function PractitionerSlots({
  practitioner,
  name,
  chosen,
  onChoose,
  disabled,
}: {
  practitioner: OfferedPractitioner;
  name: string;
  chosen: string | null;
  onChoose: (slotId: string) => void;
  disabled: boolean;
}) {
  const { t, i18n } = useTranslation("patient");
  const language = currentLanguage(i18n.language);
  return (
    <fieldset
      className="slot-group"
      data-testid="practitioner-option"
      data-practitioner-id={practitioner.practitioner_id}
      disabled={disabled}
    >
      <legend>
        {practitioner.display_name}
        <span className="slot-group__practice">{practitioner.practice}</span>
      </legend>
      {practitioner.slots.length === 0 && <p>{t("offer.noSlots")}</p>}
      {practitioner.slots.map((slot) => (
        <label className="slot-choice" key={slot.slot_id}>
          <input
            type="radio"
            name={name}
            value={slot.slot_id}
            checked={chosen === slot.slot_id}
            onChange={() => onChoose(slot.slot_id)}
            data-testid="slot-option"
            data-slot-id={slot.slot_id}
          />
          <span>
            {t("slot.label", {
              when: formatWhen(slot.start_time, language, practitioner.timezone),
              minutes: Math.round(slot.duration_seconds / 60),
            })}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

export function BookingOfferView({
  offer,
  onSelect,
  pending,
}: {
  offer: BookingOffer;
  onSelect: (slotId: string) => void;
  pending: boolean;
}) {
  const { t } = useTranslation("patient");
  const headingId = useId();
  const groupName = useId();
  const [chosen, setChosen] = useState<string | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (chosen && !pending) onSelect(chosen);
  }

  return (
    <section className="panel" aria-labelledby={headingId} data-testid="booking-offer">
      <h2 id={headingId}>{t("offer.title")}</h2>
      {offer.advice && <p className="notice notice--info">{offer.advice}</p>}
      {offer.practitioners.length > 0 && (
        <form onSubmit={submit}>
          {offer.practitioners.map((practitioner) => (
            <PractitionerSlots
              key={practitioner.practitioner_id}
              practitioner={practitioner}
              name={groupName}
              chosen={chosen}
              onChoose={setChosen}
              disabled={pending}
            />
          ))}
          <div className="patient-actions">
            <button type="submit" className="button" disabled={!chosen || pending} data-testid="book-slot">
              {t("offer.book")}
            </button>
            {pending && <Progress label={t("offer.booking")} />}
          </div>
        </form>
      )}
      {offer.practitioners.length === 0 && !offer.advice && (
        <p className="notice notice--info">{t("offer.none")}</p>
      )}
    </section>
  );
}
