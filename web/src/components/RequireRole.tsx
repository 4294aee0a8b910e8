/**
 * Gate a screen on a role. The gateway enforces every permission itself; this only spares the
 * user a screen full of refusals and sends them to sign in when that is what is missing.
 */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useLocation } from "react-router";

import { hasRole, signIn, useSession } from "../api/session";
import { ErrorNotice } from "./ErrorNotice";
import { Progress } from "./Progress";

export function RequireRole({ role, children }: { role: string; children: ReactNode }) {
  const { t } = useTranslation();
  const location = useLocation();
  const session = useSession();
  if (session.isPending) return <Progress />;
  if (session.isError) return <ErrorNotice error={session.error} onRetry={() => session.refetch()} />;
  if (!session.data || session.data.guest) {
    return (
      <section className="panel" aria-labelledby="sign-in-needed">
        <h1 id="sign-in-needed">{t("errors.signInNeeded")}</h1>
        <button
          type="button"
          className="button"
          onClick={() => signIn(location.pathname + location.search)}
        >
          {t("session.signIn")}
        </button>
      </section>
    );
  }
  if (!hasRole(session.data, role)) {
    return (
      <section className="panel" aria-labelledby="forbidden">
        <h1 id="forbidden">{t("forbidden.title")}</h1>
        <p>{t("errors.forbidden")}</p>
      </section>
    );
  }
  return <>{children}</>;
}
