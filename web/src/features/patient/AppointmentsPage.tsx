/**
 * "My appointments" for patients and guests: upcoming ones first (with cancel, reschedule and
 * the calendar file), past and cancelled ones apart. Cancelling asks for confirmation; moving
 * offers the same practitioner's next free times.
 */
import { useId, useState } from "react";
import type { FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { currentLanguage } from "../../i18n";
import { IcsDownload } from "./shared/IcsDownload";
import { SessionGate } from "./shared/SessionGate";
import {
  useAppointments,
  useCancelAppointment,
  useFreeSlots,
  usePractices,
  usePractitioners,
  useRescheduleAppointment,
} from "./shared/api";
import type { Appointment, Practice, Practitioner } from "./shared/api";
import { formatWhen, minutesBetween } from "./shared/format";
import "./shared/patient.css";

function CancelStep({ appointment, onDone, onClose }: StepProps) {
  const { t } = useTranslation("patient");
  const reasonId = useId();
  const [reason, setReason] = useState("");
  const cancel = useCancelAppointment();
  function submit(event: FormEvent) {
    event.preventDefault();
    cancel.mutate(
      { id: appointment.appointment_id, reason: reason.trim() },
      { onSuccess: () => onDone(t("appointments.cancelled")) },
    );
  }
  return (
    <form className="appointment__step" onSubmit={submit}>
      <p>{t("appointments.cancelQuestion")}</p>
      <div className="field">
        <label htmlFor={reasonId}>{t("appointments.cancelReason")}</label>
        <textarea id={reasonId} rows={2} maxLength={1000} value={reason}
          onChange={(event) => setReason(event.target.value)} />
      </div>
      {cancel.isError && <ErrorNotice error={cancel.error} />}
      <div className="patient-actions">
        <button type="submit" className="button button--danger" data-testid="confirm-cancel"
          disabled={cancel.isPending}>
          {t("appointments.confirmCancel")}
        </button>
        <button type="button" className="button button--secondary" onClick={onClose}>
          {t("appointments.keep")}
        </button>
        {cancel.isPending && <Progress label={t("appointments.cancelling")} />}
      </div>
    </form>
  );
}

function RescheduleStep({ appointment, onDone, onClose }: StepProps) {
  const { t, i18n } = useTranslation("patient");
  const language = currentLanguage(i18n.language);
  const name = useId();
  const [chosen, setChosen] = useState<string | null>(null);
  const slots = useFreeSlots(appointment.practitioner_id, 8);
  const move = useRescheduleAppointment();
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!chosen) return;
    move.mutate(
      { id: appointment.appointment_id, slotId: chosen },
      { onSuccess: () => onDone(t("appointments.rescheduled")) },
    );
  }
  return (
    <form className="appointment__step" onSubmit={submit}>
      {slots.isPending && <Progress />}
      {slots.isError && <ErrorNotice error={slots.error} onRetry={() => void slots.refetch()} />}
      {slots.data && slots.data.length === 0 && <p>{t("appointments.noFreeSlots")}</p>}
      {slots.data && slots.data.length > 0 && (
        <fieldset className="slot-group" disabled={move.isPending}>
          <legend>{t("appointments.pickNew")}</legend>
          {slots.data.map((slot) => (
            <label className="slot-choice" key={slot.slot_id}>
              <input type="radio" name={name} value={slot.slot_id} checked={chosen === slot.slot_id}
                onChange={() => setChosen(slot.slot_id)} data-testid="reschedule-slot-option"
                data-slot-id={slot.slot_id} />
              <span>
                {t("slot.label", {
                  when: formatWhen(slot.start_time, language, slot.timezone),
                  minutes: minutesBetween(slot.start_time, slot.end_time) ?? 0,
                })}
              </span>
            </label>
          ))}
        </fieldset>
      )}
      {move.isError && <ErrorNotice error={move.error} />}
      <div className="patient-actions">
        <button type="submit" className="button" data-testid="confirm-reschedule"
          disabled={!chosen || move.isPending}>
          {t("appointments.confirmReschedule")}
        </button>
        <button type="button" className="button button--secondary" onClick={onClose}>
          {t("appointments.keep")}
        </button>
        {move.isPending && <Progress label={t("appointments.moving")} />}
      </div>
    </form>
  );
}

interface StepProps {
  appointment: Appointment;
  onDone: (message: string) => void;
  onClose: () => void;
}

