/**
 * "Add to calendar (.ics)": the file is fetched with the session (so a refusal can be shown in
 * plain words) and handed to the browser as a Blob download. The link's own href is the API
 * address, so the download still works if the script path fails to run.
 */
import { useState } from "react";
import type { MouseEvent } from "react";
import { useTranslation } from "react-i18next";

import { ErrorNotice } from "../../../components/ErrorNotice";
import { currentLanguage } from "../../../i18n";
import { fetchIcs, icsUrl } from "./api";

export function IcsDownload({ appointmentId }: { appointmentId: string }) {
  const { t, i18n } = useTranslation("patient");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const language = currentLanguage(i18n.language);

  async function download(event: MouseEvent<HTMLAnchorElement>) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const url = URL.createObjectURL(await fetchIcs(appointmentId, language));
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = "appointment.ics";
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <a
        className="button button--secondary"
        data-testid="ics-download"
        href={icsUrl(appointmentId, language)}
        download="appointment.ics"
        aria-busy={busy}
        onClick={(event) => void download(event)}
      >
        {t("ics.download")}
      </a>
      {error !== null && <ErrorNotice error={error} />}
    </>
  );
}
