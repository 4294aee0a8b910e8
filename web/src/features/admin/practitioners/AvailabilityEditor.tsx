/**
 * The weekly availability of one practitioner as rows of day + time range + slot length, in the
 * practice's local time. Ranges are checked here before the complete week is PUT, so a range
 * ending before it starts never reaches the server; the server's own refusals land on their row.
 */
import { useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { currentLanguage } from "../../../i18n";
import { fieldErrorsOf, useSaveAvailability, type AvailabilityRule } from "./api";
import { checkRanges, type RangeProblem } from "./availability";

interface Row extends AvailabilityRule {
  key: number;
}

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const;

function weekdayName(weekday: number, language: string): string {
  // 1 January 2024 was a Monday, so day `weekday` of that month is that ISO weekday.
  return new Intl.DateTimeFormat(language, { weekday: "long", timeZone: "UTC" }).format(
    new Date(Date.UTC(2024, 0, weekday)),
  );
}

export function AvailabilityEditor({ practitionerId, initial, timezone }: {
  practitionerId: string;
  initial: AvailabilityRule[];
  timezone: string | null;
}) {
  const { t, i18n } = useTranslation("practitioners");
  const language = currentLanguage(i18n.language);
  const prefix = useId();
  const save = useSaveAvailability(practitionerId);
  const [nextKey, setNextKey] = useState(initial.length);
  const [rows, setRows] = useState<Row[]>(() => initial.map((rule, key) => ({ ...rule, key })));
  const [problems, setProblems] = useState<Map<number, RangeProblem>>(new Map());
  const [saved, setSaved] = useState(false);

  const change = (key: number, patch: Partial<AvailabilityRule>) => {
    setSaved(false);
    setRows((current) => current.map((row) => (row.key === key ? { ...row, ...patch } : row)));
  };
  const addRange = () => {
    setSaved(false);
    const last = rows[rows.length - 1];
    setRows((current) => [
      ...current,
      { key: nextKey, weekday: last ? Math.min(last.weekday + 1, 7) : 1, start: "09:00", end: "12:00",
        slot_minutes: last?.slot_minutes ?? 30 },
    ]);
    setNextKey(nextKey + 1);
  };
  const removeRange = (key: number) => {
    setSaved(false);
    setRows((current) => current.filter((row) => row.key !== key));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const rules = rows.map(({ weekday, start, end, slot_minutes }) => ({ weekday, start, end, slot_minutes }));
    const found = checkRanges(rules);
    setProblems(found);
    if (found.size > 0) return;
    try {
      await save.mutateAsync(rules);
      setSaved(true);
    } catch {
      // Shown below from save.error (at the row when the server names one).
    }
  };

  const serverErrors = fieldErrorsOf(save.error, ["rules"]);
  const hasRowErrors = Object.keys(serverErrors).some((name) => name.startsWith("rules."));

  return (
    <form className="practitioners__availability" onSubmit={submit} noValidate
      data-testid="availability-editor" aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>{t("availability.title")}</h3>
      <p className="practitioners__hint">
        {timezone ? t("availability.timezone", { timezone }) : t("availability.localTime")}
      </p>
      {rows.length === 0 && <p>{t("availability.empty")}</p>}
      <ul className="practitioners__ranges">
        {rows.map((row, index) => {
          const id = `${prefix}-${row.key}`;
          const problem = problems.get(index);
          const message = problem ? t(`availability.problem.${problem}`) : serverErrors[`rules.${index}`];
          return (
            <li key={row.key}>
              <fieldset className="practitioners__range" aria-describedby={message ? `${id}-error` : undefined}>
                <legend>{t("availability.range", { number: index + 1 })}</legend>
                <div className="field">
                  <label htmlFor={`${id}-day`}>{t("availability.day")}</label>
                  <select id={`${id}-day`} value={row.weekday}
                    onChange={(event) => change(row.key, { weekday: Number(event.target.value) })}>
                    {WEEKDAYS.map((weekday) => (
                      <option key={weekday} value={weekday}>{weekdayName(weekday, language)}</option>
                    ))}
                  </select>
                </div>
                <div className="field">
                  <label htmlFor={`${id}-from`}>{t("availability.from")}</label>
                  <input id={`${id}-from`} type="time" value={row.start} required
                    onChange={(event) => change(row.key, { start: event.target.value })} />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-to`}>{t("availability.to")}</label>
                  <input id={`${id}-to`} type="time" value={row.end} required
                    onChange={(event) => change(row.key, { end: event.target.value })} />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-slot`}>{t("availability.slotMinutes")}</label>
                  <input id={`${id}-slot`} type="number" min={5} max={480} step={5} value={row.slot_minutes}
                    onChange={(event) => change(row.key, { slot_minutes: Number(event.target.value) })} />
                </div>
                <button type="button" className="button button--quiet" onClick={() => removeRange(row.key)}>
                  {t("availability.remove", { number: index + 1 })}
                </button>
                {message && <p id={`${id}-error`} className="field__error" role="alert">{message}</p>}
              </fieldset>
            </li>
          );
        })}
      </ul>
      {problems.size > 0 && (
        <div className="notice notice--error" role="alert">
          <p>{t("availability.fixRanges")}</p>
        </div>
      )}
      {save.isError && !hasRowErrors && <ErrorNotice error={save.error} />}
      {save.isPending && <Progress label={t("availability.saving")} />}
      <div className="practitioners__actions">
        <button type="button" className="button button--secondary" onClick={addRange}
          data-testid="add-availability-range">
          {t("availability.add")}
        </button>
        <button type="submit" className="button" data-testid="save-availability" disabled={save.isPending}>
          {t("availability.save")}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {saved && <p className="notice notice--ok">{t("availability.saved")}</p>}
      </div>
    </form>
  );
}
