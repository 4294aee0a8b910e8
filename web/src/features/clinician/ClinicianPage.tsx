/**
 * The clinician's screen: the appointments of their practice grouped by day (soonest first),
 * each with the patient's triage summary, and the past ones on demand to record outcomes.
 */
import "./clinician.css";

import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { AppointmentCard } from "./AppointmentCard";
import { useAppointments } from "./api";
import type { Appointment } from "./api";

interface Day {
  key: string;
  label: string;
  appointments: Appointment[];
}

/** Group by calendar day in each appointment's practice timezone, keeping the given order. */
function byDay(appointments: Appointment[], language: string): Day[] {
  const days = new Map<string, Day>();
  for (const appointment of appointments) {
    if (!appointment.start_time) continue;
    const start = new Date(appointment.start_time);
    const timeZone = appointment.timezone || undefined;
    const key = new Intl.DateTimeFormat("en-CA", { timeZone }).format(start);
    let day = days.get(key);
    if (!day) {
      const label = new Intl.DateTimeFormat(language, { dateStyle: "full", timeZone }).format(start);
      day = { key, label, appointments: [] };
      days.set(key, day);
    }
    day.appointments.push(appointment);
  }
  return [...days.values()];
}

function AppointmentDays({ when }: { when: "upcoming" | "past" }) {
  const { t, i18n } = useTranslation("clinician");
  const list = useAppointments(when);
  if (list.isPending) return <Progress label={t("appointments.loading")} />;
  if (list.isError) return <ErrorNotice error={list.error} onRetry={() => list.refetch()} />;
  const appointments = list.data.pages.flatMap((page) => page.appointments);
  const ordered = when === "past" ? [...appointments].reverse() : appointments;
  const days = byDay(ordered, i18n.language);
  return (
    <>
      {days.length === 0 && <p>{t(`appointments.empty.${when}`)}</p>}
      {days.map((day) => (
        <section key={day.key} className="day" aria-labelledby={`day-${when}-${day.key}`}>
          <h2 id={`day-${when}-${day.key}`}>{day.label}</h2>
          {day.appointments.map((appointment) => (
            <AppointmentCard key={appointment.appointment_id} appointment={appointment} />
          ))}
        </section>
      ))}
      {list.hasNextPage && (
        <button
          type="button"
          className="button button--secondary"
          disabled={list.isFetchingNextPage}
          onClick={() => list.fetchNextPage()}
        >
          {t("appointments.more")}
        </button>
      )}
      {list.isFetchingNextPage && <Progress />}
    </>
  );
}

export default function ClinicianPage() {
  const { t } = useTranslation("clinician");
  const [when, setWhen] = useState<"upcoming" | "past">("upcoming");
  return (
    <div className="clinician">
      <h1>{when === "upcoming" ? t("title.upcoming") : t("title.past")}</h1>
      <div className="clinician__switch" role="group" aria-label={t("appointments.show")}>
        <button
          type="button"
          className="button button--secondary"
          aria-pressed={when === "upcoming"}
          onClick={() => setWhen("upcoming")}
        >
          {t("appointments.upcoming")}
        </button>
        <button
          type="button"
          className="button button--secondary"
          aria-pressed={when === "past"}
          onClick={() => setWhen("past")}
        >
          {t("appointments.past")}
        </button>
      </div>
      <AppointmentDays key={when} when={when} />
    </div>
  );
}