function AppointmentRow({
  appointment,
  practitioner,
  practice,
  upcoming,
  onDone,
}: {
  appointment: Appointment;
  practitioner?: Practitioner;
  practice?: Practice;
  upcoming: boolean;
  onDone: (message: string) => void;
}) {
  const { t, i18n } = useTranslation("patient");
  const language = currentLanguage(i18n.language);
  const headingId = useId();
  const [step, setStep] = useState<"cancel" | "reschedule" | null>(null);
  const changeable = upcoming && appointment.status === "booked";
  const minutes = minutesBetween(appointment.start_time, appointment.end_time);
  const done = (message: string) => {
    setStep(null);
    onDone(message);
  };
  return (
    <li>
      <article className="panel" aria-labelledby={headingId} data-testid="appointment-row"
        data-appointment-id={appointment.appointment_id} data-status={appointment.status}>
        <h3 id={headingId}>{formatWhen(appointment.start_time, language, appointment.timezone)}</h3>
        <span className={`appointment__status appointment__status--${appointment.status}`}>
          {t(`status.${appointment.status}`)}
        </span>
        <dl className="patient-details">
          <dt>{t("details.who")}</dt>
          <dd>{practitioner?.display_name ?? t("details.unknown")}</dd>
          <dt>{t("details.where")}</dt>
          <dd>{practice ? `${practice.name}, ${practice.address}` : t("details.unknown")}</dd>
          {minutes !== null && (
            <>
              <dt>{t("details.duration")}</dt>
              <dd>{t("details.minutes", { count: minutes })}</dd>
            </>
          )}
          {appointment.cancellation_reason && (
            <>
              <dt>{t("details.cancelReason")}</dt>
              <dd>{appointment.cancellation_reason}</dd>
            </>
          )}
        </dl>
        {changeable && (
          <div className="patient-actions">
            <button type="button" className="button button--secondary" data-testid="reschedule-appointment"
              aria-expanded={step === "reschedule"} onClick={() => setStep("reschedule")}>
              {t("appointments.reschedule")}
            </button>
            <button type="button" className="button button--secondary" data-testid="cancel-appointment"
              aria-expanded={step === "cancel"} onClick={() => setStep("cancel")}>
              {t("appointments.cancel")}
            </button>
            <IcsDownload appointmentId={appointment.appointment_id} />
          </div>
        )}
        {changeable && step === "cancel" && (
          <CancelStep appointment={appointment} onDone={done} onClose={() => setStep(null)} />
        )}
        {changeable && step === "reschedule" && (
          <RescheduleStep appointment={appointment} onDone={done} onClose={() => setStep(null)} />
        )}
      </article>
    </li>
  );
}

function isUpcoming(appointment: Appointment, now: number): boolean {
  const end = appointment.end_time ?? appointment.start_time;
  return appointment.status === "booked" && (!end || new Date(end).getTime() > now);
}

function startOf(appointment: Appointment): number {
  return appointment.start_time ? new Date(appointment.start_time).getTime() : 0;
}

function AppointmentList() {
  const { t } = useTranslation("patient");
  const [message, setMessage] = useState("");
  const appointments = useAppointments();
  const practitioners = usePractitioners();
  const practices = usePractices();
  if (appointments.isPending) return <Progress />;
  if (appointments.isError) {
    return <ErrorNotice error={appointments.error} onRetry={() => void appointments.refetch()} />;
  }
  const now = Date.now();
  const upcoming = appointments.data.filter((a) => isUpcoming(a, now));
  upcoming.sort((a, b) => startOf(a) - startOf(b));
  const past = appointments.data.filter((a) => !isUpcoming(a, now));
  past.sort((a, b) => startOf(b) - startOf(a));
  const byId = new Map(practitioners.data?.map((p) => [p.practitioner_id, p]));
  const practiceById = new Map(practices.data?.map((p) => [p.practice_id, p]));
  const row = (appointment: Appointment, isNext: boolean) => {
    const practitioner = byId.get(appointment.practitioner_id);
    return (
      <AppointmentRow key={appointment.appointment_id} appointment={appointment}
        practitioner={practitioner}
        practice={practitioner && practiceById.get(practitioner.practice_id)}
        upcoming={isNext} onDone={setMessage} />
    );
  };
  return (
    <>
      <div role="status">{message && <p className="notice notice--ok">{message}</p>}</div>
      {appointments.data.length === 0 && (
        <div className="panel">
          <p>{t("appointments.empty")}</p>
          <Link className="button" to="/talk">{t("home.cta")}</Link>
        </div>
      )}
      {upcoming.length > 0 && (
        <section aria-labelledby="upcoming-title">
          <h2 id="upcoming-title">{t("appointments.upcoming")}</h2>
          <ul className="patient-list">{upcoming.map((a) => row(a, true))}</ul>
        </section>
      )}
      {past.length > 0 && (
        <section aria-labelledby="past-title">
          <h2 id="past-title">{t("appointments.past")}</h2>
          <ul className="patient-list">{past.map((a) => row(a, false))}</ul>
        </section>
      )}
    </>
  );
}

export default function AppointmentsPage() {
  const { t } = useTranslation("patient");
  return (
    <SessionGate title={t("appointments.title")}>
      <h1>{t("appointments.title")}</h1>
      <AppointmentList />
    </SessionGate>
  );
}
