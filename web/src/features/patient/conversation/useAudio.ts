/**
 * The audio side of the conversation: one AudioContext for the microphone and the replies,
 * the capture (sending frames only while the microphone is on), the playback queue and the
 * state the screen shows (speaking, level, milliseconds played, microphone problems).
 */
import { useCallback, useEffect, useRef, useState } from "react";

import type { ServerEvent } from "../protocol";
import { type Capture, type MicProblem, micProblem, startCapture } from "./capture";
import { Playback } from "./playback";

const LEVEL_EVERY_MS = 100;

export function useAudio(sendAudio: (frame: ArrayBuffer) => void) {
  const contextRef = useRef<AudioContext | null>(null);
  const playbackRef = useRef<Playback | null>(null);
  const captureRef = useRef<Capture | null>(null);
  const micOnRef = useRef(false);
  const sendRef = useRef(sendAudio);
  sendRef.current = sendAudio;
  const levelAtRef = useRef(0);
  const [speaking, setSpeaking] = useState(false);
  const [playedMs, setPlayedMs] = useState(0);
  const [level, setLevel] = useState(0);
  const [micOn, setMicOnState] = useState(false);
  const [capturing, setCapturing] = useState(false);
  const [problem, setProblem] = useState<MicProblem | null>(null);

  /** Create (or wake) the AudioContext; call it from a click so the browser lets it play. */
  const prepare = useCallback((): AudioContext | null => {
    if (typeof AudioContext === "undefined") return null;
    let context = contextRef.current;
    if (!context) {
      context = new AudioContext();
      contextRef.current = context;
      const playback = new Playback(context, () => {
        setSpeaking(playback.speaking);
        setPlayedMs(Math.round(playback.playedMs));
      });
      playbackRef.current = playback;
    }
    if (context.state === "suspended") void context.resume().catch(() => undefined);
    return context;
  }, []);

  const setMicOn = useCallback((on: boolean) => {
    micOnRef.current = on;
    setMicOnState(on);
  }, []);

  /** Open the microphone; false (and `problem` set) when the browser or the patient refuses. */
  const openMic = useCallback(async (): Promise<boolean> => {
    if (captureRef.current) return true;
    const context = prepare();
    try {
      if (!context) throw new DOMException("no Web Audio", "NotSupportedError");
      captureRef.current = await startCapture(
        context,
        (frame) => {
          if (micOnRef.current) sendRef.current(frame);
        },
        (value) => {
          const now = performance.now();
          if (value !== 0 && now - levelAtRef.current < LEVEL_EVERY_MS) return;
          levelAtRef.current = now;
          setLevel(Math.min(1, value * 4));
        },
      );
      setProblem(null);
      setCapturing(true);
      return true;
    } catch (error) {
      setProblem(micProblem(error));
      return false;
    }
  }, [prepare]);

  const closeMic = useCallback(() => {
    captureRef.current?.stop();
    captureRef.current = null;
    setCapturing(false);
    setMicOn(false);
  }, [setMicOn]);

  const stopAudio = useCallback(() => playbackRef.current?.flush(), []);

  const onServerEvent = useCallback((event: ServerEvent) => {
    const playback = playbackRef.current;
    if (!playback) return;
    if (event.type === "audio.start") playback.begin(event.sample_rate);
    else if (event.type === "audio.end") {
      if (event.interrupted) playback.flush();
      else playback.end();
    } else if (event.type === "interrupt") playback.flush();
  }, []);

  const onAudio = useCallback((bytes: ArrayBuffer) => playbackRef.current?.enqueue(bytes), []);

  useEffect(
    () => () => {
      captureRef.current?.stop();
      void contextRef.current?.close().catch(() => undefined);
    },
    [],
  );

  return {
    speaking,
    playedMs,
    level,
    micOn,
    capturing,
    problem,
    prepare,
    openMic,
    closeMic,
    setMicOn,
    stopAudio,
    onServerEvent,
    onAudio,
    sampleRate: () => contextRef.current?.sampleRate,
    /** Whether frames are being sent right now (not the rendered state, which may lag). */
    isMicOn: () => micOnRef.current,
  };
}

export type AudioControls = ReturnType<typeof useAudio>;
