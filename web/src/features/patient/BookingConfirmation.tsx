/**
 * The booked appointment at the end of a conversation: who, where and when, the calendar file,
 * and the way to "My appointments" where it can be moved or cancelled.
 */
import { useId } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { currentLanguage } from "../../i18n";
import type { BookingConfirmed } from "./protocol";
import { IcsDownload } from "./shared/IcsDownload";
import { formatWhen } from "./shared/format";
import "./shared/patient.css";

export function BookingConfirmation({ confirmed }: { confirmed: BookingConfirmed }) {
  const { t, i18n } = useTranslation("patient");
  const headingId = useId();
  const language = currentLanguage(i18n.language);
  return (
    <section
      className="panel notice--ok"
      aria-labelledby={headingId}
      data-testid="booking-confirmed"
    >
      <div role="status">
        <h2 id={headingId}>{t("confirmed.title")}</h2>
        <dl className="patient-details">
          <dt>{t("details.who")}</dt>
          <dd>{confirmed.practitioner_name}</dd>
          <dt>{t("details.where")}</dt>
          <dd>{confirmed.practice}</dd>
          <dt>{t("details.when")}</dt>
          <dd>{formatWhen(confirmed.start_time, language)}</dd>
        </dl>
      </div>
      <div className="patient-actions">
        <IcsDownload appointmentId={confirmed.appointment_id} />
        <Link to="/appointments">{t("confirmed.manage")}</Link>
      </div>
    </section>
  );
}
