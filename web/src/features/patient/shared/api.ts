/**
 * The scheduling API as the patient screens read it: the shapes of /api/v1/scheduling answers
 * and the react-query hooks around them, so that every screen fetches, caches and invalidates
 * appointments, practitioners and slots the same way.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "../../../api/http";
import type { Appointment, AppointmentStatus, Practice } from "../../../api/scheduling";

export type { Appointment, AppointmentStatus, Practice };

const BASE = "/api/v1/scheduling";


export interface Practitioner {
  practitioner_id: string;
  display_name: string;
  specialties: string[];
  languages: string[];
  practice_id: string;
  active: boolean;
}


export interface FreeSlot {
  slot_id: string;
  practitioner_id: string;
  start_time: string | null;
  end_time: string | null;
  timezone: string;
}


/** The specialties the API knows (Specialty in the OpenAPI document). */
export const SPECIALTIES = [
  "general_practice", "pediatrics", "cardiology", "pulmonology", "otolaryngology",
  "gastroenterology", "neurology", "allergy_immunology", "infectious_diseases", "hematology",
  "oncology", "rheumatology", "psychiatry", "dermatology", "obstetrics_gynecology", "urology",
  "endocrinology", "general_surgery", "orthopedics", "ophthalmology",
] as const;

/** Every change to an appointment needs a fresh key so that a retried request is not doubled. */
function idempotency(): { headers: Record<string, string> } {
  return { headers: { "Idempotency-Key": crypto.randomUUID() } };
}

export const APPOINTMENTS_KEY = ["patient", "appointments"] as const;

export function useAppointments() {
  return useQuery({
    queryKey: APPOINTMENTS_KEY,
    queryFn: ({ signal }) =>
      api.get<{ appointments: Appointment[] }>(`${BASE}/appointments`, {
        query: { page_size: 200 },
        signal,
      }),
    select: (answer) => answer.appointments,
  });
}

export function usePractitioners(filters: { specialty?: string; city?: string } = {}) {
  return useQuery({
    queryKey: ["patient", "practitioners", filters.specialty ?? "", filters.city ?? ""],
    queryFn: ({ signal }) =>
      api.get<{ practitioners: Practitioner[] }>(`${BASE}/practitioners`, {
        query: { page_size: 200, specialty: filters.specialty, city: filters.city },
        signal,
      }),
    select: (answer) => answer.practitioners,
    staleTime: 5 * 60_000,
  });
}

export function usePractices() {
  return useQuery({
    queryKey: ["patient", "practices"],
    queryFn: ({ signal }) =>
      api.get<{ practices: Practice[] }>(`${BASE}/practices`, { query: { page_size: 200 }, signal }),
    select: (answer) => answer.practices,
    staleTime: 5 * 60_000,
  });
}

/** A practitioner's next free slots over the coming two weeks, soonest first. */
export function useFreeSlots(practitionerId: string, count: number, enabled = true) {
  // The window is fixed when the screen opens, so that the query key does not move each render.
  const [window] = useState(() => {
    const start = new Date();
    const end = new Date(start.getTime() + 14 * 24 * 3600 * 1000);
    return { start: start.toISOString(), end: end.toISOString() };
  });
  return useQuery({
    queryKey: ["patient", "slots", practitionerId, count, window.start],
    queryFn: ({ signal }) =>
      api.get<{ slots: FreeSlot[] }>(`${BASE}/slots`, {
        query: { practitioner_id: practitionerId, page_size: count, ...window },
        signal,
      }),
    select: (answer) => answer.slots,
    enabled,
  });
}

export function useCancelAppointment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, reason }: { id: string; reason: string }) =>
      api.post<Appointment>(
        `${BASE}/appointments/${encodeURIComponent(id)}/cancel`,
        reason ? { reason } : {},
        idempotency(),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: APPOINTMENTS_KEY }),
  });
}

export function useRescheduleAppointment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, slotId }: { id: string; slotId: string }) =>
      api.post<Appointment>(
        `${BASE}/appointments/${encodeURIComponent(id)}/reschedule`,
        { new_slot_id: slotId },
        idempotency(),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: APPOINTMENTS_KEY });
      await client.invalidateQueries({ queryKey: ["patient", "slots"] });
    },
  });
}

/** The appointment as an iCalendar file, in the interface language. */
export async function fetchIcs(appointmentId: string, language: string): Promise<Blob> {
  const text = await api.get<string>(
    `${BASE}/appointments/${encodeURIComponent(appointmentId)}/ical`,
    { query: { language }, text: true },
  );
  return new Blob([text], { type: "text/calendar" });
}

export function icsUrl(appointmentId: string, language: string): string {
  return `${BASE}/appointments/${encodeURIComponent(appointmentId)}/ical?language=${language}`;
}
