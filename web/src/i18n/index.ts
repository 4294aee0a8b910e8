/**
 * English and French, chosen from the browser's languages on the first visit and switchable
 * (the choice is remembered in localStorage). Each area of the app has its own namespace file
 * under locales/<language>/, so screens can be translated and reviewed separately.
 */
import i18n from "i18next";
import LanguageDetector from "i18next-browser-languagedetector";
import { initReactI18next } from "react-i18next";

import adminEn from "../locales/en/admin.json";
import adminFr from "../locales/fr/admin.json";
import analyticsEn from "../locales/en/analytics.json";
import analyticsFr from "../locales/fr/analytics.json";
import clinicianEn from "../locales/en/clinician.json";
import clinicianFr from "../locales/fr/clinician.json";
import commonEn from "../locales/en/common.json";
import commonFr from "../locales/fr/common.json";
import conversationEn from "../locales/en/conversation.json";
import conversationFr from "../locales/fr/conversation.json";
import patientEn from "../locales/en/patient.json";
import patientFr from "../locales/fr/patient.json";
import practitionersEn from "../locales/en/practitioners.json";
import practitionersFr from "../locales/fr/practitioners.json";

export const LANGUAGES = ["en", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

export const resources = {
  en: {
    common: commonEn,
    patient: patientEn,
    conversation: conversationEn,
    clinician: clinicianEn,
    admin: adminEn,
    practitioners: practitionersEn,
    analytics: analyticsEn,
  },
  fr: {
    common: commonFr,
    patient: patientFr,
    conversation: conversationFr,
    clinician: clinicianFr,
    admin: adminFr,
    practitioners: practitionersFr,
    analytics: analyticsFr,
  },
} as const;

void i18n
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    resources,
    fallbackLng: "en",
    supportedLngs: LANGUAGES,
    nonExplicitSupportedLngs: true,
    load: "languageOnly",
    defaultNS: "common",
    ns: ["common", "patient", "conversation", "clinician", "admin", "practitioners", "analytics"],
    interpolation: { escapeValue: false },
    detection: {
      order: ["localStorage", "navigator"],
      lookupLocalStorage: "voiceassist.language",
      caches: ["localStorage"],
    },
  });

function reflect(language: string): void {
  document.documentElement.lang = currentLanguage(language);
}
reflect(i18n.language ?? "en");
i18n.on("languageChanged", reflect);

/** The interface language as the server knows it (`en` or `fr`). */
export function currentLanguage(language: string = i18n.language ?? "en"): Language {
  return language.toLowerCase().startsWith("fr") ? "fr" : "en";
}

export default i18n;
