/**
 * The patient's triage as a clinician reads it before the visit: how urgent (in words, with a
 * colour and an icon so that colour is never the only sign), why (red flags), what it may be
 * (the likely conditions) and the questions the assistant asked with the patient's answers.
 */
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { useAssessment } from "./api";
import type { UrgencyLevel } from "./api";

/** How many of the ranked conditions a clinician is shown (the differential ranks them all). */
const TOP_CONDITIONS = 5;

// Text symbols (not emoji) so that they render with the system fonts the app uses.
const ICONS: Record<UrgencyLevel, string> = {
  emergency_ambulance: "☎",
  emergency: "⚠",
  consultation_24: "◷",
  consultation: "✚",
  self_care: "⌂",
};

export function UrgencyBadge({ level }: { level: UrgencyLevel }) {
  const { t } = useTranslation("clinician");
  return (
    <span className={`urgency urgency--${level}`}>
      <span aria-hidden="true">{ICONS[level]}</span> {t(`level.${level}`)}
    </span>
  );
}

export function TriageSummary({ assessmentId }: { assessmentId: string }) {
  const { t, i18n } = useTranslation("clinician");
  const assessment = useAssessment(assessmentId);
  if (assessment.isPending) return <Progress label={t("triage.loading")} />;
  if (assessment.isError) {
    return <ErrorNotice error={assessment.error} onRetry={() => assessment.refetch()} />;
  }
  const { outcome, findings, patient } = assessment.data;
  const likely = outcome.conditions.slice(0, TOP_CONDITIONS);
  const percent = new Intl.NumberFormat(i18n.language, { style: "percent" });
  return (
    <div className="triage-summary" data-testid="triage-summary" data-level={outcome.level}>
      <p className="triage-summary__level">
        {t("triage.level")} <UrgencyBadge level={outcome.level} />
      </p>
      {(patient.age_years != null || patient.sex) && (
        <p>
          {[
            patient.age_years != null ? t("triage.age", { count: patient.age_years }) : null,
            patient.sex ? t(`triage.sex.${patient.sex}`) : null,
          ]
            .filter(Boolean)
            .join(" · ")}
        </p>
      )}
      {outcome.instruction && <p>{outcome.instruction}</p>}
      {outcome.red_flags.length > 0 && (
        <>
          <h4>{t("triage.redFlags")}</h4>
          <ul>
            {outcome.red_flags.map((flag) => (
              <li key={flag.id}>
                <strong>{flag.name}</strong>: {flag.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      <h4>{t("triage.conditions")}</h4>
      {likely.length === 0 ? (
        <p>{t("triage.noConditions")}</p>
      ) : (
        <ul>
          {likely.map((condition) => (
            <li key={condition.condition_id}>
              {condition.name}
              {condition.icd10 && ` (${condition.icd10})`} — {percent.format(condition.probability)}
            </li>
          ))}
        </ul>
      )}
      <details>
        <summary>{t("triage.answers", { count: findings.length })}</summary>
        {findings.length === 0 ? (
          <p>{t("triage.noAnswers")}</p>
        ) : (
          <dl className="triage-summary__answers">
            {findings.map((finding) => (
              <div key={finding.evidence_id}>
                <dt>{finding.question}</dt>
                <dd>{finding.answer}</dd>
              </div>
            ))}
          </dl>
        )}
      </details>
    </div>
  );
}
