/**
 * Scheduling needs a session (the API answers 401 to an anonymous caller). This shows the
 * screen when there is one, and otherwise offers the ways in: a guest session right here, or
 * signing in / creating an account and coming back to the same page.
 */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useLocation } from "react-router";

import { signIn, useSession, useStartGuest } from "../../../api/session";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { currentLanguage } from "../../../i18n";

export function SessionGate({ title, children }: { title: string; children: ReactNode }) {
  const { t, i18n } = useTranslation("patient");
  const location = useLocation();
  const session = useSession();
  const guest = useStartGuest();
  if (session.isPending) return <Progress />;
  if (session.isError) {
    return <ErrorNotice error={session.error} onRetry={() => void session.refetch()} />;
  }
  if (session.data) return <>{children}</>;
  const here = location.pathname + location.search;
  return (
    <section className="panel" aria-labelledby="gate-title">
      <h1 id="gate-title">{title}</h1>
      <p>{t("gate.explain")}</p>
      <div className="patient-actions">
        <button
          type="button"
          className="button"
          disabled={guest.isPending}
          onClick={() => guest.mutate(currentLanguage(i18n.language))}
        >
          {t("start.guest")}
        </button>
        <button type="button" className="button button--secondary" onClick={() => signIn(here)}>
          {t("start.signIn")}
        </button>
        <button
          type="button"
          className="button button--secondary"
          onClick={() => signIn(here, { signUp: true })}
        >
          {t("start.signUp")}
        </button>
      </div>
      {guest.isPending && <Progress />}
      {guest.isError && <ErrorNotice error={guest.error} />}
    </section>
  );
}
