/**
 * Shapes of the scheduling API (/api/v1/scheduling) that several areas read: the patient
 * screens, the clinician's list and the admin's practitioners. One definition, so a change of
 * the API is one change here.
 */
import type { UrgencyLevel } from "../features/patient/protocol";

export type { UrgencyLevel };

export type AppointmentStatus = "booked" | "cancelled" | "fulfilled" | "no_show";

export interface Practice {
  practice_id: string;
  name: string;
  address: string;
  city: string;
  timezone: string;
}

/** An appointment as GET /appointments lists it (the fields every reader uses). */
export interface Appointment {
  appointment_id: string;
  practitioner_id: string;
  start_time: string | null;
  end_time: string | null;
  timezone: string;
  status: AppointmentStatus;
  reason: string;
  urgency: UrgencyLevel | null;
  cancellation_reason: string;
  triage_assessment_id: string | null;
  patient_subject: string;
}
