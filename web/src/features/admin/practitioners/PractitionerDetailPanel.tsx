/**
 * One practitioner's schedule settings: their weekly availability and their exceptions, read
 * from the scheduling service (which also gives the practice's timezone). The heading takes the
 * focus when it opens so keyboard and screen-reader users land on it.
 */
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { usePractitionerDetail } from "./api";
import { AvailabilityEditor } from "./AvailabilityEditor";
import { ExceptionsEditor } from "./ExceptionsEditor";

export function PractitionerDetailPanel({ practitionerId, name, onClose }: {
  practitionerId: string;
  name: string;
  onClose: () => void;
}) {
  const { t } = useTranslation("practitioners");
  const detail = usePractitionerDetail(practitionerId);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [practitionerId]);
  const timezone = detail.data?.practice?.timezone ?? null;
  return (
    <section className="panel practitioners__detail" aria-labelledby="practitioner-detail-title">
      <div className="practitioners__detail-head">
        <h2 id="practitioner-detail-title" ref={heading} tabIndex={-1}>
          {t("detail.title", { name })}
        </h2>
        <button type="button" className="button button--secondary" onClick={onClose}>
          {t("detail.close")}
        </button>
      </div>
      {detail.isPending && <Progress />}
      {detail.isError && <ErrorNotice error={detail.error} onRetry={() => detail.refetch()} />}
      {detail.data && (
        <>
          <AvailabilityEditor practitionerId={practitionerId} initial={detail.data.weekly_availability}
            timezone={timezone} />
          <ExceptionsEditor practitionerId={practitionerId} exceptions={detail.data.exceptions}
            timezone={timezone} />
        </>
      )}
    </section>
  );
}
