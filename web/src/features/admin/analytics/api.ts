/**
 * The admin analytics: triage outcomes, booking conversion and voice latency over a period.
 *
 * The gateway's JSON mirrors voiceassist.admin.v1 (GetTriageSummary, GetBookingConversion,
 * GetVoiceLatency) with enums by their lower-case names and durations in milliseconds; the
 * period is sent as `start`/`end` (RFC 3339), like the scheduling routes.
 */
import { useQuery } from "@tanstack/react-query";

import { ApiError, api } from "../../../api/http";

export const URGENCY_LEVELS = [
  "emergency_ambulance",
  "emergency",
  "consultation_24",
  "consultation",
  "self_care",
] as const;
export type UrgencyLevel = (typeof URGENCY_LEVELS)[number];

export const PERIODS = [7, 30] as const;
export type PeriodDays = (typeof PERIODS)[number];

export interface TriageAnalytics {
  total_assessments: number;
  by_level: { level: UrgencyLevel; count: number }[];
  top_conditions: { condition_id: string; name: string; icd10: string; count: number }[];
}

export interface BookingAnalytics {
  bookable_assessments: number;
  booked: number;
  rate: number;
  cancelled: number;
}

export interface StageLatency {
  stage: string;
  count: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

export interface VoiceAnalytics {
  stages: StageLatency[];
}

function periodWindow(days: PeriodDays): { start: string; end: string } {
  const end = new Date();
  return { start: new Date(end.getTime() - days * 86_400_000).toISOString(), end: end.toISOString() };
}

function useAnalytics<T>(kind: "triage" | "bookings" | "voice", days: PeriodDays) {
  return useQuery({
    queryKey: ["admin", "analytics", kind, days],
    queryFn: ({ signal }) => api.get<T>(`/api/v1/admin/analytics/${kind}`, { query: periodWindow(days), signal }),
    staleTime: 60_000,
    // Only a busy server or a network failure may answer differently soon (not a 501 or a 4xx).
    retry: (failures, error) =>
      failures < 3 && !(error instanceof ApiError && !error.busy && (error.status < 500 || error.status === 501)),
  });
}

export const useTriageAnalytics = (days: PeriodDays) => useAnalytics<TriageAnalytics>("triage", days);
export const useBookingAnalytics = (days: PeriodDays) => useAnalytics<BookingAnalytics>("bookings", days);
export const useVoiceAnalytics = (days: PeriodDays) => useAnalytics<VoiceAnalytics>("voice", days);
