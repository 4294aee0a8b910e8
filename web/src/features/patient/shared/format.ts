/**
 * Dates, durations and likelihoods in the patient's language. Times are shown in the
 * practitioner's timezone (where the API gives one), with its short name, so that a patient
 * abroad is not misled about when to arrive.
 */
import type { TFunction } from "i18next";

export function formatWhen(iso: string | null, language: string, timeZone?: string): string {
  if (!iso) return "";
  const options: Intl.DateTimeFormatOptions = {
    weekday: "long",
    day: "numeric",
    month: "long",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  };
  try {
    return new Intl.DateTimeFormat(language, { ...options, timeZone }).format(new Date(iso));
  } catch {
    // An unknown timezone name: the browser's own is better than nothing.
    return new Intl.DateTimeFormat(language, options).format(new Date(iso));
  }
}

export function minutesBetween(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  return Math.round((new Date(end).getTime() - new Date(start).getTime()) / 60_000);
}

export function formatPercent(probability: number, language: string): string {
  return new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 0 }).format(
    probability,
  );
}

/**
 * The conditions worth showing a patient: those of at least 5%, and always the first. A long
 * tail of near-zero names ("pancreatic cancer: 0%") frightens more than it informs.
 */
export function conditionsToShow<T extends { probability: number }>(conditions: T[]): T[] {
  return conditions.filter((condition, index) => index === 0 || condition.probability >= 0.05);
}

/** A probability said in words: people read "likely" better than "0.62". */
export function likelihood(probability: number, t: TFunction): string {
  if (probability >= 0.5) return t("likelihood.likely");
  if (probability >= 0.2) return t("likelihood.possible");
  return t("likelihood.lessLikely");
}

export function languageName(code: string, language: string): string {
  try {
    return new Intl.DisplayNames([language], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}
