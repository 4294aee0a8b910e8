/**
 * The progress indicator shown for anything that may take longer than a second. It appears
 * after a short delay so that fast answers do not flash a spinner, and it is announced to
 * screen readers through role="status".
 */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

export function Progress({ label, delayMs = 300 }: { label?: string; delayMs?: number }) {
  const { t } = useTranslation();
  const [visible, setVisible] = useState(delayMs === 0);
  useEffect(() => {
    if (delayMs === 0) return;
    const timer = window.setTimeout(() => setVisible(true), delayMs);
    return () => window.clearTimeout(timer);
  }, [delayMs]);
  return (
    <div className="progress" role="status" aria-live="polite">
      {visible && (
        <>
          <span className="progress__spinner" aria-hidden="true" />
          <span>{label ?? t("status.loading")}</span>
        </>
      )}
    </div>
  );
}
