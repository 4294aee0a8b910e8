/**
 * The start page: what VoiceAssist does, the one thing to do here (talk to the assistant), and
 * the ways in: as a guest, signing in, or creating an account. Signed-in people go straight on.
 */
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";

import { signIn, useSession, useStartGuest } from "../../api/session";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { currentLanguage } from "../../i18n";
import "./shared/patient.css";

function WaysIn() {
  const { t, i18n } = useTranslation("patient");
  const navigate = useNavigate();
  const guest = useStartGuest();
  return (
    <>
      <div className="patient-actions">
        <button
          type="button"
          className="button"
          data-testid="start-guest"
          disabled={guest.isPending}
          onClick={() =>
            guest.mutate(currentLanguage(i18n.language), { onSuccess: () => void navigate("/talk") })
          }
        >
          {t("start.guest")}
        </button>
        <button
          type="button"
          className="button button--secondary"
          data-testid="start-sign-in"
          onClick={() => signIn("/talk")}
        >
          {t("start.signIn")}
        </button>
        <button
          type="button"
          className="button button--secondary"
          data-testid="start-sign-up"
          onClick={() => signIn("/talk", { signUp: true })}
        >
          {t("start.signUp")}
        </button>
      </div>
      <p className="patient-muted">{t("home.guestNote")}</p>
      {guest.isPending && <Progress />}
      {guest.isError && <ErrorNotice error={guest.error} />}
    </>
  );
}

export default function HomePage() {
  const { t } = useTranslation("patient");
  const session = useSession();
  return (
    <>
      <section className="panel" aria-labelledby="home-title">
        <h1 id="home-title">{t("home.title")}</h1>
        <p className="patient-lead">{t("home.line1")}</p>
        <p className="patient-lead">{t("home.line2")}</p>
      </section>
      <section className="panel" aria-labelledby="home-start">
        <h2 id="home-start">{t("home.cta")}</h2>
        {session.isPending && <Progress />}
        {session.isError && <ErrorNotice error={session.error} onRetry={() => void session.refetch()} />}
        {session.data && (
          <div className="patient-actions">
            <Link className="button" to="/talk" data-testid="start-talk">
              {t("home.cta")}
            </Link>
            <Link className="button button--secondary" to="/appointments">
              {t("home.appointments")}
            </Link>
          </div>
        )}
        {session.isSuccess && !session.data && <WaysIn />}
        <p>
          <Link to="/doctors">{t("home.doctors")}</Link>
        </p>
      </section>
      <p className="notice notice--warning">{t("home.emergency")}</p>
    </>
  );
}
