/**
 * The four analytics charts (recharts), each inside a ChartSection with its numbers table.
 * Colours pass WCAG's 3:1 for graphics on white, and every bar is also named on its axis or in
 * the legend, so no meaning rests on colour alone.
 */
import { useTranslation } from "react-i18next";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { currentLanguage } from "../../../i18n";
import type { BookingAnalytics, TriageAnalytics, UrgencyLevel, VoiceAnalytics } from "./api";
import { URGENCY_LEVELS } from "./api";
import { ChartSection } from "./ChartSection";

type Query<T> = { data?: T; isPending: boolean; isError: boolean; error: unknown; refetch: () => unknown };

const LEVEL_COLOURS: Record<UrgencyLevel, string> = {
  emergency_ambulance: "#8c1d17",
  emergency: "#c0392b",
  consultation_24: "#a65c00",
  consultation: "#0b5cad",
  self_care: "#1e6b34",
};
const BRAND = "#0b5cad";
const PERCENTILE_COLOURS = { p50_ms: "#0b5cad", p95_ms: "#a65c00", p99_ms: "#8c1d17" } as const;
/** Size assumed before the container is measured (and in tests, where nothing is laid out). */
const SIZE = { width: 320, height: 240 };
const INK = "#1a1f2b";
const AXIS = { fill: INK, fontSize: 13 };

function useNumbers() {
  const { i18n } = useTranslation();
  const language = currentLanguage(i18n.language);
  return {
    count: new Intl.NumberFormat(language).format,
    percent: new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1 }).format,
    ms: new Intl.NumberFormat(language, { style: "unit", unit: "millisecond", maximumFractionDigits: 0 }).format,
  };
}

export function TriageLevelsChart({ query }: { query: Query<TriageAnalytics> }) {
  const { t } = useTranslation("analytics");
  const numbers = useNumbers();
  const counts = new Map((query.data?.by_level ?? []).map((item) => [item.level, item.count]));
  const data = URGENCY_LEVELS.map((level) => ({ level, name: t(`level.${level}`), count: counts.get(level) ?? 0 }));
  return (
    <ChartSection testId="chart-triage-levels" title={t("triage.title")} query={query}
      empty={(query.data?.total_assessments ?? 0) === 0}
      columns={[{ key: "name", label: t("triage.level") }, { key: "count", label: t("triage.sessions") }]}
      rows={data.map((item) => ({ name: item.name, count: numbers.count(item.count) }))}
      chart={() => (
        <ResponsiveContainer width="100%" height="100%" initialDimension={SIZE}>
          <BarChart data={data} layout="vertical" accessibilityLayer={false}
            margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={AXIS} />
            <YAxis type="category" dataKey="name" tick={AXIS} width={150} interval={0} />
            <Tooltip formatter={(value) => numbers.count(Number(value))} />
            <Bar dataKey="count" name={t("triage.sessions")} isAnimationActive={false}
              label={{ position: "right", fill: INK }}>
              {data.map((item) => <Cell key={item.level} fill={LEVEL_COLOURS[item.level]} />)}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      )} />
  );
}

export function TopConditionsChart({ query }: { query: Query<TriageAnalytics> }) {
  const { t } = useTranslation("analytics");
  const numbers = useNumbers();
  const data = query.data?.top_conditions ?? [];
  return (
    <ChartSection testId="chart-top-conditions" title={t("conditions.title")} query={query} tall
      empty={data.length === 0}
      columns={[
        { key: "name", label: t("conditions.condition") },
        { key: "icd10", label: t("conditions.icd10") },
        { key: "count", label: t("conditions.sessions") },
      ]}
      rows={data.map((item) => ({ name: item.name, icd10: item.icd10, count: numbers.count(item.count) }))}
      chart={() => (
        <ResponsiveContainer width="100%" height="100%" initialDimension={SIZE}>
          <BarChart data={data} layout="vertical" accessibilityLayer={false}
            margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={AXIS} />
            <YAxis type="category" dataKey="name" tick={AXIS} width={150} interval={0} />
            <Tooltip formatter={(value) => numbers.count(Number(value))} />
            <Bar dataKey="count" name={t("conditions.sessions")} fill={BRAND} isAnimationActive={false}
              label={{ position: "right", fill: INK }} />
          </BarChart>
        </ResponsiveContainer>
      )} />
  );
}

