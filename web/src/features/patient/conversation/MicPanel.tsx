/**
 * The microphone: hands-free (tap to open or pause; the server finds the turns) or
 * push-to-talk (hold the button or the Space bar; releasing ends the turn), a live level meter,
 * and what to do when the browser refuses the microphone.
 */
import { useEffect, useId, useRef } from "react";
import { useTranslation } from "react-i18next";

import type { MicProblem } from "./capture";

export type MicMode = "hands-free" | "push-to-talk";

/** Space belongs to the focused control (typing, ticking, pressing another button). */
function spaceIsTaken(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || ["TEXTAREA", "SELECT", "A"].includes(target.tagName)) return true;
  if (target instanceof HTMLInputElement) return target.type !== "radio";
  return target.tagName === "BUTTON" && !target.dataset.mic;
}

export function MicPanel({
  mode,
  onMode,
  micOn,
  capturing,
  level,
  problem,
  onToggle,
  onHold,
  onRelease,
}: {
  mode: MicMode;
  onMode: (mode: MicMode) => void;
  micOn: boolean;
  capturing: boolean;
  level: number;
  problem: MicProblem | null;
  onToggle: () => void;
  onHold: () => void;
  onRelease: () => void;
}) {
  const { t } = useTranslation("conversation");
  const id = useId();
  const holdingRef = useRef(false);
  const hold = () => {
    if (holdingRef.current) return;
    holdingRef.current = true;
    onHold();
  };
  const release = () => {
    if (!holdingRef.current) return;
    holdingRef.current = false;
    onRelease();
  };
  const releaseRef = useRef(release);
  releaseRef.current = release;
  const holdRef = useRef(hold);
  holdRef.current = hold;

  useEffect(() => {
    if (mode !== "push-to-talk") return;
    const down = (event: KeyboardEvent) => {
      if (event.code !== "Space" || spaceIsTaken(event.target)) return;
      event.preventDefault();
      if (!event.repeat) holdRef.current();
    };
    const up = (event: KeyboardEvent) => {
      if (event.code !== "Space" || !holdingRef.current) return;
      event.preventDefault();
      releaseRef.current();
    };
    // Letting go anywhere (another window, another tab) ends the turn too.
    const away = () => releaseRef.current();
    document.addEventListener("keydown", down);
    document.addEventListener("keyup", up);
    window.addEventListener("blur", away);
    return () => {
      document.removeEventListener("keydown", down);
      document.removeEventListener("keyup", up);
      window.removeEventListener("blur", away);
    };
  }, [mode]);

  const pushToTalk = mode === "push-to-talk";
  return (
    <section className="panel mic" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="visually-hidden">
        {t("mic.title")}
      </h2>
      <fieldset className="mic__modes">
        <legend>{t("mic.mode")}</legend>
        <label>
          <input
            type="radio"
            name={`${id}-mode`}
            data-testid="mode-hands-free"
            checked={!pushToTalk}
            onChange={() => onMode("hands-free")}
          />
          {t("mic.handsFree")}
        </label>
        <label>
          <input
            type="radio"
            name={`${id}-mode`}
            data-testid="mode-push-to-talk"
            checked={pushToTalk}
            onChange={() => onMode("push-to-talk")}
          />
          {t("mic.pushToTalk")}
        </label>
      </fieldset>
      <div className="mic__control">
        <button
          type="button"
          className={`mic__button${micOn ? " mic__button--on" : ""}`}
          data-testid="mic-button"
          data-mic="true"
          aria-pressed={micOn}
          aria-describedby={`${id}-state`}
          onClick={pushToTalk ? undefined : onToggle}
          onPointerDown={
            pushToTalk
              ? (event) => {
                  event.currentTarget.setPointerCapture?.(event.pointerId);
                  hold();
                }
              : undefined
          }
          onPointerUp={pushToTalk ? release : undefined}
          onPointerCancel={pushToTalk ? release : undefined}
          onContextMenu={(event) => pushToTalk && event.preventDefault()}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false" className="mic__icon">
            <path d="M12 15a3 3 0 0 0 3-3V6a3 3 0 1 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-2.08A7 7 0 0 0 19 12h-2Z" />
          </svg>
          <span>{t("mic.button")}</span>
        </button>
        <p id={`${id}-state`} className="mic__state">
          {micOn
            ? t("mic.listening")
            : pushToTalk
              ? t("mic.holdHint")
              : t("mic.paused")}
        </p>
        {capturing && (
          <div className="mic__level">
            <label htmlFor={`${id}-level`}>{t("mic.level")}</label>
            <meter
              id={`${id}-level`}
              data-testid="level-meter"
              min={0}
              max={1}
              value={micOn ? level : 0}
            />
          </div>
        )}
      </div>
      {problem && (
        <div className="notice notice--warning" role="alert">
          <p>{t(`mic.problem.${problem}`)}</p>
        </div>
      )}
    </section>
  );
}
