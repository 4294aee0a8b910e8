/**
 * Register a practitioner: every field the admin API takes, the practice chosen from the
 * scheduling list. The server's 422 messages appear at their fields, a 409 is explained, and
 * what was typed stays in the form whatever happens.
 */
import { useEffect, useState, type ReactNode } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";

import { ApiError } from "../../../api/http";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import {
  CONSULT_LANGUAGES,
  SPECIALTIES,
  fieldErrorsOf,
  useAddPractitioner,
  usePractices,
  type ClinicPractitioner,
  type ConsultLanguage,
  type Specialty,
} from "./api";

interface FormValues {
  display_name: string;
  specialty: Specialty | "";
  other_specialties: Specialty[];
  languages: ConsultLanguage[];
  practice_id: string;
  email: string;
}

const FIELDS = ["display_name", "specialties", "languages", "practice_id", "email"] as const;

export function AddPractitionerForm({ onAdded }: { onAdded: (added: ClinicPractitioner) => void }) {
  const { t } = useTranslation("practitioners");
  const practices = usePractices();
  const add = useAddPractitioner();
  const [conflict, setConflict] = useState(false);
  const {
    register,
    handleSubmit,
    reset,
    setError,
    setFocus,
    formState: { errors },
  } = useForm<FormValues>({
    defaultValues: {
      display_name: "",
      specialty: "",
      other_specialties: [],
      languages: [],
      practice_id: "",
      email: "",
    },
  });

  // The form opens on a button press: take the user straight to its first field.
  useEffect(() => setFocus("display_name"), [setFocus]);

  const submit = handleSubmit(async (values) => {
    setConflict(false);
    const main = values.specialty as Specialty;
    const others = (values.other_specialties ?? []).filter((value) => value !== main);
    try {
      const added = await add.mutateAsync({
        display_name: values.display_name.trim(),
        specialties: [main, ...others],
        languages: values.languages,
        practice_id: values.practice_id,
        email: values.email.trim() || null,
      });
      reset();
      onAdded(added);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        setConflict(true);
        return;
      }
      const fields = fieldErrorsOf(error, FIELDS);
      for (const [name, message] of Object.entries(fields)) {
        if (name === "specialties") setError("specialty", { message });
        else if ((FIELDS as readonly string[]).includes(name)) {
          setError(name as Exclude<(typeof FIELDS)[number], "specialties">, { message });
        }
      }
    }
  });

  const serverFailed = add.isError && !conflict && Object.keys(fieldErrorsOf(add.error, FIELDS)).length === 0;

  return (
    <form id="add-practitioner-form" className="panel practitioners__form" onSubmit={submit} noValidate
      aria-labelledby="add-practitioner-title">
      <h2 id="add-practitioner-title">{t("add.title")}</h2>
      <div className="practitioners__grid">
        <Field id="pr-name" label={t("add.displayName")} error={errors.display_name?.message}>
          <input id="pr-name" type="text" autoComplete="off"
            aria-invalid={!!errors.display_name} aria-describedby={errors.display_name ? "pr-name-error" : undefined}
            {...register("display_name", {
              validate: (value) => value.trim().length > 0 || t("add.required"),
              maxLength: { value: 200, message: t("add.tooLong", { max: 200 }) },
            })} />
        </Field>
        <Field id="pr-specialty" label={t("add.specialty")} error={errors.specialty?.message}>
          <select id="pr-specialty" aria-invalid={!!errors.specialty}
            aria-describedby={errors.specialty ? "pr-specialty-error" : undefined}
            {...register("specialty", { required: t("add.required") })}>
            <option value="">{t("add.choose")}</option>
            {SPECIALTIES.map((value) => (
              <option key={value} value={value}>{t(`specialty.${value}`)}</option>
            ))}
          </select>
        </Field>
        <Field id="pr-others" label={t("add.otherSpecialties")} hint={t("add.multiHint")}>
          <select id="pr-others" multiple size={4} aria-describedby="pr-others-hint"
            {...register("other_specialties")}>
            {SPECIALTIES.map((value) => (
              <option key={value} value={value}>{t(`specialty.${value}`)}</option>
            ))}
          </select>
        </Field>
        <Field id="pr-languages" label={t("add.languages")} error={errors.languages?.message} hint={t("add.multiHint")}>
          <select id="pr-languages" multiple size={3} aria-invalid={!!errors.languages}
            aria-describedby={errors.languages ? "pr-languages-hint pr-languages-error" : "pr-languages-hint"}
            {...register("languages", {
              validate: (value) => (value?.length ?? 0) > 0 || t("add.pickLanguage"),
            })}>
            {CONSULT_LANGUAGES.map((value) => (
              <option key={value} value={value}>{t(`language.${value}`)}</option>
            ))}
          </select>
        </Field>
        <Field id="pr-practice" label={t("add.practice")} error={errors.practice_id?.message}>
          <select id="pr-practice" aria-invalid={!!errors.practice_id}
            aria-describedby={errors.practice_id ? "pr-practice-error" : undefined}
            disabled={!practices.data}
            {...register("practice_id", { required: t("add.required") })}>
            <option value="">{t("add.choose")}</option>
            {(practices.data ?? []).map((practice) => (
              <option key={practice.practice_id} value={practice.practice_id}>{practice.name}</option>
            ))}
          </select>
        </Field>
        <Field id="pr-email" label={t("add.email")} error={errors.email?.message} hint={t("add.emailHint")}>
          <input id="pr-email" type="email" autoComplete="off" aria-invalid={!!errors.email}
            aria-describedby={errors.email ? "pr-email-hint pr-email-error" : "pr-email-hint"}
            {...register("email", {
              pattern: { value: /^[^@\s]+@[^@\s]+$/, message: t("add.badEmail") },
            })} />
        </Field>
      </div>
      {practices.isError && <ErrorNotice error={practices.error} onRetry={() => practices.refetch()} />}
      {conflict && (
        <div className="notice notice--error" role="alert">
          <p>{t("add.conflict")}</p>
        </div>
      )}
      {serverFailed && <ErrorNotice error={add.error} />}
      {add.isPending && <Progress label={t("add.saving")} />}
      <button type="submit" className="button" data-testid="save-practitioner" disabled={add.isPending}>
        {t("add.save")}
      </button>
    </form>
  );
}

function Field({ id, label, error, hint, children }: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && <span id={`${id}-hint`} className="practitioners__hint">{hint}</span>}
      {children}
      {error && <span id={`${id}-error`} className="field__error">{error}</span>}
    </div>
  );
}
