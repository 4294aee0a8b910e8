/**
 * The admin API for accounts: list (filtered, paged), invite, change roles, disable/enable
 * and reset MFA. Every change refreshes the list so the table shows what the provider holds.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "../../../api/http";

export const ROLES = ["patient", "clinician", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  user_id: string;
  email: string;
  display_name: string;
  roles: Role[];
  enabled: boolean;
  email_verified: boolean;
  mfa_enrolled: boolean;
  language: "en" | "fr" | null;
  practitioner_id: string | null;
  create_time: string | null;
  last_sign_in_time: string | null;
}

interface UserList {
  users: User[];
  next_page_token: string | null;
  total_size: number | null;
}

export interface UserFilters {
  query: string;
  role: Role | "";
  enabled: "" | "true" | "false";
}

export interface Invitation {
  email: string;
  display_name: string;
  roles: Role[];
  language: "en" | "fr";
}

const USERS_KEY = ["admin", "users"] as const;
export const PAGE_SIZE = 25;

export function useUsers(filters: UserFilters, pageToken: string) {
  return useQuery({
    queryKey: [...USERS_KEY, filters, pageToken],
    queryFn: ({ signal }) =>
      api.get<UserList>("/api/v1/admin/users", {
        query: { ...filters, page_size: PAGE_SIZE, page_token: pageToken },
        signal,
      }),
    placeholderData: keepPreviousData,
  });
}

function useUserChange<T>(change: (input: T) => Promise<User>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSuccess: () => client.invalidateQueries({ queryKey: USERS_KEY }),
  });
}

export function useInvite() {
  return useUserChange((invitation: Invitation) =>
    api.post<User>("/api/v1/admin/users/invitations", invitation),
  );
}

export function useSetRoles(userId: string) {
  return useUserChange((roles: Role[]) =>
    api.put<User>(`/api/v1/admin/users/${encodeURIComponent(userId)}/roles`, { roles }),
  );
}

export type AccountAction = "disable" | "enable" | "mfa/reset";

export function useAccountAction(userId: string) {
  return useUserChange((action: AccountAction) =>
    api.post<User>(`/api/v1/admin/users/${encodeURIComponent(userId)}/${action}`),
  );
}
