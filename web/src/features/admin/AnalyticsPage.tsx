/**
 * /admin/analytics: triage sessions by urgency level, top conditions, booking conversion and
 * voice latency percentiles, over the last 7 or 30 days. Each chart loads (and may fail) on its
 * own, and each has its numbers as a table for those who cannot read a chart.
 */
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";

import { PERIODS, useBookingAnalytics, useTriageAnalytics, useVoiceAnalytics, type PeriodDays } from "./analytics/api";
import { BookingConversionChart, TopConditionsChart, TriageLevelsChart, VoiceLatencyChart } from "./analytics/charts";
import "./analytics/analytics.css";

export default function AnalyticsPage() {
  const { t } = useTranslation("analytics");
  const periodId = useId();
  const [days, setDays] = useState<PeriodDays>(7);
  const triage = useTriageAnalytics(days);
  const bookings = useBookingAnalytics(days);
  const voice = useVoiceAnalytics(days);
  return (
    <div className="analytics">
      <h1>{t("title")}</h1>
      <div className="analytics__period">
        <label htmlFor={periodId}>{t("period.label")}</label>
        <select id={periodId} data-testid="analytics-period" value={days}
          onChange={(event) => setDays(Number(event.target.value) as PeriodDays)}>
          {PERIODS.map((value) => <option key={value} value={value}>{t("period.last", { count: value })}</option>)}
        </select>
      </div>
      <div className="analytics__grid">
        <TriageLevelsChart query={triage} />
        <TopConditionsChart query={triage} />
        <BookingConversionChart query={bookings} triageSessions={triage.data?.total_assessments} />
        <VoiceLatencyChart query={voice} />
      </div>
    </div>
  );
}
