/**
 * What the conversation screen shows, derived from the socket's events and the patient's own
 * actions by one pure reducer: the chat history (with the triage card, booking offer and
 * confirmation in their place), the live partial transcript, quick replies, the connection and
 * whether the patient is waiting for an answer.
 */
import type {
  AudioRetention,
  BookingConfirmed,
  BookingOffer,
  QuickReply,
  ServerError,
  ServerEvent,
  Stage,
  TriageResult,
} from "../protocol";

export type Connection = "connecting" | "open" | "reconnecting" | "closed";

export type LogItem =
  | { id: number; kind: "message"; from: "patient" | "assistant"; text: string }
  | { id: number; kind: "triage"; result: TriageResult }
  | { id: number; kind: "offer"; offer: BookingOffer }
  | { id: number; kind: "confirmed"; confirmed: BookingConfirmed };

export interface ConversationState {
  connection: Connection;
  /** Started once the patient pressed Start (or a stored conversation resumed). */
  started: boolean;
  /** The patient ended it (or the server ended it for good). */
  ended: boolean;
  sessionId: string | null;
  stage: Stage | null;
  log: LogItem[];
  nextId: number;
  partial: string;
  quickReplies: QuickReply[];
  /** The patient finished a turn and no answer has come yet. */
  awaitingReply: boolean;
  bookingPending: boolean;
  consent: boolean;
  retention: AudioRetention | null;
  /** The last error that did not end the conversation. */
  notice: ServerError | null;
  /** The error that closed the conversation. */
  fatal: ServerError | null;
}

export type Action =
  | ServerEvent
  | { type: "local.connecting"; consent: boolean }
  | { type: "local.connection"; connection: Connection }
  | { type: "local.sent"; text: string }
  | { type: "local.endOfTurn" }
  | { type: "local.slotSelected" }
  | { type: "local.ended" }
  | { type: "local.reset" };

export const initialState: ConversationState = {
  connection: "closed",
  started: false,
  ended: false,
  sessionId: null,
  stage: null,
  log: [],
  nextId: 1,
  partial: "",
  quickReplies: [],
  awaitingReply: false,
  bookingPending: false,
  consent: false,
  retention: null,
  notice: null,
  fatal: null,
};

type NewItem =
  | Omit<Extract<LogItem, { kind: "message" }>, "id">
  | Omit<Extract<LogItem, { kind: "triage" }>, "id">
  | Omit<Extract<LogItem, { kind: "offer" }>, "id">
  | Omit<Extract<LogItem, { kind: "confirmed" }>, "id">;

function append(state: ConversationState, item: NewItem): ConversationState {
  return { ...state, log: [...state.log, { ...item, id: state.nextId } as LogItem], nextId: state.nextId + 1 };
}

export function reducer(state: ConversationState, action: Action): ConversationState {
  switch (action.type) {
    case "local.connecting":
      return {
        ...state,
        started: true,
        ended: false,
        connection: "connecting",
        consent: action.consent,
        fatal: null,
      };
    case "local.connection":
      return {
        ...state,
        connection: action.connection,
        // A reply in flight is lost with the socket; the partial line is stale.
        partial: action.connection === "open" ? state.partial : "",
      };
    case "local.sent":
      return {
        ...append(state, { kind: "message", from: "patient", text: action.text }),
        awaitingReply: true,
        quickReplies: [],
        notice: null,
      };
    case "local.endOfTurn":
      return { ...state, awaitingReply: true };
    case "local.slotSelected":
      return { ...state, bookingPending: true, notice: null };
    case "local.reset":
      return initialState;
    case "local.ended":
      return { ...state, ended: true, connection: "closed", sessionId: null, awaitingReply: false };
    case "session.started":
      return {
        ...state,
        sessionId: action.session_id,
        stage: action.stage ?? state.stage,
        consent: action.audio_retention_consent,
        fatal: null,
      };
    case "transcript.partial":
      return { ...state, partial: action.text };
    case "transcript.final":
      if (!action.text.trim()) return { ...state, partial: "" };
      return {
        ...append(state, { kind: "message", from: "patient", text: action.text }),
        partial: "",
        awaitingReply: true,
        quickReplies: [],
        notice: null,
      };
    case "assistant.text":
      return {
        ...append(state, { kind: "message", from: "assistant", text: action.text }),
        stage: action.stage ?? state.stage,
        quickReplies: action.quick_replies,
        awaitingReply: false,
      };
    case "triage.result":
      return { ...append(state, { kind: "triage", result: action }), awaitingReply: false };
    case "booking.offer":
      return {
        ...append(state, { kind: "offer", offer: action }),
        awaitingReply: false,
        bookingPending: false,
      };
    case "booking.confirmed":
      return {
        ...append(state, { kind: "confirmed", confirmed: action }),
        awaitingReply: false,
        bookingPending: false,
      };
    case "audio.retention":
      return { ...state, consent: action.consent, retention: action };
    case "error":
      return action.fatal
        ? { ...state, fatal: action, awaitingReply: false, bookingPending: false, partial: "" }
        : { ...state, notice: action, awaitingReply: false, bookingPending: false };
    case "audio.start":
    case "audio.end":
    case "interrupt":
      return state;
  }
}
