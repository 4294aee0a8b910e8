/**
 * What the clinician screen reads and changes: the practice's appointments (the gateway
 * scopes a clinician's list to the practices they work at), the triage assessment each one
 * names, and the attendance outcome a clinician records after the visit.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "../../api/http";
import type { Appointment, AppointmentStatus, UrgencyLevel } from "../../api/scheduling";

export type { Appointment, AppointmentStatus, UrgencyLevel };


export type Attendance = "attended" | "no_show";


interface AppointmentList {
  appointments: Appointment[];
  next_page_token: string | null;
}

export interface RankedCondition {
  condition_id: string;
  name: string;
  lay_name: string;
  icd10: string;
  probability: number;
}

export interface RedFlag {
  id: string;
  name: string;
  reason: string;
}

export interface Finding {
  evidence_id: string;
  question: string;
  answer: string;
}

export interface Assessment {
  assessment_id: string;
  create_time: string;
  patient: { age_years?: number | null; age_months?: number | null; sex?: "female" | "male" | null };
  outcome: {
    level: UrgencyLevel;
    red_flags: RedFlag[];
    instruction: string;
    recommended_specialty: string | null;
    conditions: RankedCondition[];
  };
  questions_asked: number;
  findings: Finding[];
}

/** Cancelled appointments need nothing from the clinician: they are left out. */
const SHOWN_STATUSES: AppointmentStatus[] = ["booked", "fulfilled", "no_show"];

export const APPOINTMENTS_KEY = ["clinician", "appointments"] as const;

/** From today on (soonest first), or before today (latest first), a page at a time. */
export function useAppointments(when: "upcoming" | "past") {
  return useInfiniteQuery({
    queryKey: [...APPOINTMENTS_KEY, when],
    initialPageParam: "",
    queryFn: ({ pageParam, signal }) => {
      // `status` repeats, which the shared query builder cannot say: build the query here.
      // Today's earlier visits stay with the upcoming ones: their outcome is recorded today.
      const today = new Date();
      today.setHours(0, 0, 0, 0);
      const query = new URLSearchParams(
        when === "upcoming" ? { start: today.toISOString() } : { end: today.toISOString() },
      );
      for (const status of SHOWN_STATUSES) query.append("status", status);
      query.set("page_size", "50");
      if (pageParam) query.set("page_token", pageParam);
      return api.get<AppointmentList>(`/api/v1/scheduling/appointments?${query.toString()}`, { signal });
    },
    getNextPageParam: (page) => page.next_page_token || undefined,
  });
}

export function useAssessment(id: string) {
  return useQuery({
    queryKey: ["clinician", "assessment", id],
    queryFn: ({ signal }) =>
      api
        .get<{ assessment: Assessment }>(`/api/v1/triage/assessments/${encodeURIComponent(id)}`, {
          signal,
        })
        .then((answer) => answer.assessment),
    staleTime: 5 * 60_000,
  });
}

export function useRecordOutcome(appointmentId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (attendance: Attendance) =>
      api.post<Appointment>(
        `/api/v1/scheduling/appointments/${encodeURIComponent(appointmentId)}/outcome`,
        { attendance },
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: APPOINTMENTS_KEY }),
  });
}
