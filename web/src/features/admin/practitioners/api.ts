/**
 * The clinic's practitioners as the admin API serves them: listing, registering, weekly
 * availability and exceptions (admin routes), read back through the scheduling routes, which
 * also return the practice's timezone that every local time of a practitioner is in.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api } from "../../../api/http";
import type { Practice } from "../../../api/scheduling";

export type { Practice };

export const SPECIALTIES = [
  "general_practice",
  "pediatrics",
  "cardiology",
  "pulmonology",
  "otolaryngology",
  "gastroenterology",
  "neurology",
  "allergy_immunology",
  "infectious_diseases",
  "hematology",
  "oncology",
  "rheumatology",
  "psychiatry",
  "dermatology",
  "obstetrics_gynecology",
  "urology",
  "endocrinology",
  "general_surgery",
  "orthopedics",
  "ophthalmology",
] as const;
export type Specialty = (typeof SPECIALTIES)[number];

export const CONSULT_LANGUAGES = ["en", "fr", "ur"] as const;
export type ConsultLanguage = (typeof CONSULT_LANGUAGES)[number];

export const EXCEPTION_KINDS = ["holiday", "leave", "other"] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];

export interface ClinicPractitioner {
  practitioner_id: string;
  display_name: string;
  specialties: Specialty[];
  languages: ConsultLanguage[];
  practice_id: string;
  active: boolean;
  user_id: string | null;
  email: string | null;
}

export interface NewPractitioner {
  display_name: string;
  specialties: Specialty[];
  languages: ConsultLanguage[];
  practice_id: string;
  email: string | null;
}


/** One weekly period: ISO weekday (1 Monday … 7 Sunday), local HH:MM times, slot length. */
export interface AvailabilityRule {
  weekday: number;
  start: string;
  end: string;
  slot_minutes: number;
}

export interface AvailabilityException {
  exception_id: string;
  start: string | null;
  end: string | null;
  kind: ExceptionKind;
  note: string;
}

export interface NewException {
  start: string;
  end: string;
  kind: ExceptionKind;
  note: string;
}

export interface PractitionerDetail {
  practitioner: Omit<ClinicPractitioner, "user_id" | "email">;
  practice: Practice | null;
  weekly_availability: AvailabilityRule[];
  exceptions: AvailabilityException[];
}

export interface AddedException {
  exception: AvailabilityException;
  conflicting_appointment_ids: string[];
}

const ADMIN = "/api/v1/admin/practitioners";
const LIST_KEY = ["admin", "practitioners"] as const;
const detailKey = (id: string) => ["admin", "practitioner", id] as const;

/** Follow next_page_token until every item of a paged list is read. */
async function readAll<T>(path: string, pick: (page: Record<string, unknown>) => T[]): Promise<T[]> {
  const items: T[] = [];
  let token: string | null = null;
  do {
    const page: Record<string, unknown> = await api.get(path, {
      query: { page_size: 100, page_token: token },
    });
    items.push(...pick(page));
    token = (page.next_page_token as string | null) ?? null;
  } while (token);
  return items;
}

export function usePractitioners() {
  return useQuery({
    queryKey: LIST_KEY,
    queryFn: () => readAll<ClinicPractitioner>(ADMIN, (page) => page.practitioners as ClinicPractitioner[]),
  });
}

export function usePractices() {
  return useQuery({
    queryKey: ["scheduling", "practices"],
    queryFn: () => readAll<Practice>("/api/v1/scheduling/practices", (page) => page.practices as Practice[]),
    staleTime: 5 * 60_000,
  });
}

export function usePractitionerDetail(id: string) {
  return useQuery({
    queryKey: detailKey(id),
    queryFn: () => api.get<PractitionerDetail>(`/api/v1/scheduling/practitioners/${encodeURIComponent(id)}`),
  });
}

export function useAddPractitioner() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: NewPractitioner) =>
      api.post<{ practitioner: ClinicPractitioner }>(ADMIN, body).then((answer) => answer.practitioner),
    onSuccess: () => client.invalidateQueries({ queryKey: LIST_KEY }),
  });
}

export function useSaveAvailability(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (rules: AvailabilityRule[]) =>
      api.put<{ rules: AvailabilityRule[] }>(`${ADMIN}/${encodeURIComponent(id)}/availability`, { rules }),
    onSuccess: () => client.invalidateQueries({ queryKey: detailKey(id) }),
  });
}

export function useAddException(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: NewException) =>
      api.post<AddedException>(`${ADMIN}/${encodeURIComponent(id)}/exceptions`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: detailKey(id) }),
  });
}

/**
 * A 422's messages by the field they concern. The gateway writes each error as
 * `{location: ["body", field, index?], message}`; `loc`/`msg` are read too. The first location
 * part that is one of `fields` names the field, the index after it (if any) is kept as
 * `field.index` as well so that a row of a list can show its own message.
 */
export function fieldErrorsOf(error: unknown, fields: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  if (!(error instanceof ApiError) || error.status !== 422) return found;
  const errors = (error.problem.errors ?? []) as {
    location?: (string | number)[];
    loc?: (string | number)[];
    message?: string;
    msg?: string;
  }[];
  for (const item of errors) {
    const location = item.location ?? item.loc ?? [];
    const message = item.message ?? item.msg;
    const at = location.findIndex((part) => typeof part === "string" && fields.includes(part));
    if (at < 0 || !message) continue;
    const name = String(location[at]);
    found[name] ??= message;
    const index = location[at + 1];
    if (typeof index === "number") found[`${name}.${index}`] ??= message;
  }
  return found;
}
