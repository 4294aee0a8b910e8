/**
 * Users and roles: every account the identity provider holds, searchable and filtered as the
 * admin API allows, a page at a time, with the invitation form and per-user actions.
 */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { InviteForm } from "./InviteForm";
import { ROLES, useUsers } from "./api";
import type { Role, UserFilters } from "./api";
import { UserRow } from "./UserRow";

const NO_FILTERS: UserFilters = { query: "", role: "", enabled: "" };

export default function UsersPage() {
  const { t } = useTranslation("admin");
  const [filters, setFilters] = useState<UserFilters>(NO_FILTERS);
  // Tokens of the pages before the current one, so that "Previous" can go back.
  const [tokens, setTokens] = useState<string[]>([""]);
  const [inviting, setInviting] = useState(false);
  const [invited, setInvited] = useState<string | null>(null);
  const [search, setSearch] = useState("");
  const users = useUsers(filters, tokens.at(-1) ?? "");

  const filter = (change: Partial<UserFilters>) => {
    setFilters((current) => ({ ...current, ...change }));
    setTokens([""]);
  };

  // Search once typing pauses, not at every key.
  useEffect(() => {
    const timer = window.setTimeout(() => {
      setFilters((current) => (current.query === search ? current : { ...current, query: search }));
      setTokens((current) => (current.length === 1 ? current : [""]));
    }, 300);
    return () => window.clearTimeout(timer);
  }, [search]);

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">{t("users.title")}</h1>
      <div className="admin-toolbar">
        <button
          type="button"
          className="button"
          data-testid="invite-user"
          aria-expanded={inviting}
          onClick={() => {
            setInviting((open) => !open);
            setInvited(null);
          }}
        >
          {t("users.invite.open")}
        </button>
      </div>
      <div role="status">
        {invited && <p className="notice notice--ok">{t("users.invite.sent", { email: invited })}</p>}
      </div>
      {inviting && (
        <InviteForm
          onDone={(email) => {
            setInviting(false);
            setInvited(email);
          }}
        />
      )}
      <form className="admin-toolbar" role="search" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor="users-query">{t("users.search")}</label>
          <input
            id="users-query"
            type="search"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="users-role">{t("users.role")}</label>
          <select
            id="users-role"
            value={filters.role}
            onChange={(event) => filter({ role: event.target.value as Role | "" })}
          >
            <option value="">{t("users.anyRole")}</option>
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {t(`roles.${role}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="users-enabled">{t("users.state")}</label>
          <select
            id="users-enabled"
            value={filters.enabled}
            onChange={(event) => filter({ enabled: event.target.value as UserFilters["enabled"] })}
          >
            <option value="">{t("users.anyState")}</option>
            <option value="true">{t("users.enabled")}</option>
            <option value="false">{t("users.disabled")}</option>
          </select>
        </div>
      </form>
      {users.isPending && <Progress label={t("users.loading")} />}
      {users.isError && <ErrorNotice error={users.error} onRetry={() => users.refetch()} />}
      {users.data && (
        <>
          <p role="status">
            {users.data.total_size != null
              ? t("users.count", { count: users.data.total_size })
              : t("users.shown", { count: users.data.users.length })}
          </p>
          <div className="table-scroll" tabIndex={0} role="region" aria-labelledby="users-title">
            <table className="admin-table admin-table--stack">
              <caption className="visually-hidden">{t("users.title")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("users.columns.user")}</th>
                  <th scope="col">{t("users.columns.roles")}</th>
                  <th scope="col">{t("users.columns.enabled")}</th>
                  <th scope="col">{t("users.columns.mfa")}</th>
                  <th scope="col">{t("users.columns.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {users.data.users.map((user) => (
                  <UserRow key={user.user_id} user={user} />
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
            {users.data.next_page_token && (
              <button
                type="button"
                className="button button--secondary"
                onClick={() => setTokens((current) => [...current, users.data.next_page_token ?? ""])}
              >
                {t("pager.next")}
              </button>
            )}
            {users.isFetching && <Progress />}
          </div>
        </>
      )}
    </section>
  );
}
