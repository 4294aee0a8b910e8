/**
 * The conversation socket (`/ws/v1/conversation`): opens it, starts or resumes the session,
 * turns its frames into reducer actions, and reconnects after an unexpected close with backoff,
 * resuming with the stored session id (sessionStorage, so a reload resumes too). Audio frames
 * and the events that drive playback are handed to the caller.
 */
import { useCallback, useEffect, useReducer, useRef } from "react";

import { currentLanguage } from "../../../i18n";
import type { ClientFrame, ServerEvent } from "../protocol";
import { backoffMs } from "./backoff";
import { initialState, reducer } from "./state";

export interface Settings {
  channel: "voice" | "text";
  consent: boolean;
}

interface Stored extends Settings {
  sessionId: string;
}

const STORAGE_KEY = "voiceassist.conversation";

export function readStored(): Stored | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Stored | null;
    return value && typeof value.sessionId === "string" ? value : null;
  } catch {
    return null;
  }
}

function store(value: Stored | null): void {
  if (value) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(STORAGE_KEY);
}

function socketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/ws/v1/conversation`;
}

export interface SocketHandlers {
  onEvent: (event: ServerEvent) => void;
  onAudio: (bytes: ArrayBuffer) => void;
  /** The rate of the microphone audio, declared in session.start. */
  sampleRate: () => number | undefined;
}

export function useConversationSocket(handlers: SocketHandlers) {
  const [state, dispatch] = useReducer(reducer, initialState);
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  const socketRef = useRef<WebSocket | null>(null);
  const settingsRef = useRef<Settings | null>(null);
  const attemptRef = useRef(0);
  const timerRef = useRef<number | undefined>(undefined);

  const connect = useCallback(function open() {
    const settings = settingsRef.current;
    if (!settings) return;
    window.clearTimeout(timerRef.current);
    const socket = new WebSocket(socketUrl());
    socket.binaryType = "arraybuffer";
    socketRef.current = socket;
    let fatal = false;
    socket.onopen = () => {
      const start: ClientFrame = {
        type: "session.start",
        session_id: readStored()?.sessionId,
        language: currentLanguage(),
        channel: settings.channel,
        sample_rate: settings.channel === "voice" ? handlersRef.current.sampleRate() : undefined,
        ...(settings.consent ? { audio_retention_consent: true } : {}),
      };
      socket.send(JSON.stringify(start));
      dispatch({ type: "local.connection", connection: "open" });
    };
    socket.onmessage = (message: MessageEvent<string | ArrayBuffer>) => {
      if (typeof message.data !== "string") {
        handlersRef.current.onAudio(message.data);
        return;
      }
      let event: ServerEvent;
      try {
        event = JSON.parse(message.data) as ServerEvent;
      } catch {
        return;
      }
      if (event.type === "session.started") {
        attemptRef.current = 0;
        store({ ...settings, sessionId: event.session_id });
      } else if (event.type === "audio.retention") {
        settings.consent = event.consent;
        const stored = readStored();
        if (stored) store({ ...stored, consent: event.consent });
      } else if (event.type === "error" && event.fatal) {
        fatal = true;
        if (event.code === "voice.session_not_found") store(null);
      }
      dispatch(event);
      handlersRef.current.onEvent(event);
    };
    socket.onclose = (close) => {
      if (socketRef.current !== socket) return; // closed on purpose, or replaced
      socketRef.current = null;
      if (fatal) {
        dispatch({ type: "local.connection", connection: "closed" });
      } else if (close.code === 1000) {
        store(null); // the server ended the conversation normally
        dispatch({ type: "local.ended" });
      } else {
        dispatch({ type: "local.connection", connection: "reconnecting" });
        timerRef.current = window.setTimeout(open, backoffMs(attemptRef.current));
        attemptRef.current += 1;
      }
    };
  }, []);

  const disconnect = useCallback(() => {
    window.clearTimeout(timerRef.current);
    const socket = socketRef.current;
    socketRef.current = null;
    socket?.close(1000);
  }, []);

  useEffect(() => disconnect, [disconnect]);

  const start = useCallback(
    (settings: Settings) => {
      disconnect();
      settingsRef.current = { ...settings };
      attemptRef.current = 0;
      dispatch({ type: "local.connecting", consent: settings.consent });
      connect();
    },
    [connect, disconnect],
  );

  const send = useCallback((frame: ClientFrame): boolean => {
    const socket = socketRef.current;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }, []);

  const sendAudio = useCallback((frame: ArrayBuffer) => {
    const socket = socketRef.current;
    if (socket?.readyState === WebSocket.OPEN) socket.send(frame);
  }, []);

  const sendText = useCallback(
    (text: string): boolean => {
      if (!send({ type: "text", text })) return false;
      dispatch({ type: "local.sent", text });
      return true;
    },
    [send],
  );

  const selectSlot = useCallback(
    (slotId: string) => {
      if (send({ type: "slot.select", slot_id: slotId })) dispatch({ type: "local.slotSelected" });
    },
    [send],
  );

  const endOfTurn = useCallback(() => {
    if (send({ type: "action", action: "end_of_turn" })) dispatch({ type: "local.endOfTurn" });
  }, [send]);

  const end = useCallback(() => {
    send({ type: "action", action: "end_session" });
    store(null);
    disconnect();
    dispatch({ type: "local.ended" });
  }, [send, disconnect]);

  const reset = useCallback(() => {
    disconnect();
    store(null);
    dispatch({ type: "local.reset" });
  }, [disconnect]);

  const retry = useCallback(() => {
    if (!settingsRef.current) return;
    attemptRef.current = 0;
    dispatch({ type: "local.connecting", consent: settingsRef.current.consent });
    connect();
  }, [connect]);

  return { state, start, send, sendAudio, sendText, selectSlot, endOfTurn, end, reset, retry };
}
