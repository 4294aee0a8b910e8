/**
 * The frame around every screen: a skip link, the header with the navigation each role may
 * use, the language switch and the sign-in controls, and the main landmark screens render in.
 */
import { useTranslation } from "react-i18next";
import { NavLink, Outlet, useLocation } from "react-router";

import { hasRole, signIn, useSession, useSignOut } from "../api/session";
import { LANGUAGES, currentLanguage } from "../i18n";

function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="language">
      <span>{t("language.label")}</span>
      <select
        value={currentLanguage(i18n.language)}
        onChange={(event) => void i18n.changeLanguage(event.target.value)}
      >
        {LANGUAGES.map((language) => (
          <option key={language} value={language} lang={language}>
            {t(`language.${language}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

function SessionControls() {
  const { t } = useTranslation();
  const location = useLocation();
  const session = useSession();
  const signOut = useSignOut();
  if (session.isPending) return null;
  const here = location.pathname + location.search;
  if (!session.data) {
    return (
      <div className="session">
        <button type="button" className="button button--quiet" onClick={() => signIn(here)}>
          {t("session.signIn")}
        </button>
        <button
          type="button"
          className="button button--quiet"
          onClick={() => signIn(here, { signUp: true })}
        >
          {t("session.signUp")}
        </button>
      </div>
    );
  }
  const roles = session.data.guest ? t("session.guestLabel") : session.data.roles.join(", ");
  return (
    <div className="session">
      <span className="session__who">{t("session.signedInAs", { roles })}</span>
      {session.data.guest && (
        <button type="button" className="button button--quiet" onClick={() => signIn(here)}>
          {t("session.signIn")}
        </button>
      )}
      <button
        type="button"
        className="button button--quiet"
        disabled={signOut.isPending}
        onClick={() => signOut.mutate(undefined, { onSettled: () => window.location.assign("/") })}
      >
        {t("session.signOut")}
      </button>
    </div>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const session = useSession();
  const data = session.data;
  return (
    <>
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="header">
        <NavLink to="/" className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span>{t("app.name")}</span>
        </NavLink>
        <nav aria-label={t("nav.main")} className="nav">
          <NavLink to="/talk">{t("nav.talk")}</NavLink>
          <NavLink to="/doctors">{t("nav.doctors")}</NavLink>
          {data && <NavLink to="/appointments">{t("nav.appointments")}</NavLink>}
          {hasRole(data, "clinician") && <NavLink to="/clinician">{t("nav.clinician")}</NavLink>}
          {hasRole(data, "admin") && <NavLink to="/admin">{t("nav.admin")}</NavLink>}
        </nav>
        <div className="header__tools">
          <LanguageSwitch />
          <SessionControls />
        </div>
      </header>
      <main id="main" tabIndex={-1} className="main">
        <Outlet />
      </main>
    </>
  );
}
