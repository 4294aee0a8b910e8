/**
 * The patient's conversation with the assistant, by voice or by text (route /talk): the start
 * panel, then the chat, the microphone, the reply audio and the connection, wired together.
 * The protocol is docs/voice-protocol.md; the parts live in ./conversation/.
 */
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { useSession, useStartGuest } from "../../api/session";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Progress } from "../../components/Progress";
import { currentLanguage } from "../../i18n";
import { ChatLog } from "./conversation/ChatLog";
import { Composer } from "./conversation/Composer";
import { type MicMode, MicPanel } from "./conversation/MicPanel";
import { StartPanel } from "./conversation/StartPanel";
import { useAudio } from "./conversation/useAudio";
import {
  type Settings,
  readStored,
  useConversationSocket,
} from "./conversation/useConversationSocket";
import "./conversation/conversation.css";

/** Fatal errors after which the same conversation cannot be picked up again. */
const CANNOT_RESUME = new Set(["voice.session_not_found", "voice.forbidden", "voice.unauthenticated"]);

export default function ConversationPage() {
  const { t } = useTranslation("conversation");
  const session = useSession();
  const startGuest = useStartGuest();
  const [channel, setChannel] = useState<Settings["channel"]>("voice");
  const [mode, setMode] = useState<MicMode>("hands-free");
  const [startError, setStartError] = useState<unknown>(null);
  const inputRef = useRef<HTMLInputElement>(null);

  const conversation = useConversationSocket({
    onEvent: (event) => audio.onServerEvent(event),
    onAudio: (bytes) => audio.onAudio(bytes),
    sampleRate: () => audio.sampleRate(),
  });
  const audio = useAudio(conversation.sendAudio);
  const { state } = conversation;

  async function begin(settings: Settings, { viaClick }: { viaClick: boolean }) {
    setChannel(settings.channel);
    setStartError(null);
    if (settings.channel === "voice") {
      audio.prepare();
      if (await audio.openMic()) audio.setMicOn(mode === "hands-free");
    }
    if (viaClick && !session.data) {
      try {
        await startGuest.mutateAsync(currentLanguage());
      } catch (error) {
        setStartError(error);
        audio.closeMic();
        return;
      }
    }
    conversation.start(settings);
  }

  // A stored conversation (reload, back from another page) resumes by itself, as long as the
  // session that owns it is still signed in.
  const resumedRef = useRef(false);
  const sessionKnown = session.isSuccess;
  const signedIn = !!session.data;
  useEffect(() => {
    if (resumedRef.current || !sessionKnown) return;
    resumedRef.current = true;
    const stored = readStored();
    if (stored && signedIn) {
      void begin({ channel: stored.channel, consent: stored.consent }, { viaClick: false });
    } else if (stored) {
      conversation.reset();
    }
    // Only once, when the session is known; `begin` and `conversation` change every render.
  }, [sessionKnown, signedIn]);

  // A lost socket cuts the reply short: no audio.end will come for it.
  const { stopAudio: flushAudio } = audio;
  useEffect(() => {
    if (state.connection !== "open") flushAudio();
  }, [state.connection, flushAudio]);

  function changeMode(next: MicMode) {
    setMode(next);
    audio.setMicOn(next === "hands-free" && audio.capturing);
  }

  async function toggleMic() {
    if (audio.micOn) audio.setMicOn(false);
    else if (await audio.openMic()) audio.setMicOn(true);
  }

  function endConversation() {
    conversation.end();
    audio.stopAudio();
    audio.closeMic();
  }

  function stopAudio() {
    conversation.send({ type: "action", action: "stop_audio" });
    audio.stopAudio();
  }

  const live = state.connection === "open";
  const fatal = state.fatal;
  return (
    <section
      className="conversation"
      aria-labelledby="conversation-title"
      data-testid="conversation"
      data-connection={state.connection}
      data-stage={state.stage ?? ""}
      data-audio-played-ms={audio.playedMs}
    >
      <h1 id="conversation-title">{t("title")}</h1>
      {!state.started ? (
        <>
          {startError !== null && <ErrorNotice error={startError} />}
          <StartPanel
            pending={session.isPending || startGuest.isPending}
            onStart={(settings) => void begin(settings, { viaClick: true })}
          />
        </>
      ) : (
        <>
          <div className="conversation__bar">
            <p
              className={`conversation__status conversation__status--${state.connection}`}
              role="status"
              data-testid="connection-status"
            >
              {t(`connection.${state.connection}`)}
            </p>
            <div className="conversation__actions">
              {state.consent && live && (
                <button
                  type="button"
                  className="button button--quiet"
                  data-testid="withdraw-consent"
                  onClick={() =>
                    conversation.send({ type: "action", action: "withdraw_audio_consent" })
                  }
                >
                  {t("actions.withdraw")}
                </button>
              )}
              {!state.ended && (
                <button
                  type="button"
                  className="button button--secondary"
                  data-testid="end-conversation"
                  onClick={endConversation}
                >
                  {t("actions.end")}
                </button>
              )}
            </div>
          </div>

          {state.retention && (
            <p className="notice notice--ok" role="status">
              {t("retention.withdrawn", { count: state.retention.recordings_deleted })}
            </p>
          )}

          {fatal && (
            <div className="notice notice--error" role="alert">
              <p>{fatal.code === "voice.service_busy" ? t("errors.busy") : fatal.message}</p>
              {CANNOT_RESUME.has(fatal.code) ? (
                <button type="button" className="button button--secondary" onClick={conversation.reset}>
                  {t("actions.new")}
                </button>
              ) : (
                <button type="button" className="button button--secondary" onClick={conversation.retry}>
                  {t("actions.retry")}
                </button>
              )}
            </div>
          )}

          <ChatLog
            log={state.log}
            bookingPending={state.bookingPending}
            onSelectSlot={conversation.selectSlot}
          />
          {state.partial && (
            <p
              className="conversation__partial"
              data-testid="partial-transcript"
              data-sender={t("chat.partial")}
            >
              {state.partial}
            </p>
          )}
          {state.awaitingReply && !audio.speaking && (
            <div data-testid="thinking">
              <Progress label={t("thinking")} delayMs={1000} />
            </div>
          )}
          {state.bookingPending && <Progress label={t("booking")} />}
          {state.notice && (
            <div className="notice notice--warning" role="alert">
              <p>{state.notice.message}</p>
            </div>
          )}
          {audio.speaking && (
            <div className="notice notice--info conversation__speaking" data-testid="speaking-indicator">
              <p role="status">{t("speaking")}</p>
              <button type="button" className="button button--secondary" data-testid="stop-audio" onClick={stopAudio}>
                {t("actions.stop")}
              </button>
            </div>
          )}

          {state.ended ? (
            <div className="panel conversation__ended">
              <p role="status">{t("ended")}</p>
              <button type="button" className="button" onClick={conversation.reset}>
                {t("actions.new")}
              </button>
            </div>
          ) : (
            <>
              {channel === "voice" && (
                <MicPanel
                  mode={mode}
                  onMode={changeMode}
                  micOn={audio.micOn}
                  capturing={audio.capturing}
                  level={audio.level}
                  problem={audio.problem}
                  onToggle={() => void toggleMic()}
                  onHold={() => {
                    void audio.openMic().then((ok) => ok && audio.setMicOn(true));
                  }}
                  onRelease={() => {
                    if (!audio.isMicOn()) return;
                    audio.setMicOn(false);
                    conversation.endOfTurn();
                  }}
                />
              )}
              <Composer
                quickReplies={state.quickReplies}
                onSend={conversation.sendText}
                disabled={!live}
                inputRef={inputRef}
              />
            </>
          )}
        </>
      )}
    </section>
  );
}
