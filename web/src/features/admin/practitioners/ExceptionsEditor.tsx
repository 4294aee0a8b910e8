/**
 * Periods when a practitioner offers no slots (holiday, leave, other): the current and future
 * ones as the scheduling service lists them, and a form to block a new one. Times are typed in
 * the practice's local time; booked appointments inside the period are reported, not cancelled.
 */
import { useId, useState } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { currentLanguage } from "../../../i18n";
import {
  EXCEPTION_KINDS,
  fieldErrorsOf,
  useAddException,
  type AddedException,
  type AvailabilityException,
  type ExceptionKind,
} from "./api";
import { formatInZone, zonedToRfc3339 } from "./zonedTime";

interface FormValues {
  kind: ExceptionKind;
  start: string;
  end: string;
  note: string;
}

const FIELDS = ["kind", "start", "end", "note"] as const;

export function ExceptionsEditor({ practitionerId, exceptions, timezone }: {
  practitionerId: string;
  exceptions: AvailabilityException[];
  timezone: string | null;
}) {
  const { t, i18n } = useTranslation("practitioners");
  const language = currentLanguage(i18n.language);
  const prefix = useId();
  const add = useAddException(practitionerId);
  const [added, setAdded] = useState<AddedException | null>(null);
  const zone = timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const {
    register,
    handleSubmit,
    reset,
    setError,
    getValues,
    formState: { errors },
  } = useForm<FormValues>({ defaultValues: { kind: "holiday", start: "", end: "", note: "" } });

  const submit = handleSubmit(async (values) => {
    setAdded(null);
    const start = zonedToRfc3339(values.start, zone);
    const end = zonedToRfc3339(values.end, zone);
    if (!start || !end) return;
    try {
      const answer = await add.mutateAsync({ kind: values.kind, start, end, note: values.note.trim() });
      setAdded(answer);
      reset();
    } catch (error) {
      for (const [name, message] of Object.entries(fieldErrorsOf(error, FIELDS))) {
        if ((FIELDS as readonly string[]).includes(name)) setError(name as (typeof FIELDS)[number], { message });
      }
    }
  });

  const serverFailed = add.isError && Object.keys(fieldErrorsOf(add.error, FIELDS)).length === 0;
  const describe = (name: keyof FormValues) => (errors[name] ? `${prefix}-${name}-error` : undefined);

  return (
    <section className="practitioners__exceptions" aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>{t("exceptions.title")}</h3>
      {exceptions.length === 0 ? (
        <p>{t("exceptions.none")}</p>
      ) : (
        <ul className="practitioners__exception-list">
          {exceptions.map((item) => (
            <li key={item.exception_id}>
              <strong>{t(`exceptions.kind.${item.kind}`)}</strong>{" "}
              {item.start && item.end
                ? t("exceptions.period", {
                    start: formatInZone(item.start, zone, language),
                    end: formatInZone(item.end, zone, language),
                  })
                : t("exceptions.open")}
              {item.note && <> — {item.note}</>}
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={submit} noValidate data-testid="add-exception" aria-labelledby={`${prefix}-form`}>
        <h4 id={`${prefix}-form`}>{t("exceptions.add")}</h4>
        <p className="practitioners__hint">{t("availability.timezone", { timezone: zone })}</p>
        <div className="practitioners__grid">
          <div className="field">
            <label htmlFor={`${prefix}-kind`}>{t("exceptions.reason")}</label>
            <select id={`${prefix}-kind`} {...register("kind")}>
              {EXCEPTION_KINDS.map((kind) => (
                <option key={kind} value={kind}>{t(`exceptions.kind.${kind}`)}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${prefix}-start`}>{t("exceptions.start")}</label>
            <input id={`${prefix}-start`} type="datetime-local" aria-invalid={!!errors.start}
              aria-describedby={describe("start")}
              {...register("start", { required: t("add.required") })} />
            {errors.start && <span id={`${prefix}-start-error`} className="field__error">{errors.start.message}</span>}
          </div>
          <div className="field">
            <label htmlFor={`${prefix}-end`}>{t("exceptions.end")}</label>
            <input id={`${prefix}-end`} type="datetime-local" aria-invalid={!!errors.end}
              aria-describedby={describe("end")}
              {...register("end", {
                required: t("add.required"),
                validate: (value) => !getValues("start") || value > getValues("start") || t("exceptions.endBeforeStart"),
              })} />
            {errors.end && <span id={`${prefix}-end-error`} className="field__error">{errors.end.message}</span>}
          </div>
          <div className="field">
            <label htmlFor={`${prefix}-note`}>{t("exceptions.note")}</label>
            <input id={`${prefix}-note`} type="text" maxLength={200} aria-describedby={`${prefix}-note-hint`}
              {...register("note")} />
            <span id={`${prefix}-note-hint`} className="practitioners__hint">{t("exceptions.noteHint")}</span>
            {errors.note && <span className="field__error">{errors.note.message}</span>}
          </div>
        </div>
        {serverFailed && <ErrorNotice error={add.error} />}
        {add.isPending && <Progress label={t("exceptions.saving")} />}
        <button type="submit" className="button" data-testid="save-exception" disabled={add.isPending}>
          {t("exceptions.save")}
        </button>
      </form>
      {added && (
        <div role="status"
          className={added.conflicting_appointment_ids.length ? "notice notice--warning" : "notice notice--ok"}>
          <p>
            {t("exceptions.saved")}{" "}
            {added.conflicting_appointment_ids.length > 0 &&
              t("exceptions.conflicts", { count: added.conflicting_appointment_ids.length })}
          </p>
        </div>
      )}
    </section>
  );
}
