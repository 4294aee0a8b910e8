/**
 * The conversation socket's frames (`/ws/v1/conversation`, docs/voice-protocol.md), typed.
 * The server's JSON mirrors voiceassist.voice_proxy.v1 in snake_case; these types are the
 * client's single reading of it, shared by the socket hook and the screens that show events.
 */

export type UrgencyLevel =
  | "emergency_ambulance"
  | "emergency"
  | "consultation_24"
  | "consultation"
  | "self_care";

export type Stage = "consent" | "chief_complaint" | "interview" | "advice" | "booking" | "done";

export const EMERGENCY_LEVELS: readonly UrgencyLevel[] = ["emergency_ambulance", "emergency"];

export interface SessionStarted {
  type: "session.started";
  session_id: string;
  resumed: boolean;
  stage: Stage | null;
  language: "en" | "fr" | null;
  audio_retention_consent: boolean;
}

export interface TranscriptEvent {
  type: "transcript.partial" | "transcript.final";
  text: string;
  turn: number;
}

export interface QuickReply {
  text: string;
}

export interface AssistantText {
  type: "assistant.text";
  text: string;
  stage: Stage | null;
  interruptible: boolean;
  quick_replies: QuickReply[];
  utterance_id: string;
}

export interface Condition {
  name: string;
  probability: number;
}

export interface TriageResult {
  type: "triage.result";
  level: UrgencyLevel;
  instruction: string;
  reasons: string[];
  conditions: Condition[];
  disclaimer: string;
  assessment_id: string;
  emergency_number: string | null;
  bookable: boolean;
}

export interface Slot {
  slot_id: string;
  start_time: string;
  duration_seconds: number;
  spoken_time: string;
}

export interface OfferedPractitioner {
  practitioner_id: string;
  display_name: string;
  practice: string;
  timezone: string;
  slots: Slot[];
}

export interface BookingOffer {
  type: "booking.offer";
  practitioners: OfferedPractitioner[];
  advice: string | null;
}

export interface BookingConfirmed {
  type: "booking.confirmed";
  appointment_id: string;
  practitioner_name: string;
  practice: string;
  start_time: string;
  spoken_time: string;
}

export interface AudioStart {
  type: "audio.start";
  utterance_id: string;
  sample_rate: number;
}

export interface AudioEnd {
  type: "audio.end";
  utterance_id: string;
  interrupted: boolean;
}

export interface Interrupt {
  type: "interrupt";
  utterance_id: string;
  reason: "barge_in" | "stop" | string;
}

export interface AudioRetention {
  type: "audio.retention";
  consent: boolean;
  recordings_deleted: number;
}

export interface ServerError {
  type: "error";
  code: string;
  message: string;
  fatal: boolean;
}

export type ServerEvent =
  | SessionStarted
  | TranscriptEvent
  | AssistantText
  | TriageResult
  | BookingOffer
  | BookingConfirmed
  | AudioStart
  | AudioEnd
  | Interrupt
  | AudioRetention
  | ServerError;

export interface SessionStart {
  type: "session.start";
  session_id?: string;
  language?: "en" | "fr";
  channel?: "voice" | "text";
  sample_rate?: number;
  output_sample_rate?: number;
  audio_retention_consent?: boolean;
}

export type ClientFrame =
  | SessionStart
  | { type: "text"; text: string }
  | {
      type: "action";
      action: "end_of_turn" | "stop_audio" | "end_session" | "withdraw_audio_consent";
    }
  | { type: "slot.select"; slot_id: string };
