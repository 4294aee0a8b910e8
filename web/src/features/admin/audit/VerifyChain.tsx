/**
 * "Verify the chain": asks the server to recompute the audit log's hash chain and says the
 * result in words: intact (how many records were checked) or broken (from which record, why).
 */
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { Progress } from "../../../components/Progress";
import { useVerifyChain } from "./api";

export function VerifyChain() {
  const { t, i18n } = useTranslation("admin");
  const verify = useVerifyChain();
  const result = verify.data;
  const when = result?.verify_time
    ? new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "medium" }).format(
        new Date(result.verify_time),
      )
    : null;
  return (
    <div className="panel">
      <button
        type="button"
        className="button"
        data-testid="verify-audit"
        disabled={verify.isPending}
        onClick={() => verify.mutate()}
      >
        {t("audit.verify.button")}
      </button>
      {verify.isPending && <Progress label={t("audit.verify.checking")} />}
      <div role="status">
        {result && !verify.isPending && (
          <div
            className={`notice ${result.intact ? "notice--ok" : "notice--error"}`}
            data-testid="audit-verify-result"
            data-intact={String(result.intact)}
          >
            <p>
              {result.intact
                ? `✓ ${t("audit.verify.intact", { count: result.checked_count })}`
                : `✗ ${t("audit.verify.broken", {
                    sequence: result.first_broken?.sequence ?? "?",
                    problem: result.first_broken?.problem ?? t("audit.verify.unknownProblem"),
                  })}`}
              {result.first_broken?.record_id &&
                ` ${t("audit.verify.record", { id: result.first_broken.record_id })}`}
              {when && ` ${t("audit.verify.at", { when })}`}
            </p>
          </div>
        )}
      </div>
      {verify.isError && <ErrorNotice error={verify.error} onRetry={() => verify.mutate()} />}
    </div>
  );
}
