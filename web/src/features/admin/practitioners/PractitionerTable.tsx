/**
 * Every practitioner of the clinic, active or not, with a button to open one's availability.
 * The table scrolls on its own on a phone so the page never does.
 */
import { useTranslation } from "react-i18next";

import type { ClinicPractitioner, Practice } from "./api";

export function PractitionerTable({ practitioners, practices, selectedId, onSelect }: {
  practitioners: ClinicPractitioner[];
  practices: Practice[];
  selectedId: string | null;
  onSelect: (practitioner: ClinicPractitioner) => void;
}) {
  const { t } = useTranslation("practitioners");
  const practiceName = new Map(practices.map((practice) => [practice.practice_id, practice.name]));
  if (practitioners.length === 0) return <p>{t("table.empty")}</p>;
  return (
    <div className="table-scroll">
      <table>
        <caption className="visually-hidden">{t("table.caption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("table.name")}</th>
            <th scope="col">{t("table.specialty")}</th>
            <th scope="col">{t("table.practice")}</th>
            <th scope="col">{t("table.languages")}</th>
            <th scope="col">{t("table.active")}</th>
            <th scope="col"><span className="visually-hidden">{t("table.actions")}</span></th>
          </tr>
        </thead>
        <tbody>
          {practitioners.map((practitioner) => {
            const selected = practitioner.practitioner_id === selectedId;
            return (
              <tr key={practitioner.practitioner_id} data-testid="practitioner-row"
                data-practitioner-id={practitioner.practitioner_id}
                className={selected ? "practitioners__row--selected" : undefined}>
                <th scope="row">{practitioner.display_name}</th>
                <td>{practitioner.specialties.map((value) => t(`specialty.${value}`)).join(", ")}</td>
                <td>{practiceName.get(practitioner.practice_id) ?? t("table.unknownPractice")}</td>
                <td>{practitioner.languages.map((value) => t(`language.${value}`)).join(", ")}</td>
                <td>{practitioner.active ? t("table.yes") : t("table.no")}</td>
                <td>
                  <button type="button" className="button button--quiet" aria-pressed={selected}
                    onClick={() => onSelect(practitioner)}>
                    {t("table.manage", { name: practitioner.display_name })}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
