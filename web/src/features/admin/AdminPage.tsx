/**
 * The admin panel's shell: a sub-navigation between its four areas and their nested routes.
 * Each area is its own module, loaded when first opened (the analytics charts are heavy).
 */
import "./admin.css";

import { Suspense, lazy } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, Navigate, Route, Routes } from "react-router";

import { Progress } from "../../components/Progress";

const UsersPage = lazy(() => import("./users/UsersPage"));
const PractitionersPage = lazy(() => import("./PractitionersPage"));
const AuditPage = lazy(() => import("./audit/AuditPage"));
const AnalyticsPage = lazy(() => import("./AnalyticsPage"));

const AREAS = [
  { path: "users", label: "nav.users" },
  { path: "practitioners", label: "nav.practitioners" },
  { path: "audit", label: "nav.audit" },
  { path: "analytics", label: "nav.analytics" },
] as const;

// Absolute paths: under the "admin/*" splat route, relative links resolve against the whole URL.
export default function AdminPage() {
  const { t } = useTranslation("admin");
  return (
    <div className="admin">
      <nav className="admin-nav" aria-label={t("nav.label")}>
        <ul>
          {AREAS.map((area) => (
            <li key={area.path}>
              <NavLink to={`/admin/${area.path}`} data-testid={`admin-nav-${area.path}`}>
                {t(area.label)}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Suspense fallback={<Progress />}>
        <Routes>
          <Route index element={<Navigate to="/admin/users" replace />} />
          <Route path="users" element={<UsersPage />} />
          <Route path="practitioners/*" element={<PractitionersPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="analytics/*" element={<AnalyticsPage />} />
          <Route path="*" element={<Navigate to="/admin/users" replace />} />
        </Routes>
      </Suspense>
    </div>
  );
}
