/**
 * The audit log: who did what to which object and how it went, newest first, filtered the
 * ways the admin API allows and paged; plus the tamper check of the hash chain.
 */
import { useState } from "react";
import type { FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { useAuditEvents } from "./api";
import type { AuditEvent, AuditFilters } from "./api";
import { VerifyChain } from "./VerifyChain";

const NO_FILTERS: AuditFilters = { action: "", actor_subject: "", object_type: "", start_time: "", end_time: "" };
const FILTER_FIELDS = ["action", "actor_subject", "object_type", "start_time", "end_time"] as const;
const OUTCOME_MARK = { succeeded: "✓", denied: "⊘", failed: "✗" } as const;

function AuditRow({ event, format }: { event: AuditEvent; format: Intl.DateTimeFormat }) {
  const { t } = useTranslation("admin");
  return (
    <tr data-testid="audit-row" data-sequence={event.sequence}>
      <td>{event.sequence}</td>
      <td>{event.occur_time ? format.format(new Date(event.occur_time)) : "—"}</td>
      <td>
        <span className="muted">{event.actor.guest ? t("audit.guest") : event.actor.subject}</span>
        {event.actor.roles.length > 0 && <div>{event.actor.roles.join(", ")}</div>}
      </td>
      <td>{event.action}</td>
      <td>
        {event.object_type}
        <div className="muted">{event.object_id}</div>
      </td>
      <td>
        {event.outcome ? (
          <span className={`tag ${event.outcome === "succeeded" ? "tag--ok" : "tag--danger"}`}>
            <span aria-hidden="true">{OUTCOME_MARK[event.outcome]}</span> {t(`audit.outcome.${event.outcome}`)}
          </span>
        ) : (
          "—"
        )}
      </td>
    </tr>
  );
}

export default function AuditPage() {
  const { t, i18n } = useTranslation("admin");
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [tokens, setTokens] = useState<string[]>([""]);
  const events = useAuditEvents(filters, tokens.at(-1) ?? "");
  const format = new Intl.DateTimeFormat(i18n.language, { dateStyle: "short", timeStyle: "medium" });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setTokens([""]);
  };

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">{t("audit.title")}</h1>
      <VerifyChain />
      <form className="admin-toolbar" role="search" aria-label={t("audit.filters")} onSubmit={apply}>
        {FILTER_FIELDS.map((field) => (
          <div className="field" key={field}>
            <label htmlFor={`audit-${field}`}>{t(`audit.filter.${field}`)}</label>
            <input
              id={`audit-${field}`}
              type={field.endsWith("_time") ? "datetime-local" : "text"}
              value={draft[field]}
              onChange={(change) => setDraft((current) => ({ ...current, [field]: change.target.value }))}
            />
          </div>
        ))}
        <button type="submit" className="button button--secondary">
          {t("audit.apply")}
        </button>
      </form>
      {events.isPending && <Progress label={t("audit.loading")} />}
      {events.isError && <ErrorNotice error={events.error} onRetry={() => events.refetch()} />}
      {events.data && (
        <>
          <p role="status">
            {events.data.total_size != null
              ? t("audit.count", { count: events.data.total_size })
              : t("audit.shown", { count: events.data.events.length })}
          </p>
          <div className="table-scroll" tabIndex={0} role="region" aria-labelledby="audit-title">
            <table className="admin-table">
              <caption className="visually-hidden">{t("audit.title")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("audit.columns.sequence")}</th>
                  <th scope="col">{t("audit.columns.time")}</th>
                  <th scope="col">{t("audit.columns.actor")}</th>
                  <th scope="col">{t("audit.columns.action")}</th>
                  <th scope="col">{t("audit.columns.resource")}</th>
                  <th scope="col">{t("audit.columns.outcome")}</th>
                </tr>
              </thead>
              <tbody>
                {events.data.events.map((event) => (
                  <AuditRow key={event.sequence} event={event} format={format} />
                ))}
              </tbody>
            </table>
          </div>
          <div className="admin-pager">
            {tokens.length > 1 && (
              <button
                type="button"
                className="button button--secondary"
                onClick={() => setTokens((current) => current.slice(0, -1))}
              >
                {t("pager.previous")}
              </button>
            )}
            {events.data.next_page_token && (
              <button
                type="button"
                className="button button--secondary"
                onClick={() => setTokens((current) => [...current, events.data.next_page_token ?? ""])}
              >
                {t("pager.next")}
              </button>
            )}
            {events.isFetching && <Progress />}
          </div>
        </>
      )}
    </section>
  );
}
