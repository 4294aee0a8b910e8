/**
 * Invite someone by e-mail with their roles. The gateway validates the request; a 422 puts
 * each message next to its field, and nothing typed is lost when the invitation is refused.
 */
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";

import { ApiError } from "../../../api/http";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { currentLanguage } from "../../../i18n";
import { ROLES, useInvite } from "./api";
import type { Invitation } from "./api";

const FIELDS = ["email", "display_name", "roles", "language"] as const;

export function InviteForm({ onDone }: { onDone: (email: string) => void }) {
  const { t } = useTranslation("admin");
  const invite = useInvite();
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors },
  } = useForm<Invitation>({
    defaultValues: { email: "", display_name: "", roles: ["clinician"], language: currentLanguage() },
  });

  const submit = handleSubmit((values) => {
    invite.mutate(values, {
      onSuccess: () => onDone(values.email),
      onError: (error) => {
        if (!(error instanceof ApiError) || error.status !== 422) return;
        const fields = error.fieldErrors();
        for (const field of FIELDS) {
          if (fields[field]) setError(field, { type: "server", message: fields[field] });
        }
      },
    });
  });

  const fieldError = (name: (typeof FIELDS)[number]) =>
    errors[name]?.message ? (
      <span className="field__error" id={`invite-${name}-error`}>
        {errors[name]?.message}
      </span>
    ) : null;
  // A 422 whose messages sit at their fields needs no second notice above the button.
  const fieldMessages = invite.error instanceof ApiError ? invite.error.fieldErrors() : {};
  const shownAtFields = FIELDS.some((field) => fieldMessages[field]);

  return (
    <form className="panel" onSubmit={submit} noValidate aria-labelledby="invite-title">
      <h2 id="invite-title">{t("users.invite.title")}</h2>
      <div className="field">
        <label htmlFor="invite-email">{t("users.invite.email")}</label>
        <input
          id="invite-email"
          type="email"
          autoComplete="off"
          aria-invalid={!!errors.email}
          aria-describedby={errors.email ? "invite-email-error" : undefined}
          {...register("email", {
            required: t("users.invite.emailRequired"),
            pattern: { value: /^[^@\s]+@[^@\s]+$/, message: t("users.invite.emailInvalid") },
          })}
        />
        {fieldError("email")}
      </div>
      <div className="field">
        <label htmlFor="invite-name">{t("users.invite.name")}</label>
        <input
          id="invite-name"
          type="text"
          autoComplete="off"
          aria-invalid={!!errors.display_name}
          aria-describedby={errors.display_name ? "invite-display_name-error" : undefined}
          {...register("display_name")}
        />
        {fieldError("display_name")}
      </div>
      <fieldset
        className="checks"
        aria-invalid={!!errors.roles}
        aria-describedby={errors.roles ? "invite-roles-error" : undefined}
      >
        <legend>{t("users.invite.roles")}</legend>
        {ROLES.map((role) => (
          <label key={role}>
            <input
              type="checkbox"
              value={role}
              {...register("roles", {
                validate: (roles) => roles.length > 0 || t("users.invite.rolesRequired"),
              })}
            />
            {t(`roles.${role}`)}
          </label>
        ))}
        {fieldError("roles")}
      </fieldset>
      <div className="field">
        <label htmlFor="invite-language">{t("users.invite.language")}</label>
        <select id="invite-language" {...register("language")}>
          <option value="en">English</option>
          <option value="fr">Français</option>
        </select>
        {fieldError("language")}
      </div>
      {invite.isError && !shownAtFields && <ErrorNotice error={invite.error} />}
      {invite.isPending && <Progress label={t("users.invite.sending")} />}
      <button type="submit" className="button" data-testid="send-invitation" disabled={invite.isPending}>
        {t("users.invite.send")}
      </button>
    </form>
  );
}
