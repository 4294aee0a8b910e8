/**
 * "Find a doctor": the practitioners, where they practise, the languages they consult in and
 * their next free times, filtered by specialty or city. Booking itself goes through the
 * assistant (triage first), so each card leads to the conversation rather than a book button.
 */
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { currentLanguage } from "../../i18n";
import { SessionGate } from "./shared/SessionGate";
import { SPECIALTIES, useFreeSlots, usePractices, usePractitioners } from "./shared/api";
import type { Practice, Practitioner } from "./shared/api";
import { formatWhen, languageName } from "./shared/format";
import "./shared/patient.css";

function NextSlots({ practitionerId }: { practitionerId: string }) {
  const { t, i18n } = useTranslation("patient");
  const language = currentLanguage(i18n.language);
  const slots = useFreeSlots(practitionerId, 3);
  if (slots.isPending) return <Progress />;
  if (slots.isError) return <ErrorNotice error={slots.error} onRetry={() => void slots.refetch()} />;
  if (slots.data.length === 0) return <p>{t("doctors.noSlots")}</p>;
  return (
    <ul className="doctor-slots">
      {slots.data.map((slot) => (
        <li key={slot.slot_id} data-testid="doctor-slot">
          {formatWhen(slot.start_time, language, slot.timezone)}
        </li>
      ))}
    </ul>
  );
}

function DoctorCard({ practitioner, practice }: { practitioner: Practitioner; practice?: Practice }) {
  const { t, i18n } = useTranslation("patient");
  const language = currentLanguage(i18n.language);
  const headingId = useId();
  return (
    <li>
      <article className="panel" aria-labelledby={headingId} data-testid="doctor-card"
        data-practitioner-id={practitioner.practitioner_id}>
        <h2 id={headingId}>{practitioner.display_name}</h2>
        <dl className="patient-details">
          <dt>{t("doctors.specialties")}</dt>
          <dd>{practitioner.specialties.map((s) => t(`specialty.${s}`)).join(", ")}</dd>
          <dt>{t("details.where")}</dt>
          <dd>{practice ? `${practice.name}, ${practice.address}` : t("details.unknown")}</dd>
          <dt>{t("doctors.languages")}</dt>
          <dd>{practitioner.languages.map((code) => languageName(code, language)).join(", ")}</dd>
        </dl>
        <h3>{t("doctors.nextSlots")}</h3>
        <NextSlots practitionerId={practitioner.practitioner_id} />
      </article>
    </li>
  );
}

function Filters({
  specialty,
  city,
  cities,
  onSpecialty,
  onCity,
}: {
  specialty: string;
  city: string;
  cities: string[];
  onSpecialty: (value: string) => void;
  onCity: (value: string) => void;
}) {
  const { t } = useTranslation("patient");
  const specialtyId = useId();
  const cityId = useId();
  return (
    <form className="doctor-filters" role="search" aria-label={t("doctors.filters")}
      onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label htmlFor={specialtyId}>{t("doctors.specialty")}</label>
        <select id={specialtyId} value={specialty} onChange={(e) => onSpecialty(e.target.value)}>
          <option value="">{t("doctors.any")}</option>
          {SPECIALTIES.map((s) => <option key={s} value={s}>{t(`specialty.${s}`)}</option>)}
        </select>
      </div>
      <div className="field">
        <label htmlFor={cityId}>{t("doctors.city")}</label>
        <select id={cityId} value={city} onChange={(e) => onCity(e.target.value)}>
          <option value="">{t("doctors.any")}</option>
          {cities.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
      </div>
    </form>
  );
}

function DoctorList() {
  const { t } = useTranslation("patient");
  const [specialty, setSpecialty] = useState("");
  const [city, setCity] = useState("");
  const practices = usePractices();
  const practitioners = usePractitioners({ specialty: specialty || undefined, city: city || undefined });
  const practiceById = new Map(practices.data?.map((p) => [p.practice_id, p]));
  const cities = [...new Set(practices.data?.map((p) => p.city))].sort();
  return (
    <>
      <Filters specialty={specialty} city={city} cities={cities} onSpecialty={setSpecialty} onCity={setCity} />
      {practitioners.isPending && <Progress />}
      {practitioners.isError && (
        <ErrorNotice error={practitioners.error} onRetry={() => void practitioners.refetch()} />
      )}
      <div role="status">
        {practitioners.data && (
          <p className="patient-muted">{t("doctors.count", { count: practitioners.data.length })}</p>
        )}
      </div>
      {practitioners.data && (
        <ul className="patient-list">
          {practitioners.data.map((p) => (
            <DoctorCard key={p.practitioner_id} practitioner={p} practice={practiceById.get(p.practice_id)} />
          ))}
        </ul>
      )}
    </>
  );
}

export default function DoctorsPage() {
  const { t } = useTranslation("patient");
  return (
    <SessionGate title={t("doctors.title")}>
      <section className="panel" aria-labelledby="doctors-title">
        <h1 id="doctors-title">{t("doctors.title")}</h1>
        <p>{t("doctors.intro")}</p>
        <Link className="button" to="/talk">{t("doctors.talk")}</Link>
      </section>
      <DoctorList />
    </SessionGate>
  );
}