export function BookingConversionChart({ query, triageSessions }: {
  query: Query<BookingAnalytics>;
  triageSessions: number | undefined;
}) {
  const { t } = useTranslation("analytics");
  const numbers = useNumbers();
  const bookings = query.data;
  const steps = [
    ...(triageSessions === undefined ? [] : [{ key: "sessions", value: triageSessions }]),
    { key: "offered", value: bookings?.bookable_assessments ?? 0 },
    { key: "booked", value: bookings?.booked ?? 0 },
  ].map((step) => ({ ...step, name: t(`bookings.${step.key}`) }));
  return (
    <ChartSection testId="chart-booking-conversion" title={t("bookings.title")} query={query}
      empty={!bookings || steps.every((step) => step.value === 0)}
      columns={[{ key: "name", label: t("bookings.step") }, { key: "value", label: t("bookings.count") }]}
      rows={[
        ...steps.map((step) => ({ name: step.name, value: numbers.count(step.value) })),
        { name: t("bookings.rate"), value: numbers.percent(bookings?.rate ?? 0) },
        { name: t("bookings.cancelled"), value: numbers.count(bookings?.cancelled ?? 0) },
      ]}
      summary={t("bookings.summary", {
        offered: numbers.count(bookings?.bookable_assessments ?? 0),
        booked: numbers.count(bookings?.booked ?? 0),
        rate: numbers.percent(bookings?.rate ?? 0),
      })}
      chart={() => (
        <ResponsiveContainer width="100%" height="100%" initialDimension={SIZE}>
          <BarChart data={steps} layout="vertical" accessibilityLayer={false}
            margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={AXIS} />
            <YAxis type="category" dataKey="name" tick={AXIS} width={140} interval={0} />
            <Tooltip formatter={(value) => numbers.count(Number(value))} />
            <Bar dataKey="value" name={t("bookings.count")} fill={BRAND} isAnimationActive={false}
              label={{ position: "right", fill: INK }} />
          </BarChart>
        </ResponsiveContainer>
      )} />
  );
}

export function VoiceLatencyChart({ query }: { query: Query<VoiceAnalytics> }) {
  const { t } = useTranslation("analytics");
  const numbers = useNumbers();
  const data = (query.data?.stages ?? []).map((stage) => ({
    ...stage,
    name: t(`stage.${stage.stage}`, { defaultValue: stage.stage.replaceAll("_", " ") }),
  }));
  return (
    <ChartSection testId="chart-voice-latency" title={t("voice.title")} query={query} tall
      empty={data.every((stage) => stage.count === 0)}
      columns={[
        { key: "name", label: t("voice.stage") },
        { key: "count", label: t("voice.turns") },
        { key: "p50", label: t("voice.p50") },
        { key: "p95", label: t("voice.p95") },
        { key: "p99", label: t("voice.p99") },
      ]}
      rows={data.map((stage) => ({
        name: stage.name,
        count: numbers.count(stage.count),
        p50: numbers.ms(stage.p50_ms),
        p95: numbers.ms(stage.p95_ms),
        p99: numbers.ms(stage.p99_ms),
      }))}
      chart={() => (
        <ResponsiveContainer width="100%" height="100%" initialDimension={SIZE}>
          <BarChart data={data} layout="vertical" accessibilityLayer={false}
            margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" tick={AXIS} tickFormatter={(value: number) => numbers.ms(value)} />
            <YAxis type="category" dataKey="name" tick={AXIS} width={150} interval={0} />
            <Tooltip formatter={(value) => numbers.ms(Number(value))} />
            <Legend formatter={(value) => <span className="analytics__legend">{value}</span>} />
            {(["p50_ms", "p95_ms", "p99_ms"] as const).map((key) => (
              <Bar key={key} dataKey={key} name={t(`voice.${key.slice(0, 3)}`)} fill={PERCENTILE_COLOURS[key]}
                isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      )} />
  );
}
