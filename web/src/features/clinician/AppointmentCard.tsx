/**
 * One appointment as its clinician sees it: when (in the practice's timezone), why the patient
 * came, their triage summary, and the attendance outcome to record once the visit is over.
 */
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../components/ErrorNotice";
import { useRecordOutcome } from "./api";
import type { Appointment, Attendance } from "./api";
import { TriageSummary, UrgencyBadge } from "./TriageSummary";

function timeRange(appointment: Appointment, language: string): string {
  if (!appointment.start_time) return "";
  const format = new Intl.DateTimeFormat(language, {
    timeStyle: "short",
    timeZone: appointment.timezone || undefined,
  });
  const start = new Date(appointment.start_time);
  return appointment.end_time
    ? format.formatRange(start, new Date(appointment.end_time))
    : format.format(start);
}

export function AppointmentCard({ appointment }: { appointment: Appointment }) {
  const { t, i18n } = useTranslation("clinician");
  const outcome = useRecordOutcome(appointment.appointment_id);
  const headingId = `appointment-${appointment.appointment_id}`;

  const record = (attendance: Attendance) => {
    const question = attendance === "attended" ? t("outcome.confirmFulfilled") : t("outcome.confirmNoShow");
    if (window.confirm(question)) outcome.mutate(attendance);
  };

  return (
    <article
      className="panel appointment"
      aria-labelledby={headingId}
      data-testid="clinician-appointment"
      data-appointment-id={appointment.appointment_id}
      data-status={appointment.status}
    >
      <h3 id={headingId}>
        {timeRange(appointment, i18n.language)}
        <span className="appointment__zone"> ({appointment.timezone})</span>
      </h3>
      <p className="appointment__meta">
        <span className={`status status--${appointment.status}`} data-testid="appointment-outcome">
          {t(`status.${appointment.status}`)}
        </span>
        {appointment.urgency && <UrgencyBadge level={appointment.urgency} />}
      </p>
      {appointment.reason && (
        <p>
          <strong>{t("appointment.reason")}</strong> {appointment.reason}
        </p>
      )}
      {appointment.triage_assessment_id ? (
        <TriageSummary assessmentId={appointment.triage_assessment_id} />
      ) : (
        <p className="appointment__none">{t("triage.none")}</p>
      )}
      {appointment.status === "booked" && (
        <div className="appointment__actions" role="group" aria-label={t("outcome.label")}>
          <button
            type="button"
            className="button"
            data-testid="mark-fulfilled"
            disabled={outcome.isPending}
            onClick={() => record("attended")}
          >
            {t("outcome.fulfilled")}
          </button>
          <button
            type="button"
            className="button button--secondary"
            data-testid="mark-no-show"
            disabled={outcome.isPending}
            onClick={() => record("no_show")}
          >
            {t("outcome.noShow")}
          </button>
        </div>
      )}
      <div role="status">{outcome.isSuccess && <p>{t("outcome.saved")}</p>}</div>
      {outcome.isError && <ErrorNotice error={outcome.error} />}
    </article>
  );
}
