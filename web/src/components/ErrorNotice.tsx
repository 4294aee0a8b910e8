/**
 * A refusal or failure said in plain words, with a retry button when retrying can help. The
 * server's problem+json `detail` is shown when it has one (it is written for people); network
 * failures and overload get the friendly messages of the common namespace.
 */
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";

import { ApiError, NetworkError } from "../api/http";

export function errorMessage(error: unknown, t: TFunction): string {
  if (error instanceof NetworkError) return t("errors.network");
  if (error instanceof ApiError) {
    if (error.busy) {
      return error.retryAfterSeconds
        ? t("errors.busyRetry", { seconds: error.retryAfterSeconds })
        : t("errors.busy");
    }
    if (error.status === 401) return t("errors.signInNeeded");
    if (error.status === 403) return error.problem.detail ?? t("errors.forbidden");
    return error.problem.detail ?? error.problem.title ?? t("errors.unknown");
  }
  return t("errors.unknown");
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="notice notice--error" role="alert">
      <p>{errorMessage(error, t)}</p>
      {onRetry && (
        <button type="button" className="button button--secondary" onClick={onRetry}>
          {t("errors.retry")}
        </button>
      )}
    </div>
  );
}
