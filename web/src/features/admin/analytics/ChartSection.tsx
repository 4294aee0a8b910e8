/**
 * The frame every analytics chart shares: a heading, the loading and error states, the
 * "no data" message, the chart itself (hidden from screen readers, which cannot read it) and
 * the same numbers as a table inside <details> for everyone who needs them as text.
 */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { ApiError } from "../../../api/http";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";

export interface Column {
  key: string;
  label: string;
}

export function ChartSection({ testId, title, query, empty, chart, columns, rows, summary, tall = false }: {
  testId: string;
  title: string;
  query: { isPending: boolean; isError: boolean; error: unknown; refetch: () => unknown };
  empty: boolean;
  chart: () => ReactNode;
  columns: Column[];
  rows: Record<string, ReactNode>[];
  /** A sentence that says the main result in words, shown above the chart. */
  summary?: ReactNode;
  tall?: boolean;
}) {
  const { t } = useTranslation("analytics");
  const id = `${testId}-title`;
  return (
    <section className="panel analytics__section" data-testid={testId} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {query.isPending && <Progress />}
      {query.isError && query.error instanceof ApiError && query.error.status === 501 && (
        <p className="notice notice--info">{t("pending")}</p>
      )}
      {query.isError && !(query.error instanceof ApiError && query.error.status === 501) && (
        <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
      )}
      {!query.isPending && !query.isError && empty && <p>{t("empty")}</p>}
      {!query.isPending && !query.isError && !empty && (
        <>
          {summary && <p className="analytics__summary">{summary}</p>}
          <div className={tall ? "analytics__chart analytics__chart--tall" : "analytics__chart"} aria-hidden="true">
            {chart()}
          </div>
          <details className="analytics__numbers">
            <summary>{t("numbers", { title })}</summary>
            <div className="table-scroll">
              <table>
                <caption className="visually-hidden">{title}</caption>
                <thead>
                  <tr>
                    {columns.map((column) => <th key={column.key} scope="col">{column.label}</th>)}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row, index) => (
                    <tr key={index}>
                      {columns.map((column, at) =>
                        at === 0 ? <th key={column.key} scope="row">{row[column.key]}</th>
                          : <td key={column.key}>{row[column.key]}</td>,
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}
