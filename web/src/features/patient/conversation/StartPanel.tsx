/**
 * Before the conversation: talk or type (talking preselected when a microphone is there), the
 * opt-in to keeping voice recordings (never ticked for the patient), and Start.
 */
import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";

import type { Settings } from "./useConversationSocket";

function useHasMicrophone(): boolean {
  const [available, setAvailable] = useState(() => !!navigator.mediaDevices?.getUserMedia);
  useEffect(() => {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    let live = true;
    void navigator.mediaDevices
      .enumerateDevices()
      .then((devices) => {
        if (live) setAvailable(devices.some((device) => device.kind === "audioinput"));
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return available;
}

export function StartPanel({
  onStart,
  pending,
}: {
  onStart: (settings: Settings) => void;
  pending: boolean;
}) {
  const { t } = useTranslation("conversation");
  const hasMic = useHasMicrophone();
  const [choice, setChoice] = useState<Settings["channel"] | null>(null);
  const [consent, setConsent] = useState(false);
  const channel = choice ?? (hasMic ? "voice" : "text");
  const id = useId();

  return (
    <form
      className="panel conversation-start"
      aria-labelledby={`${id}-title`}
      onSubmit={(event) => {
        event.preventDefault();
        onStart({ channel, consent: channel === "voice" && consent });
      }}
    >
      <h2 id={`${id}-title`}>{t("start.title")}</h2>
      <p>{t("start.intro")}</p>
      <fieldset className="conversation-start__channel">
        <legend>{t("start.channel")}</legend>
        <label>
          <input
            type="radio"
            name={`${id}-channel`}
            value="voice"
            checked={channel === "voice"}
            onChange={() => setChoice("voice")}
          />
          {t("start.talk")}
        </label>
        <label>
          <input
            type="radio"
            name={`${id}-channel`}
            value="text"
            checked={channel === "text"}
            onChange={() => setChoice("text")}
          />
          {t("start.type")}
        </label>
      </fieldset>
      {!hasMic && <p className="notice notice--info">{t("start.noMicrophone")}</p>}
      {channel === "voice" && (
        <div className="conversation-start__consent">
          <input
            id={`${id}-consent`}
            type="checkbox"
            data-testid="audio-consent"
            checked={consent}
            onChange={(event) => setConsent(event.target.checked)}
            aria-describedby={`${id}-consent-more`}
          />
          <label htmlFor={`${id}-consent`}>{t("start.consent")}</label>
          <p id={`${id}-consent-more`} className="conversation-start__hint">
            {t("start.consentMore")}
          </p>
        </div>
      )}
      <button type="submit" className="button" data-testid="start-conversation" disabled={pending}>
        {t("start.button")}
      </button>
    </form>
  );
}
