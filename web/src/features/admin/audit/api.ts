/** The admin API for the audit trail: the events (filtered, paged) and the chain check. */
import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";

import { api } from "../../../api/http";

export type AuditOutcome = "succeeded" | "denied" | "failed";

export interface AuditEvent {
  sequence: number;
  event_id: string;
  occur_time: string | null;
  actor: { subject: string; roles: string[]; guest: boolean };
  action: string;
  object_type: string;
  object_id: string;
  outcome: AuditOutcome | null;
  request_id: string | null;
  service: string;
}

interface AuditEventList {
  events: AuditEvent[];
  next_page_token: string | null;
  total_size: number | null;
}

export interface AuditFilters {
  action: string;
  actor_subject: string;
  object_type: string;
  /** Local date-time strings from the inputs (yyyy-mm-ddThh:mm), empty when not set. */
  start_time: string;
  end_time: string;
}

export interface ChainVerification {
  intact: boolean;
  checked_count: number;
  first_broken: { sequence: number; record_id: string | null; problem: string } | null;
  verify_time: string | null;
}

const toInstant = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function useAuditEvents(filters: AuditFilters, pageToken: string) {
  return useQuery({
    queryKey: ["admin", "audit", filters, pageToken],
    queryFn: ({ signal }) =>
      api.get<AuditEventList>("/api/v1/admin/audit", {
        query: {
          action: filters.action.trim(),
          actor_subject: filters.actor_subject.trim(),
          object_type: filters.object_type.trim(),
          start_time: toInstant(filters.start_time),
          end_time: toInstant(filters.end_time),
          page_size: 50,
          page_token: pageToken,
        },
        signal,
      }),
    placeholderData: keepPreviousData,
  });
}

/** Recompute the chain on demand (it reads every row, so only when asked). */
export function useVerifyChain() {
  return useMutation({
    mutationFn: () => api.get<ChainVerification>("/api/v1/admin/audit/verify"),
  });
}
