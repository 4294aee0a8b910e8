/**
 * The assistant's triage result as the patient sees it: how urgent (in words, colour and a
 * shape, never colour alone), what to do, why, what it might be, and that it is not a
 * diagnosis. Emergencies lead with the number to call and say that no booking is offered.
 */
import { useId } from "react";
import { useTranslation } from "react-i18next";

import { currentLanguage } from "../../i18n";
import { EMERGENCY_LEVELS } from "./protocol";
import type { TriageResult, UrgencyLevel } from "./protocol";
import { conditionsToShow, formatPercent, likelihood } from "./shared/format";
import "./shared/patient.css";

const ICONS: Record<UrgencyLevel, string> = {
  emergency_ambulance: "!",
  emergency: "!",
  consultation_24: "◷",
  consultation: "+",
  self_care: "✓",
};

function Emergency({ number }: { number: string | null }) {
  const { t } = useTranslation("patient");
  return (
    <div className="triage__emergency" role="alert">
      {number ? (
        <a className="triage__call" href={`tel:${number}`} data-testid="emergency-number">
          {t("triage.call", { number })}
        </a>
      ) : (
        <p className="triage__call">{t("triage.callLocal")}</p>
      )}
      <p>{t("triage.noBooking")}</p>
    </div>
  );
}

export function TriageCard({ result }: { result: TriageResult }) {
  const { t, i18n } = useTranslation("patient");
  const headingId = useId();
  const language = currentLanguage(i18n.language);
  const emergency = EMERGENCY_LEVELS.includes(result.level);
  return (
    <section
      className={`panel triage triage--${result.level}`}
      role="region"
      aria-labelledby={headingId}
      data-testid="triage-card"
      data-level={result.level}
    >
      <h2 id={headingId}>{t("triage.title")}</h2>
      <p className="triage__level" data-testid="triage-level">
        <span className="triage__icon" aria-hidden="true">{ICONS[result.level]}</span>
        <span>{t(`level.${result.level}`)}</span>
      </p>
      {emergency && <Emergency number={result.emergency_number} />}
      <p className="triage__instruction" data-testid="triage-instruction">{result.instruction}</p>
      {result.reasons.length > 0 && (
        <>
          <h3>{t("triage.reasons")}</h3>
          <ul data-testid="triage-reasons">
            {result.reasons.map((reason) => <li key={reason}>{reason}</li>)}
          </ul>
        </>
      )}
      {result.conditions.length > 0 && (
        <>
          <h3>{t("triage.conditions")}</h3>
          <ul data-testid="triage-conditions">
            {conditionsToShow(result.conditions).map((condition) => (
              <li key={condition.name}>
                {t("triage.condition", {
                  name: condition.name,
                  likelihood: likelihood(condition.probability, t),
                  percent: formatPercent(condition.probability, language),
                })}
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="notice notice--info triage__disclaimer" data-testid="triage-disclaimer">
        {result.disclaimer || t("triage.disclaimer")}
      </p>
    </section>
  );
}
