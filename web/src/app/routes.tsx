/**
 * The app's screens. Each area is loaded on demand (the admin charts are not downloaded by a
 * patient), and each is owned by its feature folder under src/features/.
 */
import { Suspense, lazy } from "react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, createBrowserRouter } from "react-router";

import { Progress } from "../components/Progress";
import { RequireRole } from "../components/RequireRole";
import { Layout } from "./Layout";

const PatientHome = lazy(() => import("../features/patient/HomePage"));
const Conversation = lazy(() => import("../features/patient/ConversationPage"));
const Doctors = lazy(() => import("../features/patient/DoctorsPage"));
const MyAppointments = lazy(() => import("../features/patient/AppointmentsPage"));
const Clinician = lazy(() => import("../features/clinician/ClinicianPage"));
const Admin = lazy(() => import("../features/admin/AdminPage"));

function Loading({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Progress />}>{children}</Suspense>;
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="panel" aria-labelledby="not-found">
      <h1 id="not-found">{t("notFound.title")}</h1>
      <p>{t("errors.notFound")}</p>
      <Link to="/">{t("notFound.home")}</Link>
    </section>
  );
}

export const routes = [
  {
    path: "/",
    element: <Layout />,
    children: [
      { index: true, element: <Loading><PatientHome /></Loading> },
      { path: "talk", element: <Loading><Conversation /></Loading> },
      { path: "doctors", element: <Loading><Doctors /></Loading> },
      { path: "appointments", element: <Loading><MyAppointments /></Loading> },
      {
        path: "clinician/*",
        element: <Loading><RequireRole role="clinician"><Clinician /></RequireRole></Loading>,
      },
      {
        path: "admin/*",
        element: <Loading><RequireRole role="admin"><Admin /></RequireRole></Loading>,
      },
      { path: "*", element: <NotFound /> },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
