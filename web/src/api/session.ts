/**
 * Who is signed in, as the gateway's browser session says (ADR 0007): the session lives behind
 * an httpOnly cookie, so the client only ever learns the subject, roles and CSRF token.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api, setCsrfToken } from "./http";

export type Role = "patient" | "clinician" | "admin" | string;

export interface Session {
  subject: string;
  roles: Role[];
  guest: boolean;
  permissions: string[];
  expires_at: string;
  csrf_token: string;
  guest_upgrade_pending: boolean;
}

export const SESSION_KEY = ["session"] as const;

/** Read the session; `null` when nobody is signed in (a 401 is an answer, not an error). */
export async function fetchSession(): Promise<Session | null> {
  try {
    const session = await api.get<Session>("/auth/session");
    setCsrfToken(session.csrf_token);
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw error;
  }
}

export function useSession() {
  return useQuery({ queryKey: SESSION_KEY, queryFn: fetchSession, staleTime: 60_000 });
}

export function hasRole(session: Session | null | undefined, role: Role): boolean {
  return !!session && session.roles.includes(role);
}

/** Start a guest session (triage and booking without an account). */
export function useStartGuest() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (language: string) =>
      api.post<{ subject: string; csrf_token: string }>("/api/v1/auth/guest", { language }),
    onSuccess: async (guest) => {
      setCsrfToken(guest.csrf_token);
      await client.invalidateQueries({ queryKey: SESSION_KEY });
    },
  });
}

/** Send the browser to the identity provider's sign-in (or sign-up) page and back here. */
export function signIn(returnTo: string, options: { signUp?: boolean } = {}): void {
  const params = new URLSearchParams({ return_to: returnTo });
  if (options.signUp) params.set("register", "true");
  window.location.assign(`/auth/login?${params.toString()}`);
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.post<void>("/auth/logout"),
    onSettled: async () => {
      setCsrfToken(null);
      client.clear();
      await client.invalidateQueries({ queryKey: SESSION_KEY });
    },
  });
}
