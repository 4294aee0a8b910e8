/**
 * Typing works at every step: suggested answers as buttons and a text box (Enter sends). What
 * was typed stays in the box until the socket took it.
 */
import { type RefObject, useId, useState } from "react";
import { useTranslation } from "react-i18next";

import type { QuickReply } from "../protocol";

export function Composer({
  quickReplies,
  onSend,
  disabled,
  inputRef,
}: {
  quickReplies: QuickReply[];
  onSend: (text: string) => boolean;
  disabled: boolean;
  inputRef: RefObject<HTMLInputElement | null>;
}) {
  const { t } = useTranslation("conversation");
  const [text, setText] = useState("");
  const id = useId();

  return (
    <div className="composer">
      {quickReplies.length > 0 && (
        <div className="composer__replies" role="group" aria-label={t("composer.quickReplies")}>
          {quickReplies.map((reply) => (
            <button
              key={reply.text}
              type="button"
              className="button button--secondary"
              data-testid="quick-reply"
              disabled={disabled}
              onClick={() => {
                if (onSend(reply.text)) inputRef.current?.focus();
              }}
            >
              {reply.text}
            </button>
          ))}
        </div>
      )}
      <form
        className="composer__form"
        onSubmit={(event) => {
          event.preventDefault();
          const message = text.trim();
          if (message && onSend(message)) setText("");
        }}
      >
        <label htmlFor={`${id}-text`} className="visually-hidden">
          {t("composer.label")}
        </label>
        <input
          id={`${id}-text`}
          ref={inputRef}
          type="text"
          data-testid="text-input"
          autoComplete="off"
          placeholder={t("composer.placeholder")}
          value={text}
          maxLength={2000}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit" className="button" data-testid="send-button" disabled={disabled}>
          {t("composer.send")}
        </button>
      </form>
    </div>
  );
}
