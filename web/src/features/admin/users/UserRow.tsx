/**
 * One account in the users table, with what an administrator can do to it: change its roles
 * (checkboxes, then save), disable or enable it, and reset its second factor, each confirmed.
 */
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { useSession } from "../../../api/session";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { ROLES, useAccountAction, useSetRoles } from "./api";
import type { AccountAction, Role, User } from "./api";

function RoleEditor({ user, onClose }: { user: User; onClose: () => void }) {
  const { t } = useTranslation("admin");
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const save = useSetRoles(user.user_id);
  const toggle = (role: Role, on: boolean) =>
    setRoles((current) => (on ? [...current, role] : current.filter((held) => held !== role)));
  return (
    <form
      className="role-editor"
      onSubmit={(event) => {
        event.preventDefault();
        save.mutate(roles, { onSuccess: onClose });
      }}
    >
      <fieldset className="checks">
        <legend>{t("users.rolesOf", { name: user.display_name || user.email })}</legend>
        {ROLES.map((role) => (
          <label key={role}>
            <input
              type="checkbox"
              checked={roles.includes(role)}
              onChange={(event) => toggle(role, event.target.checked)}
            />
            {t(`roles.${role}`)}
          </label>
        ))}
      </fieldset>
      {roles.length === 0 && <p className="field__error">{t("users.invite.rolesRequired")}</p>}
      {save.isError && <ErrorNotice error={save.error} />}
      <div className="admin-actions">
        <button
          type="submit"
          className="button"
          data-testid="save-roles"
          disabled={roles.length === 0 || save.isPending}
        >
          {save.isPending ? t("users.saving") : t("users.saveRoles")}
        </button>
        <button type="button" className="button button--quiet" onClick={onClose}>
          {t("users.cancel")}
        </button>
      </div>
    </form>
  );
}

export function UserRow({ user }: { user: User }) {
  const { t } = useTranslation("admin");
  const [editing, setEditing] = useState(false);
  const action = useAccountAction(user.user_id);
  // An administrator does not lock themselves out from here.
  const self = useSession().data?.subject === user.user_id;
  const name = user.display_name || user.email;

  const run = (kind: AccountAction, question: string) => {
    if (window.confirm(question)) action.mutate(kind);
  };

  return (
    <>
      <tr data-testid="user-row" data-user-id={user.user_id}>
        <td data-label={t("users.columns.user")}>
          <strong>{user.display_name || "—"}</strong>
          <div className="muted">{user.email}</div>
        </td>
        <td data-label={t("users.columns.roles")}>
          {user.roles.map((role) => (
            <span key={role} className="tag">
              {t(`roles.${role}`)}
            </span>
          ))}
        </td>
        <td data-label={t("users.columns.enabled")}>
          <span className={`tag ${user.enabled ? "tag--ok" : "tag--danger"}`}>
            {user.enabled ? t("users.enabled") : t("users.disabled")}
          </span>
        </td>
        <td data-label={t("users.columns.mfa")}>
          <span className={`tag ${user.mfa_enrolled ? "tag--ok" : "tag--warning"}`}>
            {user.mfa_enrolled ? t("users.mfaOn") : t("users.mfaOff")}
          </span>
        </td>
        <td data-label={t("users.columns.actions")}>
          <div className="admin-actions">
            <button
              type="button"
              className="button button--secondary"
              data-testid="edit-roles"
              aria-expanded={editing}
              aria-label={t("users.editRolesOf", { name })}
              onClick={() => setEditing((open) => !open)}
            >
              {t("users.editRoles")}
            </button>
            {self ? null : user.enabled ? (
              <button
                type="button"
                className="button button--danger"
                data-testid="disable-user"
                aria-label={t("users.disableOf", { name })}
                disabled={action.isPending}
                onClick={() => run("disable", t("users.confirmDisable", { name }))}
              >
                {t("users.disable")}
              </button>
            ) : (
              <button
                type="button"
                className="button button--secondary"
                data-testid="enable-user"
                aria-label={t("users.enableOf", { name })}
                disabled={action.isPending}
                onClick={() => run("enable", t("users.confirmEnable", { name }))}
              >
                {t("users.enable")}
              </button>
            )}
            <button
              type="button"
              className="button button--secondary"
              data-testid="reset-mfa"
              aria-label={t("users.resetMfaOf", { name })}
              disabled={action.isPending}
              onClick={() => run("mfa/reset", t("users.confirmResetMfa", { name }))}
            >
              {t("users.resetMfa")}
            </button>
          </div>
          <div role="status">{action.isSuccess && <span>{t("users.done")}</span>}</div>
          {action.isError && <ErrorNotice error={action.error} />}
        </td>
      </tr>
      {editing && (
        <tr>
          <td colSpan={5}>
            <RoleEditor user={user} onClose={() => setEditing(false)} />
          </td>
        </tr>
      )}
    </>
  );
}
