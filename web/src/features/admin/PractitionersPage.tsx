/**
 * /admin/practitioners: the clinic's practitioners, a form to register one, and the weekly
 * availability and exceptions of the one selected. A practitioner just added is selected at
 * once, so adding one and opening their hours is a single pass without reloading.
 */
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { AddPractitionerForm } from "./practitioners/AddPractitionerForm";
import { PractitionerDetailPanel } from "./practitioners/PractitionerDetailPanel";
import { PractitionerTable } from "./practitioners/PractitionerTable";
import { usePractices, usePractitioners, type ClinicPractitioner } from "./practitioners/api";
import "./practitioners/practitioners.css";

export default function PractitionersPage() {
  const { t } = useTranslation("practitioners");
  const practitioners = usePractitioners();
  const practices = usePractices();
  const [selected, setSelected] = useState<Pick<ClinicPractitioner, "practitioner_id" | "display_name"> | null>(null);
  const [addedName, setAddedName] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  return (
    <div className="practitioners">
      <h1>{t("title")}</h1>
      <div role="status" aria-live="polite">
        {addedName && <p className="notice notice--ok">{t("add.saved", { name: addedName })}</p>}
      </div>
      <p>
        <button type="button" className="button" data-testid="add-practitioner" aria-expanded={adding}
          aria-controls={adding ? "add-practitioner-form" : undefined}
          onClick={() => {
            setAddedName(null);
            setAdding(!adding);
          }}>
          {t("add.open")}
        </button>
      </p>
      {adding && (
        <AddPractitionerForm
          onAdded={(added) => {
            setAdding(false);
            setAddedName(added.display_name);
            setSelected(added);
          }}
        />
      )}
      {selected && (
        <PractitionerDetailPanel key={selected.practitioner_id} practitionerId={selected.practitioner_id}
          name={selected.display_name} onClose={() => setSelected(null)} />
      )}
      <section className="panel" aria-labelledby="practitioners-list-title">
        <h2 id="practitioners-list-title">{t("table.title")}</h2>
        {practitioners.isPending && <Progress />}
        {practitioners.isError && <ErrorNotice error={practitioners.error} onRetry={() => practitioners.refetch()} />}
        {practitioners.data && (
          <PractitionerTable practitioners={practitioners.data} practices={practices.data ?? []}
            selectedId={selected?.practitioner_id ?? null}
            onSelect={(practitioner) => {
              setAddedName(null);
              setSelected(practitioner);
            }} />
        )}
      </section>
    </div>
  );
}
